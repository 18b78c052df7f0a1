// Real Kafka + PostgreSQL: the archive of one application (topics A) is replayed into fresh
// topics (B) for a new application id; a rebuild of B then computes exactly the balances A has.
// A second replay publishes nothing (no duplicates).
import { pointsInternalTopics } from '../../processors/rewards/points-windows.ts'
import { join } from 'node:path'
import t from 'tap'
import { createKafkaLog } from '../../log/kafka/index.ts'
import { ensurePlatformTopics, platformTopics } from '../../lib/platform-topics.ts'
import { changelogTopicName } from '../../topology/runtime/stream-task.ts'
import { inputProgress, partitionsOf } from '../../cli/commands/ops-support.ts'
import { groupLag } from '../../cli/commands/lag.ts'
import { openOfflineStore } from '../../cli/offline-store.ts'
import { rewardsPlatform } from '../../cli/rewards-platform.ts'
import { loadConfig } from '../../lib/config.ts'
import { brokers, cleanEnv, runCli, RunningCli, unique } from '../cli/cli-helpers.ts'
import { createTestDatabase, waitFor } from '../archive/archive-helpers.ts'

const STORES = ['balances', 'event-dedupe', 'redemption-dedupe', 'redemption-index', 'dedupe-expiry', 'activity']

t.test('replay --from-archive into fresh topics + rebuild gives identical balances', async t => {
  const database = await createTestDatabase()
  t.teardown(database.drop)
  const log = createKafkaLog({ brokers, clientId: 'replay-test' })
  t.teardown(() => log.close())
  const cwd = t.testdir({})
  const a = { prefix: `${unique('replA')}.`, app: unique('replA-app') }
  const b = { prefix: `${unique('replB')}.`, app: unique('replB-app') }
  t.teardown(async () => {
    for (const x of [a, b]) await log.admin.deleteTopics([...Object.values(platformTopics({ topicPrefix: x.prefix })), ...STORES.map(s => changelogTopicName(x.app, s)), ...pointsInternalTopics(x.app)])
  })
  const envFor = (x: { prefix: string, app: string }): Record<string, string> => cleanEnv({
    REWARDS_KAFKA_BROKERS: brokers.join(','),
    REWARDS_DATABASE_URL: database.url,
    REWARDS_TOPIC_PREFIX: x.prefix,
    REWARDS_APPLICATION_ID: x.app,
    REWARDS_DATA_DIR: join(cwd, x.app),
    REWARDS_HTTP_PORT: '0',
    REWARDS_PARTITIONS: '3'
  })

  // A: demo load, processed and archived.
  await ensurePlatformTopics(log, { topicPrefix: a.prefix, partitions: 3 })
  const topicsA = platformTopics({ topicPrefix: a.prefix })
  t.equal((await runCli(['demo', '--count', '2000', '--rate', '0', '--members', '120', '--seed', '5'], { cwd, env: envFor(a), timeoutMs: 120_000 })).code, 0, 'demo load on A')
  const cli = new RunningCli(['start', '--role', 'processor,archiver'], { cwd, env: envFor(a) })
  t.teardown(() => cli.kill())
  await cli.httpPort(90_000)
  const inputsA = await partitionsOf(log, [topicsA.rewardEvents, topicsA.redeemEvents])
  await waitFor('A processed', async () => { const p = await inputProgress(log, a.app, inputsA); return p.total > 0 && p.consumed >= p.total }, 180_000, 500)
  await waitFor('A archived', async () => Number((await groupLag(log, `${a.app}-archiver`, Object.values(topicsA))).totalLag) === 0, 120_000, 500)
  cli.child.kill('SIGTERM')
  t.match(await cli.waitForExit(60_000), { code: 0 })

  // Replay A's archive into B's fresh topics, twice.
  const replay = await runCli(['replay', '--from-archive', '--source-prefix', a.prefix], { cwd, env: envFor(b), timeoutMs: 120_000 })
  t.equal(replay.code, 0, 'replay exits 0')
  t.match(replay.stdout, /2000 archived input record\(s\): 0 already in the topics, 2000 published/)
  const again = await runCli(['replay', '--from-archive', '--source-prefix', a.prefix], { cwd, env: envFor(b), timeoutMs: 120_000 })
  t.match(again.stdout, /2000 archived input record\(s\): 2000 already in the topics, 0 published/, 'a second replay publishes nothing')
  // Progress ends at 100 %: the publish bar, and the scan of the target topics, which counts
  // offsets (transaction markers take some) and once stopped at 92 %.
  t.match(replay.stderr, /replay: 100% 2000\/2000 records, \d+\/s, ETA \d+s/, 'the replay progress ends at 100 %')
  t.match(again.stderr, /scan target topics: 100% (\d+)\/\1 records/, 'the scan progress ends at 100 %')

  // Rebuild B (reprocessing here), then compare B's balances with A's.
  const rebuild = await runCli(['rebuild', '--reprocess'], { cwd, env: envFor(b), timeoutMs: 180_000 })
  if (rebuild.code !== 0) t.comment(rebuild.stdout, rebuild.stderr)
  t.equal(rebuild.code, 0, 'rebuild --reprocess exits 0')

  const balances = async (x: { prefix: string, app: string }): Promise<Map<string, unknown>> => {
    const config = loadConfig({ env: envFor(x), cwd })
    const store = await openOfflineStore(config, rewardsPlatform(config).topology, 'balances')
    try {
      return new Map(store.scan('', 100_000).map(e => [e.key as string, e.value]))
    } finally {
      await store.close()
    }
  }
  const balancesA = await balances(a)
  const balancesB = await balances(b)
  t.ok(balancesA.size > 100, `${balancesA.size} members on A`)
  t.equal(balancesB.size, balancesA.size, 'same members')
  let differ = 0
  for (const [member, balance] of balancesA) if (JSON.stringify(balancesB.get(member)) !== JSON.stringify(balance)) differ++
  t.equal(differ, 0, 'every balance identical')
})
