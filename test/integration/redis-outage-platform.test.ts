// Redis cut off under a running `rewards start` (a TCP proxy of this test in front of the shared
// Redis): the outage is logged once when it starts and once when it ends (with its duration),
// readiness stays 200 and lists Redis as degraded, balance queries keep answering (from the
// stores), and when Redis is back readiness is no longer degraded.
import t from 'tap'
import { ClientStore } from '../../api/auth/client-store.ts'
import { TcpProxy } from '../archive/tcp-proxy.ts'
import { createTestDatabase, openMigrated, waitFor } from '../archive/archive-helpers.ts'
import { clientToken, RunningCli } from '../cli/cli-helpers.ts'
import { call, checksOf, dependencyLine, earn, readinessUntil } from './outage-helpers.ts'
import { kafkaPlatformWorld } from '../cli/kafka-platform-world.ts'

t.test('Redis down and back under rewards start', async t => {
  const proxy = new TcpProxy('127.0.0.1', 6379)
  const redisPort = await proxy.listen()
  t.teardown(() => proxy.close())
  const database = await createTestDatabase('redis_outage')
  t.teardown(database.drop)
  const { dataDir, env } = kafkaPlatformWorld(t, 'rout', 2)
  const db = await openMigrated(database.url, dataDir)
  t.teardown(() => db.close())
  const { client, clientSecret } = await new ClientStore(db).create({ name: 'redis-outage', scopes: ['balances:read', 'events:write'] })

  const cli = new RunningCli(['start', '--create-topics'], {
    cwd: dataDir,
    env: {
      ...env,
      REWARDS_DATABASE_URL: database.url,
      REWARDS_REDIS_URL: `redis://127.0.0.1:${redisPort}`
    }
  })
  t.teardown(() => cli.kill())
  const base = `http://127.0.0.1:${await cli.httpPort(120_000)}`
  const ready = await readinessUntil(base, r => r.status === 200 && checksOf(r.body).redis?.detail === 'up', 180_000)
  t.match(checksOf(ready.body).redis, { ready: true, detail: 'up' }, 'readiness reports Redis')
  const token = await clientToken(base, client.clientId, clientSecret)
  t.equal((await call(`${base}/v1/events`, token, { body: earn('R-1', 'r-1', 1000) })).status, 202)
  await waitFor('event processed', async () => (await call(`${base}/v1/members/R-1/balance`, token)).body.available === 100 || undefined, 120_000)

  const linesBeforeCut = cli.lines.length
  proxy.cut()
  t.comment('Redis cut off')
  const down = await dependencyLine(cli, 'dependency.down', 'redis', 30_000)
  t.match(down, { level: 'warn', dependency: 'redis', required: false, msg: /^dependency redis is down/ }, 'the outage start is logged')
  const degraded = await readinessUntil(base, r => (r.body.degraded ?? []).includes('redis'), 30_000)
  t.equal(degraded.status, 200, 'still ready')
  t.match(checksOf(degraded.body).redis, { ready: true, degraded: true, detail: /^down/ })
  t.equal((await call(`${base}/v1/members/R-1/balance`, token)).body.available, 100, 'balances still answered')
  t.equal((await call(`${base}/v1/events`, token, { body: earn('R-1', 'r-2', 1000) })).status, 202, 'ingestion works')

  proxy.restore()
  t.comment('Redis reachable again')
  const up = await dependencyLine(cli, 'dependency.up', 'redis', 60_000)
  t.ok(Number(up.downMs) > 0, `the outage end is logged with its duration (${String(up.downMs)} ms)`)
  t.equal(cli.lines.slice(linesBeforeCut).filter(l => l.event === 'dependency.down' && l.dependency === 'redis').length, 1, 'logged once when it started')
  await readinessUntil(base, r => r.status === 200 && !(r.body.degraded ?? []).includes('redis'), 30_000)
  await waitFor('the second event counted', async () => (await call(`${base}/v1/members/R-1/balance`, token)).body.available === 200 || undefined, 60_000)

  cli.child.kill('SIGTERM')
  t.same(await cli.waitForExit(30_000), { code: 0, signal: null }, 'exit 0 after SIGTERM')
})
