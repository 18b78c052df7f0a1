// The embedded default (embedded log, PGlite, every role in one process): GET /v1/reports/… reads
// the archiver role's own PGlite handle, and `rewards report` refuses while the platform holds it,
// naming the HTTP route instead; once stopped, the CLI reads the same archive.
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
  t.match(refused.stderr, /embedded platform .* is running.*GET http:\/\/127\.0\.0\.1:0\/v1\/reports\/points-issued/)

  cli.child.kill('SIGTERM')
  t.match(await cli.waitForExit(90_000), { code: 0 }, 'stopped')
  const after = await runCli(['report', 'points-issued', '--format', 'json'], { cwd, env, timeoutMs: 120_000 })
  t.equal(after.code, 0, `stopped: the CLI reads the embedded archive ${after.stderr}`)
  t.match(JSON.parse(after.stdout), { report: 'points-issued', rows: [] })
})
