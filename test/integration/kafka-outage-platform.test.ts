// The broker stopped under a running `rewards start` and started again (a broker of this test's
// own: test/integration/own-broker.ts). On the fresh broker `rewards topics create` reports the six
// topics as created (never as missing). While the broker is down the outage is logged once and
// readiness fails naming Kafka; when it is back the end is logged with its duration, readiness
// returns and events are processed again.
import t from 'tap'
import { ClientStore } from '../../api/auth/client-store.ts'
import { createTestDatabase, openMigrated, waitFor } from '../archive/archive-helpers.ts'
import { cleanEnv, clientToken, runCli, RunningCli, unique } from '../cli/cli-helpers.ts'
import { OwnBroker } from './own-broker.ts'
import { call, checksOf, dependencyLine, earn, readinessUntil } from './outage-helpers.ts'

t.test('Kafka stopped and started again under rewards start', async t => {
  const broker = await OwnBroker.create()
  await broker.start()
  t.teardown(() => broker.destroy())
  const database = await createTestDatabase('kafka_outage')
  t.teardown(database.drop)
  const dataDir = t.testdir({})
  const db = await openMigrated(database.url, dataDir)
  t.teardown(() => db.close())
  const { client, clientSecret } = await new ClientStore(db).create({ name: 'kafka-outage', scopes: ['balances:read', 'events:write'] })

  const env = cleanEnv({
    REWARDS_KAFKA_BROKERS: broker.bootstrap,
    REWARDS_DATABASE_URL: database.url,
    REWARDS_APPLICATION_ID: unique('kout-app'),
    REWARDS_PARTITIONS: '2',
    REWARDS_HTTP_PORT: '0',
    REWARDS_DATA_DIR: dataDir
  })
  const topics = await runCli(['topics', 'create', '--json'], { env, cwd: dataDir, timeoutMs: 120_000 })
  t.equal(topics.code, 0, `topics create on a fresh broker succeeds\n${topics.stderr}`)
  const outcome = JSON.parse(topics.stdout) as { topics: Array<{ name: string, partitions: number, status: string }> }
  t.same(outcome.topics.map(x => [x.status, x.partitions]), Array(6).fill(['created', 2]), 'all six reported created, none missing')

  const cli = new RunningCli(['start'], { cwd: dataDir, env })
  t.teardown(() => cli.kill())
  const base = `http://127.0.0.1:${await cli.httpPort(120_000)}`
  const ready = await readinessUntil(base, r => r.status === 200, 180_000)
  t.match(checksOf(ready.body).kafka, { ready: true, detail: 'up' }, 'readiness reports Kafka')
  const token = await clientToken(base, client.clientId, clientSecret)
  t.equal((await call(`${base}/v1/events`, token, { body: earn('K-1', 'k-1', 1000) })).status, 202)
  await waitFor('first event processed', async () => (await call(`${base}/v1/members/K-1/balance`, token)).body.available === 100 || undefined, 120_000)

  await broker.stop()
  t.comment('broker stopped')
  const down = await dependencyLine(cli, 'dependency.down', 'kafka', 60_000)
  t.match(down, { level: 'warn', dependency: 'kafka', required: true, msg: /^dependency kafka is down/ }, 'the outage start is logged')
  const unready = await readinessUntil(base, r => r.status === 503 && checksOf(r.body).kafka?.ready === false, 30_000)
  t.match(checksOf(unready.body).kafka, { ready: false, detail: /^down/ }, 'readiness fails naming Kafka')
  t.match(unready.body.error?.message, /kafka: down/)

  await broker.start()
  t.comment('broker started again')
  const up = await dependencyLine(cli, 'dependency.up', 'kafka', 120_000)
  t.ok(Number(up.downMs) > 0, `the outage end is logged with its duration (${String(up.downMs)} ms)`)
  t.equal(cli.lines.filter(l => l.event === 'dependency.down' && l.dependency === 'kafka').length, 1, 'logged once when it started')
  await readinessUntil(base, r => r.status === 200, 180_000)
  t.equal((await call(`${base}/v1/events`, token, { body: earn('K-1', 'k-2', 1000) })).status, 202, 'ingestion works again')
  await waitFor('processing resumed', async () => (await call(`${base}/v1/members/K-1/balance`, token)).body.available === 200 || undefined, 120_000)
  t.match(await (await fetch(`${base}/metrics`)).text(), /rewards_dependency_outages_total\{dependency="kafka"\} 1/)

  cli.child.kill('SIGTERM')
  t.same(await cli.waitForExit(30_000), { code: 0, signal: null }, 'exit 0 after SIGTERM')
})
