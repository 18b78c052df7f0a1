// The image's build stage, run here without Docker: the build context (as .dockerignore makes it)
// is copied to a temp directory, the `deps` stage's commands run there exactly as the Dockerfile
// writes them, and the app starts from that tree on Node 24. A runtime import of a devDependency
// would fail here, as it would in the image. Then it runs as the container does: `start` with the
// embedded defaults, healthy on /health/live, and a clean exit on SIGTERM (what ECS and Kubernetes
// send on stop).
import t from 'tap'
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { readFileSync } from 'node:fs'
import { copyBuildContext, dockerfilePath, parseDockerfile, repoRoot } from './dockerfile.ts'

const run = promisify(execFile)
const cliEntry = join(repoRoot, 'cli', 'rewards.ts')
// Node 24 stands in for the image's base-image Node (the machine's own may be older).
const node24 = join(repoRoot, 'node_modules', '.bin', 'node')

t.test('the production dependency tree starts the app', {
  skip: existsSync(cliEntry) ? false : 'cli/rewards.ts does not exist yet: nothing to start',
  timeout: 300_000
}, async t => {
  const work = mkdtempSync(join(tmpdir(), 'rewards-image-'))
  t.teardown(() => rmSync(work, { recursive: true, force: true }))
  const copied = copyBuildContext(work)
  t.ok(copied.includes('package-lock.json') && copied.includes('cli/rewards.ts'), 'context has the lockfile and the entry point')

  const deps = parseDockerfile(readFileSync(dockerfilePath, 'utf8')).stages.find(s => s.name === 'deps')
  const workdirAt = deps?.instructions.findIndex(i => i.keyword === 'WORKDIR' && i.args === '/app') ?? -1
  t.ok(workdirAt >= 0, 'deps stage works in /app')
  // The RUN steps after WORKDIR /app (the earlier one installs a compiler with apt, root-only).
  const steps = deps?.instructions.slice(workdirAt + 1).filter(i => i.keyword === 'RUN').map(i => i.args) ?? []
  t.ok(steps.some(s => s.includes('npm ci --omit=dev')), 'the npm ci step is among them')
  // A private npm cache, so `npm cache clean --force` in the step cannot touch the user's; seeded
  // from the user's cache (content hard-linked: cacache never rewrites content files; the index is
  // copied, since npm appends to it) so the install runs offline when the lockfile's packages are
  // there, as a Docker build with a warm cache would.
  const cache = join(work, '.npm-cache')
  await seedNpmCache(cache)
  const installStarted = Date.now()
  for (const step of steps) {
    await run('bash', ['-euo', 'pipefail', '-c', step], {
      cwd: work,
      env: { ...buildEnvironment(), npm_config_cache: cache, npm_config_prefer_offline: 'true', CI: 'true' },
      maxBuffer: 64 * 1024 * 1024
    })
  }
  t.comment(`build stage: ${Math.round((Date.now() - installStarted) / 1000)} s`)
  t.notOk(existsSync(join(work, 'node_modules', 'typescript')), 'no devDependency installed')
  t.notOk(existsSync(join(work, 'node_modules', 'tap')), 'no test runner installed')
  // The install applied patches/ (docs/decisions/0008): the client's 64-bit zigzag shifts by 63.
  t.match(readFileSync(join(work, 'node_modules', '@platformatic', 'dynamic-buffer', 'dist', 'varint.js'), 'utf8'), /value >> 63n/, 'the Kafka client varint patch is applied')

  // Only what the image sets: none of the REWARDS_* that `npm test` exports for the local services.
  const env = { PATH: process.env.PATH ?? '', NODE_ENV: 'production', REWARDS_DATA_DIR: join(work, 'data'), REWARDS_HTTP_HOST: '127.0.0.1', REWARDS_HTTP_PORT: String(await freePort()) }
  const { stdout } = await run(node24, [join(work, 'cli', 'rewards.ts'), '--help'], { cwd: work, env })
  t.match(stdout, /start/, '`rewards --help` lists the start command')

  const app = spawn(node24, [join(work, 'cli', 'rewards.ts'), 'start', '--role', 'all'], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  app.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  app.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = once(app, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  t.teardown(() => { if (app.exitCode === null && app.signalCode === null) app.kill('SIGKILL') })
  const startedAt = Date.now()
  let live = false
  for (const deadline = Date.now() + 90_000; Date.now() < deadline && app.exitCode === null && !live;) {
    live = await fetch(`http://127.0.0.1:${env.REWARDS_HTTP_PORT}/health/live`).then(r => r.ok, () => false)
    if (!live) await new Promise(resolve => setTimeout(resolve, 500))
  }
  t.ok(live, 'GET /health/live answers 200', { output: output.slice(-3000) })
  t.comment(`live after ${Math.round((Date.now() - startedAt) / 1000)} s`)
  const stoppingAt = Date.now()
  app.kill('SIGTERM')
  const timer = setTimeout(() => app.kill('SIGKILL'), 60_000)
  const [code, signal] = await exited
  clearTimeout(timer)
  t.comment(`stopped ${Math.round((Date.now() - stoppingAt) / 1000)} s after SIGTERM`)
  t.same({ code, signal }, { code: 0, signal: null }, 'SIGTERM: graceful shutdown, exit 0', { output: output.slice(-3000) })
})

/** This process's environment without the npm_* settings an outer `npm test`/`npx` exports (its
 *  local_prefix points at the repository): a Docker build step starts from a clean environment. */
function buildEnvironment (): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)))
}

async function seedNpmCache (cache: string): Promise<void> {
  try {
    const { stdout } = await run('npm', ['config', 'get', 'cache'])
    const source = join(stdout.trim(), '_cacache')
    if (!existsSync(join(source, 'content-v2')) || !existsSync(join(source, 'index-v5'))) return
    mkdirSync(join(cache, '_cacache'), { recursive: true })
    await run('cp', ['-al', join(source, 'content-v2'), join(cache, '_cacache', 'content-v2')])
    await run('cp', ['-r', join(source, 'index-v5'), join(cache, '_cacache', 'index-v5')])
  } catch {
    // Another filesystem or no cache yet: the install fetches from the registry instead.
  }
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}
