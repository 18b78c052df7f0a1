// The embedded default (embedded log, PGlite, every role in one process): GET /v1/reports/… reads
// the archiver role's own PGlite handle, and `rewards report` refuses while the platform holds it,
// naming the HTTP route of the running platform (its real port) instead; once stopped, the CLI reads the same archive.
import { join } from 'node:path'
import t from 'tap'
import { cleanEnv, clientToken, runCli, RunningCli, waitForStatus } from './cli-helpers.ts'

t.test('reports on the embedded platform', async t => {
  const cwd = t.testdir({})
  const env = cleanEnv({ REWARDS_DATA_DIR: join(cwd, 'data'), REWARDS_HTTP_PORT: '0', REWARDS_PARTITIONS: '2' })
  const created = await runCli(['clients', 'create', '--name', 'finance', '--scopes', 'reports:read', '--json'], { cwd, env, timeoutMs: 120_000 })
  t.equal(created.code, 0, `client created ${created.stderr}`)
  const { clientId, clientSecret } = JSON.parse(created.stdout) as { clientId: string, clientSecret: string }

  const cli = new RunningCli(['start'], { cwd, env })
  t.teardown(() => cli.kill())
  const base = `http://127.0.0.1:${await cli.httpPort(120_000)}`
  await waitForStatus(`${base}/health/ready`, 200, 180_000)
  const token = await clientToken(base, clientId, clientSecret, 'reports:read')
  const response = await fetch(`${base}/v1/reports/points-issued`, { headers: { authorization: `Bearer ${token}` } })
  const body = await response.json() as { report: string, rows: unknown[] }
  t.equal(response.status, 200, 'served from the archiver\'s PGlite')
  t.match(body, { report: 'points-issued', rows: [] })

  const refused = await runCli(['report', 'points-issued'], { cwd, env, timeoutMs: 60_000 })
  t.equal(refused.code, 1, 'the CLI refuses while the embedded platform runs')
  // The hint names the platform's real address (from its admin.json), not this command's port 0.
  t.ok(refused.stderr.includes(`is running`) && refused.stderr.includes(`GET ${base}/v1/reports/points-issued`), `names the running platform's URL: ${refused.stderr}`)
  const store = await runCli(['store', 'get', 'balances', 'm-1'], { cwd, env, timeoutMs: 60_000 })
  t.equal(store.code, 1, 'rewards store get refuses while the platform runs')
  t.ok(store.stderr.includes(`GET ${base}/v1/members/<memberId>/balance`), `store get names the running platform's URL: ${store.stderr}`)
  const lag = await runCli(['lag'], { cwd, env, timeoutMs: 60_000 })
  t.equal(lag.code, 1, 'rewards lag refuses on the embedded log while the platform runs')
  t.ok(lag.stderr.includes(`GET ${base}/metrics`), `lag names the running platform's URL: ${lag.stderr}`)

  cli.child.kill('SIGTERM')
  t.match(await cli.waitForExit(90_000), { code: 0 }, 'stopped')
  const after = await runCli(['report', 'points-issued', '--format', 'json'], { cwd, env, timeoutMs: 120_000 })
  t.equal(after.code, 0, `stopped: the CLI reads the embedded archive ${after.stderr}`)
  t.match(JSON.parse(after.stdout), { report: 'points-issued', rows: [] })
})
