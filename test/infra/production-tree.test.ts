// The image's build stage, run here without Docker: the build context (as .dockerignore makes it)
// is copied to a temp directory, the `deps` stage's commands run there exactly as the Dockerfile
// writes them, and the app starts from that tree on Node 24. A runtime import of a devDependency
// would fail here, as it would in the image.
import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { copyBuildContext, dockerfilePath, parseDockerfile, repoRoot } from './dockerfile.ts'
import { readFileSync } from 'node:fs'

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
  for (const step of steps) {
    await run('bash', ['-euo', 'pipefail', '-c', step], {
      cwd: work,
      // A private npm cache, so `npm cache clean --force` in the step cannot touch the user's.
      env: { ...process.env, npm_config_cache: join(work, '.npm-cache'), npm_config_prefer_offline: 'true', CI: 'true' },
      maxBuffer: 64 * 1024 * 1024
    })
  }
  t.notOk(existsSync(join(work, 'node_modules', 'typescript')), 'no devDependency installed')
  t.notOk(existsSync(join(work, 'node_modules', 'tap')), 'no test runner installed')

  const { stdout } = await run(node24, [join(work, 'cli', 'rewards.ts'), '--help'], { cwd: work, env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' } })
  t.match(stdout, /start/, '`rewards --help` lists the start command')
})
