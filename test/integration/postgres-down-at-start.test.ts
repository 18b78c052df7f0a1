// `rewards start` while PostgreSQL cannot be reached (a TCP proxy of this test, cut before the
// start): the process starts anyway and becomes ready (degraded: the readiness body names the
// database as down and the archiver as waiting), token requests answer 503 DATABASE_UNAVAILABLE,
// records produced meanwhile are processed; once PostgreSQL is reachable the schema is migrated,
// the archiver starts and archives everything once, and tokens are issued.
import t from 'tap'
import { ClientStore } from '../../api/auth/client-store.ts'
import { TcpProxy } from '../archive/tcp-proxy.ts'
import { countRows, createTestDatabase, waitFor } from '../archive/archive-helpers.ts'
import { clientToken, RunningCli, rewardEvent, unique } from '../cli/cli-helpers.ts'
import { openDatabase } from '../../lib/db/database.ts'
import { call, checksOf, dependencyLine, readiness, readinessUntil } from './outage-helpers.ts'
import { kafkaPlatformWorld } from '../cli/kafka-platform-world.ts'

t.test('PostgreSQL unreachable at start: ready (degraded), then catches up', async t => {
  const database = await createTestDatabase('pg_boot')
  t.teardown(database.drop)
  const target = new URL(database.url)
  const proxy = new TcpProxy(target.hostname, Number(target.port || 5432))
  const proxied = new URL(database.url)
  proxied.port = String(await proxy.listen())
  t.teardown(() => proxy.close())
  proxy.cut()

  const { prefix, dataDir, env, log } = kafkaPlatformWorld(t, 'pgboot', 2)

  const cli = new RunningCli(['start', '--create-topics'], {
    cwd: dataDir,
    env: {
      ...env,
      REWARDS_DATABASE_URL: proxied.toString()
    }
  })
  t.teardown(() => cli.kill())
  const base = `http://127.0.0.1:${await cli.httpPort(120_000)}`
  await dependencyLine(cli, 'dependency.down', 'database', 60_000)
  const ready = await readinessUntil(base, r => r.status === 200, 180_000)
  t.ok(ready.body.degraded?.includes('database'), 'ready, with the database degraded')
  t.match(checksOf(ready.body).database, { ready: true, degraded: true, detail: /^down/ })
  t.match(checksOf(ready.body).archiver, { ready: true, degraded: true, detail: /waiting for PostgreSQL/ })
  t.match(checksOf(ready.body).auth, { ready: true, degraded: true, detail: /cannot issue tokens/ })

  const refused = await fetch(`${base}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&client_id=nobody&client_secret=x' })
  t.equal(refused.status, 503, 'token requests answer 503 while the database is down')
  t.match(await refused.json(), { error: { code: 'DATABASE_UNAVAILABLE' } })
  t.equal(refused.headers.get('retry-after'), '1')

  const producer = await log.createProducer({ clientId: unique('pgboot-producer') })
  t.teardown(() => producer.close())
  await producer.send(Array.from({ length: 20 }, (_, i) => ({ topic: `${prefix}reward-events`, key: Buffer.from(`B-${i % 5}`), value: rewardEvent(`B-${i % 5}`, `boot-${i}`, 1000) })))

  // Ready since the start, the instance must not leave the load balancer when PostgreSQL comes
  // back: the late migrations and group join of the archiver are degraded, not unready
  // (docs/runbooks/dependency-outage.md). Readiness is watched every 50 ms from here on.
  const answers: string[] = []
  let watching = true
  const watcher = (async () => {
    while (watching) {
      const r = await readiness(base).catch(() => undefined)
      if (r !== undefined && r.status !== 200) answers.push(JSON.stringify(r.body))
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  })()
  proxy.restore()
  t.comment('PostgreSQL reachable')
  const up = await dependencyLine(cli, 'dependency.up', 'database', 60_000)
  t.ok(Number(up.downMs) > 0, `the outage end is logged with its duration (${String(up.downMs)} ms)`)
  await cli.waitForLine(l => l.event === 'database.migrated', 60_000)
  await cli.waitForLine(l => typeof l.msg === 'string' && l.msg.startsWith('archiver started'), 60_000)
  await readinessUntil(base, r => r.status === 200 && /^archiving/.test(checksOf(r.body).archiver?.detail ?? ''), 60_000)
  watching = false
  await watcher
  t.same(answers, [], 'ready throughout the migrations and the archiver\'s group join')

  const direct = await openDatabase({ databaseUrl: database.url, dataDir })
  t.teardown(() => direct.close())
  const rows = await waitFor('everything archived', async () => {
    const count = await countRows(direct)
    return count.total >= 40 ? count : undefined
  }, 120_000)
  t.same(rows, { total: 40, distinct: 40 }, '20 events and their 20 confirmations, each once')

  const { client, clientSecret } = await new ClientStore(direct).create({ name: 'after-boot', scopes: ['balances:read'] })
  const token = await clientToken(base, client.clientId, clientSecret)
  t.equal((await call(`${base}/v1/members/B-0/balance`, token)).status, 200, 'tokens are issued and accepted once the database is up')
  await readinessUntil(base, r => r.status === 200 && (r.body.degraded ?? []).length === 0, 60_000)

  cli.child.kill('SIGTERM')
  t.same(await cli.waitForExit(30_000), { code: 0, signal: null }, 'exit 0 after SIGTERM')
})
