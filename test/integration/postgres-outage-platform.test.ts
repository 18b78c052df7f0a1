// PostgreSQL cut off for 20 s under two full platform processes (`rewards start`, every role, one
// application id, Kafka + Redis, PostgreSQL through a TCP proxy of this test): tokens issued before
// keep working — on the instance that answers and on the peer a query is forwarded to — while new
// tokens answer 503 DATABASE_UNAVAILABLE; readiness stays 200 and names the database as down
// (degraded); the outage is logged once when it starts and once when it ends, with its duration;
// afterwards the archiver catches up with every record exactly once.
import t from 'tap'
import { TcpProxy } from '../archive/tcp-proxy.ts'
import { countRows, createTestDatabase, openMigrated, waitFor } from '../archive/archive-helpers.ts'
import { clientToken, runCli, RunningCli, waitForStatus } from '../cli/cli-helpers.ts'
import { call, checksOf, dependencyLine, earn, readiness, readinessUntil } from './outage-helpers.ts'
import { kafkaPlatformWorld } from '../cli/kafka-platform-world.ts'

const OUTAGE_MS = 20_000

async function forwarded (base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  const line = text.split('\n').find(l => l.startsWith('rewards_api_queries_total{route="balance",where="forwarded"}'))
  return line === undefined ? 0 : Number(line.split(' ').pop())
}

