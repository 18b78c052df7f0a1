// The container image, checked without a Docker engine: the Dockerfile parses and lints clean
// (dockerfile-utils, the linter of the VS Code Docker extension), follows the image policy of
// infra/container/Dockerfile (pinned Node 24 base = the version package.json pins, multi-stage,
// production dependencies only, non-root, health check on /health/live, tini for signals), the
// .dockerignore keeps tests and secrets out, and the health-check script answers truthfully.
import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { validate } from 'dockerfile-utils'
import { dockerfilePath, isIgnored, parseDockerfile, readDockerignore, repoRoot } from './dockerfile.ts'
import { notificationsDir } from '../../infra/aws/lib/notifications.ts'

const text = readFileSync(dockerfilePath, 'utf8')
const { globalArgs, stages } = parseDockerfile(text)
const runtime = stages.at(-1)
const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }

t.test('the Dockerfile lints clean', async t => {
  const diagnostics = validate(text, { deprecatedMaintainer: 2, emptyContinuationLine: 2, instructionCasing: 2, instructionCmdMultiple: 2, instructionEntrypointMultiple: 2, instructionHealthcheckMultiple: 2, instructionJSONInSingleQuotes: 2, instructionWorkdirRelative: 2 })
  t.same(diagnostics.map(d => `line ${d.range.start.line + 1}: ${d.message}`), [])
})

t.test('multi-stage on a Node 24 slim base pinned to the version package.json pins', async t => {
  t.same(stages.map(s => s.name), ['deps', 'runtime'])
  const imageArg = globalArgs.find(a => a.keyword === 'ARG' && a.args.startsWith('NODE_IMAGE='))
  const image = imageArg?.args.slice('NODE_IMAGE='.length) ?? ''
  t.match(image, /^node:\d+\.\d+\.\d+-[a-z]+-slim(@sha256:[0-9a-f]{64})?$/, 'exact tag (and optionally a digest), never a floating one')
  t.equal(image.split(':')[1]?.split('-')[0], packageJson.dependencies.node, 'same Node as the project pins')
  for (const stage of stages) t.equal(stage.from, '${NODE_IMAGE}', `${stage.name} builds on the pinned base`)
})

t.test('the image gets production dependencies only, from the lockfile', async t => {
  const deps = stages[0]
  const runs = deps?.instructions.filter(i => i.keyword === 'RUN').map(i => i.args).join('\n') ?? ''
  t.match(runs, /npm ci --omit=dev/)
  t.notMatch(text, /npm install/, 'npm ci only, never a lockfile-free install')
  // The postinstall script applies patches/ (docs/decisions/0008): they must be there before npm ci.
  const depsSteps = deps?.instructions.map(i => `${i.keyword} ${i.args}`) ?? []
  const patchesCopied = depsSteps.findIndex(step => step === 'COPY patches ./patches')
  t.ok(patchesCopied >= 0 && patchesCopied < depsSteps.findIndex(step => step.startsWith('RUN npm ci')), 'patches/ is copied before npm ci')
  const copies = runtime?.instructions.filter(i => i.keyword === 'COPY').map(i => i.args)
  t.same(copies, ['--from=deps /app/node_modules ./node_modules', '. .'])
  t.notOk(runtime?.instructions.some(i => i.keyword === 'RUN' && /npm|g\+\+|make/.test(i.args)), 'no build tools or installs in the runtime stage')
})

t.test('runtime stage: non-root, writable state only on a volume, health check, signals', async t => {
  const get = (keyword: string) => runtime?.instructions.filter(i => i.keyword === keyword).map(i => i.args) ?? []
  t.same(get('USER'), ['1000:1000'], 'numeric non-root user, so runAsNonRoot can be verified')
  // The state dir, and the notifications file's dir that ECS fills at task start (uid 1000 must own
  // it in the image: Fargate creates the task volume with the image's owner).
  // /tmp likewise: ECS mounts a task volume there, which keeps the image's 1777 mode only if declared.
  t.same(get('VOLUME'), [`["/var/lib/rewards", "${notificationsDir}", "/tmp"]`])
  t.match(get('RUN').join(' '), new RegExp(`chown 1000:1000 /var/lib/rewards ${notificationsDir}`), 'both owned by the app user')
  t.match(get('ENV').join(' '), /REWARDS_DATA_DIR=\/var\/lib\/rewards/)
  t.match(get('ENV').join(' '), /REWARDS_HTTP_HOST=0\.0\.0\.0/, 'listens beyond loopback inside the container')
  t.same(get('EXPOSE'), ['8080'])
  t.same(get('STOPSIGNAL'), ['SIGTERM'])
  t.match(get('HEALTHCHECK')[0] ?? '', /CMD \["node", "\/app\/infra\/container\/healthcheck\.mjs"\]/)
  t.same(get('ENTRYPOINT'), ['["/usr/bin/tini", "--", "node", "/app/cli/rewards.ts"]'], 'tini forwards SIGTERM to Node and reaps children')
  t.same(get('CMD'), ['["start", "--role", "all"]'], 'one image; the role is an argument')
  t.same(get('ADD'), [], 'COPY only, no ADD')
  const userIndex = runtime?.instructions.findIndex(i => i.keyword === 'USER') ?? -1
  const lastRun = runtime?.instructions.findLastIndex(i => i.keyword === 'RUN') ?? -1
  t.ok(userIndex > lastRun, 'nothing runs as root after USER')
})

t.test('.dockerignore keeps the context to the runtime source', async t => {
  const patterns = readDockerignore()
  for (const path of ['node_modules/x/index.js', '.git/HEAD', '.env', '.github/workflows/ci.yml', 'test/infra/x.test.ts', 'infra/aws/bin/app.ts', 'bench/a.ts', 'data/x', 'docs/deploy.md', 'npm-debug.log']) {
    t.ok(isIgnored(path, patterns), `${path} stays out`)
  }
  for (const path of ['package.json', 'package-lock.json', 'patches/@platformatic+dynamic-buffer+0.3.1.patch', 'cli/rewards.ts', 'topology/index.ts', 'rules/2026-1.json', 'infra/container/healthcheck.mjs', 'README.md']) {
    t.notOk(isIgnored(path, patterns), `${path} goes in`)
  }
})

t.test('the health-check script follows /health/live', async t => {
  const run = promisify(execFile)
  let status = 200
  const server = createServer((request, response) => {
    response.statusCode = request.url === '/health/live' ? status : 404
    response.end()
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const port = String((server.address() as AddressInfo).port)
  const check = async (env: Record<string, string>) => {
    try {
      await run(process.execPath, [join(repoRoot, 'infra/container/healthcheck.mjs')], { env: { ...env, PATH: process.env.PATH ?? '' } })
      return 0
    } catch (error) {
      return (error as { code?: number }).code
    }
  }
  t.equal(await check({ REWARDS_HTTP_PORT: port }), 0, 'live → healthy')
  status = 503
  t.equal(await check({ REWARDS_HTTP_PORT: port }), 1, '503 → unhealthy')
  server.close()
  t.equal(await check({ REWARDS_HTTP_PORT: port }), 1, 'nothing listening → unhealthy')
})
