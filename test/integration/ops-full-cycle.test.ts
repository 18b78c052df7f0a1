// The full operations cycle on real Kafka + PostgreSQL, through the `rewards` command:
//   demo load → `rewards start --role processor,archiver` until everything is processed and
//   archived → stop → `rewards rebuild` → start again (reprocesses everything) → stop →
//   `rewards reconcile` exits 0 → one balance corrupted in the stopped instance's store →
//   `rewards reconcile` exits 1 naming that member.
import { pointsInternalTopics } from '../../processors/rewards/points-windows.ts'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createKafkaLog } from '../../log/kafka/index.ts'
import { ensurePlatformTopics, platformTopics } from '../../lib/platform-topics.ts'
import type { Log } from '../../log/log-port.ts'
import { StateDirectory } from '../../stores/state-directory.ts'
import { RocksDbStore } from '../../stores/rocksdb-store.ts'
import { changelogTopicName } from '../../topology/runtime/stream-task.ts'
import { inputProgress, partitionsOf } from '../../cli/commands/ops-support.ts'
import { groupLag } from '../../cli/commands/lag.ts'
import { brokers, cleanEnv, runCli, RunningCli, unique } from '../cli/cli-helpers.ts'
import { createTestDatabase, waitFor } from '../archive/archive-helpers.ts'

async function runUntilCaughtUp (t: Test, log: Log, appId: string, topics: ReturnType<typeof platformTopics>, env: Record<string, string>, cwd: string): Promise<void> {
  const cli = new RunningCli(['start', '--role', 'processor,archiver'], { cwd, env })
  t.teardown(() => cli.kill())
  await cli.httpPort(90_000)
  const inputs = await partitionsOf(log, [topics.rewardEvents, topics.redeemEvents])
  await waitFor('processor caught up', async () => {
    const p = await inputProgress(log, appId, inputs)
    return p.total > 0 && p.consumed >= p.total
  }, 180_000, 500)
  await waitFor('archive caught up', async () => Number((await groupLag(log, `${appId}-archiver`, Object.values(topics))).totalLag) === 0, 120_000, 500)
  cli.child.kill('SIGTERM')
  t.match(await cli.waitForExit(60_000), { code: 0 }, 'graceful stop')
}

t.test('demo → rebuild → restart → reconcile 0; corrupted balance → reconcile 1 naming the member', async t => {
  const prefix = `${unique('cycle')}.`
  const appId = unique('cycle-app')
  const database = await createTestDatabase()
  t.teardown(database.drop)
  const log = createKafkaLog({ brokers, clientId: 'ops-cycle-test' })
  t.teardown(() => log.close())
  await ensurePlatformTopics(log, { topicPrefix: prefix, partitions: 3 })
  const topics = platformTopics({ topicPrefix: prefix })
  const cwd = t.testdir({})
  const dataDir = join(cwd, 'data')
  t.teardown(async () => {
    const changelogs = ['balances', 'event-dedupe', 'redemption-dedupe', 'redemption-index', 'dedupe-expiry', 'activity'].map(s => changelogTopicName(appId, s))
    await log.admin.deleteTopics([...Object.values(topics), ...changelogs, ...pointsInternalTopics(appId)])
  })
  const env = cleanEnv({
    REWARDS_KAFKA_BROKERS: brokers.join(','),
    REWARDS_DATABASE_URL: database.url,
    REWARDS_TOPIC_PREFIX: prefix,
    REWARDS_APPLICATION_ID: appId,
    REWARDS_DATA_DIR: dataDir,
    REWARDS_HTTP_PORT: '0',
    REWARDS_PARTITIONS: '3'
  })

  const demo = await runCli(['demo', '--count', '3000', '--rate', '0', '--members', '150', '--seed', '11'], { cwd, env, timeoutMs: 120_000 })
  t.equal(demo.code, 0, `demo load published: ${demo.stdout.trim()}`)

  await runUntilCaughtUp(t, log, appId, topics, env, cwd)

  const rebuild = await runCli(['rebuild'], { cwd, env, timeoutMs: 120_000 })
  t.equal(rebuild.code, 0, 'rebuild exits 0')
  t.match(rebuild.stdout, /reset offsets of 6 input partition\(s\).*: 3000 record\(s\) to reprocess/)
  t.match(rebuild.stdout, /deleted changelog topics: .*-balances-changelog/)
  t.match(rebuild.stdout, /deleted repartition topics: .*-points-by-property-repartition/)
  // 3 partitions: 3 member tasks (0_*) and 3 points-window tasks (1_*).
  t.match(rebuild.stdout, /deleted local state of 6 task\(s\)/)
  const inputs = await partitionsOf(log, [topics.rewardEvents, topics.redeemEvents])
  t.equal((await inputProgress(log, appId, inputs)).consumed, 0, 'input offsets at earliest')

  await runUntilCaughtUp(t, log, appId, topics, env, cwd)

  const reconcile = await runCli(['reconcile'], { cwd, env, timeoutMs: 180_000 })
  if (reconcile.code !== 0) t.comment(reconcile.stdout, reconcile.stderr)
  t.equal(reconcile.code, 0, 'reconcile exits 0')
  t.match(reconcile.stdout, /reconciled 1\d\d member\(s\)/)
  t.match(reconcile.stdout, /OK: every balance matches the archive/)

  // Corrupt one member's balance in the stopped instance's store (it restarts from its checkpoint,
  // so the corruption is what the query path answers).
  const directory = new StateDirectory(join(dataDir, 'state'), appId)
  let victim: string | undefined
  for (const task of directory.listTaskDirs()) {
    const store = new RocksDbStore(`balances@${task}`)
    await store.open(directory.storeDir(task, 'balances'))
    const [first] = store.range(undefined, undefined, { limit: 1 })
    if (first !== undefined && victim === undefined) {
      victim = first[0].toString('utf8')
      const balance = JSON.parse(first[1].toString('utf8'))
      balance.available += 1000
      balance.redeemed -= 1000
      await store.write([{ key: first[0], value: Buffer.from(JSON.stringify(balance)) }])
    }
    await store.close()
  }
  t.ok(victim, `corrupted the balance of ${victim}`)

  const drifted = await runCli(['reconcile'], { cwd, env, timeoutMs: 180_000 })
  t.equal(drifted.code, 1, 'reconcile exits 1 on drift')
  t.match(drifted.stdout, new RegExp(`DRIFT ${victim}: redeemed archive=\\d+ store=-?\\d+, available archive=-?\\d+ store=-?\\d+`))
  t.equal(drifted.stdout.match(/^DRIFT /gm)?.length, 1, 'only that member differs')
  t.match(drifted.stdout, /FAILED: 1 member\(s\) differ, 0 rule violation\(s\)/)
})