t.test('PostgreSQL down for 20 s under two platform processes', async t => {
  const database = await createTestDatabase('pg_outage')
  t.teardown(database.drop)
  const target = new URL(database.url)
  const proxy = new TcpProxy(target.hostname, Number(target.port || 5432))
  const proxied = new URL(database.url)
  proxied.port = String(await proxy.listen())
  t.teardown(() => proxy.close())
  const direct = await openMigrated(database.url, t.testdir({}))
  t.teardown(() => direct.close())

  const root = t.testdir({ a: {}, b: {} })
  const world = kafkaPlatformWorld(t, 'pgout', 4, { dataDir: root })
  const env = (dir: string): Record<string, string> => ({
    ...world.env,
    REWARDS_DATABASE_URL: proxied.toString(),
    REWARDS_REDIS_URL: 'redis://127.0.0.1:6379',
    REWARDS_AUTH_ISSUER: 'https://rewards.example.test',
    REWARDS_DATA_DIR: `${root}/${dir}`
  })

  const created = await runCli(['clients', 'create', '--name', 'pg-outage', '--scopes', 'balances:read,events:write', '--json'], { cwd: root, env: env('a'), timeoutMs: 120_000 })
  t.equal(created.code, 0, created.stderr)
  const client = JSON.parse(created.stdout) as { clientId: string, clientSecret: string }

  const a = new RunningCli(['start', '--create-topics'], { cwd: root, env: env('a') })
  const b = new RunningCli(['start', '--create-topics'], { cwd: root, env: env('b') })
  t.teardown(async () => { await a.kill(); await b.kill() })
  const baseA = `http://127.0.0.1:${await a.httpPort(120_000)}`
  const baseB = `http://127.0.0.1:${await b.httpPort(120_000)}`
  await waitForStatus(`${baseA}/health/ready`, 200, 180_000)
  await waitForStatus(`${baseB}/health/ready`, 200, 180_000)
  const token = await clientToken(baseA, client.clientId, client.clientSecret)

  const before = Array.from({ length: 12 }, (_, i) => `PGB-${i}`)
  const during = Array.from({ length: 12 }, (_, i) => `PGD-${i}`)
  t.equal((await call(`${baseA}/v1/events`, token, { body: [...before, ...during].map(m => earn(m, `${m}-e1`, 1000)) })).status, 202)
  const balanceIs = async (base: string, member: string, available: number): Promise<boolean> => {
    const r = await call(`${base}/v1/members/${member}/balance`, token)
    return r.status === 200 && r.body.available === available
  }
  for (const member of before) await waitFor(`balance of ${member}`, async () => await balanceIs(baseA, member, 100), 120_000)
  t.ok(await forwarded(baseA) > 0, 'some members are owned by the other instance: their queries were forwarded')
  await waitFor('the first records archived', async () => (await countRows(direct)).total === 48 || undefined, 60_000)

  proxy.cut()
  const cutAt = Date.now()
  t.comment('PostgreSQL cut off')
  const down = await dependencyLine(a, 'dependency.down', 'database', 30_000)
  t.match(down, { level: 'warn', dependency: 'database', msg: /^dependency database is down/ }, 'the outage start is logged')
  await dependencyLine(b, 'dependency.down', 'database', 30_000)

  const ready = await readiness(baseA)
  t.equal(ready.status, 200, 'still ready: a database outage degrades, it does not take the instance out')
  t.ok(ready.body.degraded?.includes('database'), `readiness lists the database as degraded (${JSON.stringify(ready.body.degraded)})`)
  t.match(checksOf(ready.body).database, { ready: true, degraded: true, detail: /^down/ }, 'readiness names the database as down')
  t.match(checksOf(ready.body).archiver, { ready: true }, 'the archiver stays ready')

  const issue = await fetch(`${baseA}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials'
  })
  t.equal(issue.status, 503, 'a new token cannot be issued without the database')
  t.match(await issue.json(), { error: { code: 'DATABASE_UNAVAILABLE' } })

  const forwardedBefore = await forwarded(baseA)
  for (const member of during) t.ok(await balanceIs(baseA, member, 100), `${member}: the token issued before the outage still works`)
  t.ok(await forwarded(baseA) > forwardedBefore, 'queries forwarded to the peer during the outage were answered')
  t.equal((await call(`${baseA}/v1/events`, token, { body: before.map(m => earn(m, `${m}-e2`, 1000)) })).status, 202, 'ingestion works')
  for (const member of during) t.ok(await balanceIs(baseB, member, 100), `${member} via the other instance`)

  // The outage lasts OUTAGE_MS (the fault's duration, not a synchronisation): the revoked set
  // and the signing keys are due for reloads meanwhile, which fail.
  await new Promise(resolve => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - cutAt))))
  for (const member of before) await waitFor(`${member} after the second event, late in the outage`, async () => await balanceIs(baseA, member, 200), 60_000)
  t.pass('late in the outage, the same token still works')

  proxy.restore()
  t.comment('PostgreSQL reachable again')
  const up = await dependencyLine(a, 'dependency.up', 'database', 60_000)
  t.ok(Number(up.downMs) >= OUTAGE_MS - 3_000, `the outage end is logged with its duration (${String(up.downMs)} ms)`)
  t.match(up.msg, /^dependency database is back after \d+\.\d s$/)
  t.equal(a.lines.filter(l => l.event === 'dependency.down' && l.dependency === 'database').length, 1, 'logged once when it started')
  await readinessUntil(baseA, r => r.status === 200 && !(r.body.degraded ?? []).includes('database'), 60_000)

  // 36 events, each archived with its confirmation: 72 rows, each once.
  const rows = await waitFor('the archive caught up', async () => {
    const count = await countRows(direct)
    return count.total >= 72 ? count : undefined
  }, 120_000)
  t.same(rows, { total: 72, distinct: 72 }, 'every record archived once')
  t.ok(await clientToken(baseA, client.clientId, client.clientSecret), 'tokens are issued again')

  const metrics = await (await fetch(`${baseA}/metrics`)).text()
  t.match(metrics, /rewards_dependency_outages_total\{dependency="database"\} 1/)
  t.match(metrics, /rewards_dependency_up\{dependency="database"\} 1/)

  a.child.kill('SIGTERM')
  b.child.kill('SIGTERM')
  t.same(await a.waitForExit(30_000), { code: 0, signal: null }, 'A exits 0')
  t.same(await b.waitForExit(30_000), { code: 0, signal: null }, 'B exits 0')
})
