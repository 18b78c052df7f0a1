// Real Kafka + PostgreSQL with the platform running (processor, api, archiver, auth in one
// process): `rewards reconcile --api-url … --token …` compares the archive with the balances the
// HTTP API answers (GET /v1/members/{id}/balance), waiting for the running archiver; exit 0.
// Without --api-url it refuses while instances run.
import { pointsInternalTopics } from '../../processors/rewards/points-windows.ts'
import { join } from 'node:path'
import t from 'tap'
import { createKafkaLog } from '../../log/kafka/index.ts'
import { ensurePlatformTopics, platformTopics } from '../../lib/platform-topics.ts'
import { changelogTopicName } from '../../topology/runtime/stream-task.ts'
import { inputProgress, partitionsOf } from '../../cli/commands/ops-support.ts'
import { brokers, cleanEnv, clientToken, runCli, RunningCli, unique, waitForStatus } from '../cli/cli-helpers.ts'
import { createTestDatabase, waitFor } from '../archive/archive-helpers.ts'

t.test('reconcile --api-url against the running platform', async t => {
  const prefix = `${unique('recapi')}.`
  const appId = unique('recapi-app')
  const database = await createTestDatabase()
  t.teardown(database.drop)
  const log = createKafkaLog({ brokers, clientId: 'reconcile-api-test' })
  t.teardown(() => log.close())
  await ensurePlatformTopics(log, { topicPrefix: prefix, partitions: 3 })
  const topics = platformTopics({ topicPrefix: prefix })
  t.teardown(() => log.admin.deleteTopics([...Object.values(topics), ...['balances', 'event-dedupe', 'redemption-dedupe', 'redemption-index', 'dedupe-expiry', 'activity'].map(s => changelogTopicName(appId, s)), ...pointsInternalTopics(appId)]))
  const cwd = t.testdir({})
  const env = cleanEnv({
    REWARDS_KAFKA_BROKERS: brokers.join(','),
    REWARDS_DATABASE_URL: database.url,
    REWARDS_TOPIC_PREFIX: prefix,
    REWARDS_APPLICATION_ID: appId,
    REWARDS_DATA_DIR: join(cwd, 'data'),
    REWARDS_HTTP_PORT: '0',
    REWARDS_PARTITIONS: '3',
    // Below the 80 members' queries per second: reconcile meets 429 and waits as Retry-After says.
    REWARDS_API_RATE_LIMIT: '40/1s'
  })
  t.equal((await runCli(['demo', '--count', '1500', '--rate', '0', '--members', '80', '--seed', '9'], { cwd, env, timeoutMs: 120_000 })).code, 0, 'demo load')

  const cli = new RunningCli(['start'], { cwd, env })
  t.teardown(() => cli.kill())
  const port = await cli.httpPort(90_000)
  const base = `http://127.0.0.1:${port}`
  await waitForStatus(`${base}/health/ready`, 200, 120_000)
  const inputs = await partitionsOf(log, [topics.rewardEvents, topics.redeemEvents])
  // On a timeout the error says how far it got (the platform's log is kept by cli-helpers).
  let progress = { consumed: 0, total: 0 }
  await waitFor('processed', async () => { progress = await inputProgress(log, appId, inputs); return progress.total > 0 && progress.consumed >= progress.total }, 120_000, 500)
    .catch((error: Error) => { throw new Error(`${error.message}: input progress ${JSON.stringify(progress)}`) })

  const client = await runCli(['clients', 'create', '--name', 'reconcile', '--scopes', 'balances:read', '--json'], { cwd, env })
  t.equal(client.code, 0, `client created ${client.stderr}`)
  const { clientId, clientSecret } = JSON.parse(client.stdout) as { clientId: string, clientSecret: string }
  const token = await clientToken(base, clientId, clientSecret, 'balances:read')
  t.ok(token, 'token issued')

  const refused = await runCli(['reconcile'], { cwd, env, timeoutMs: 60_000 })
  t.equal(refused.code, 1, 'without --api-url it refuses while instances run')
  t.match(refused.stderr, /instance\(s\) of .* are running.*--api-url/)

  const reconcile = await runCli(['reconcile', '--api-url', base, '--token', token], { cwd, env, timeoutMs: 180_000 })
  if (reconcile.code !== 0) t.comment(reconcile.stdout, reconcile.stderr)
  t.equal(reconcile.code, 0, 'reconcile over the API exits 0')
  t.match(reconcile.stdout, /reconciled 80 member\(s\) \(archive: 80, store: queried per member\)/)
  t.match(reconcile.stdout, /OK: every balance matches the archive/)
  t.match(await (await fetch(`${base}/metrics`)).text(), /rewards_api_rate_limited_total\{route="\/v1\/members\/:memberId\/balance"\} [1-9]/, 'it was rate-limited on the way and retried')
  cli.child.kill('SIGTERM')
  t.match(await cli.waitForExit(60_000), { code: 0 })
})
