// Real Kafka + PostgreSQL: the archiver runs as `rewards start --role archiver` in a child process
// while records are produced to the six platform topics; it is killed with SIGKILL three times
// mid-stream and restarted. In the end the archive holds exactly one row per record: the row
// count equals the sum of the topics' end offsets and (topic, partition, offset) never repeats.
import t from 'tap'
import { createKafkaLog } from '../../log/kafka/index.ts'
import { ensurePlatformTopics, platformTopics } from '../../lib/platform-topics.ts'
import { brokers, cleanEnv, RunningCli, unique } from '../cli/cli-helpers.ts'
import { countRows, createTestDatabase, openMigrated, rewardEventBytes, waitFor } from '../archive/archive-helpers.ts'

t.test('archiver killed -9 and restarted mid-stream: exactly one row per record', async t => {
  const prefix = `${unique('akill')}.`
  const appId = unique('akill-app')
  const database = await createTestDatabase()
  t.teardown(database.drop)
  const log = createKafkaLog({ brokers, clientId: 'archive-kill-test' })
  t.teardown(() => log.close())
  const config = { topicPrefix: prefix, partitions: 3 }
  await ensurePlatformTopics(log, config)
  const topics = platformTopics(config)
  const all = Object.values(topics)
  t.teardown(() => log.admin.deleteTopics(all))

  const env = cleanEnv({
    REWARDS_KAFKA_BROKERS: brokers.join(','),
    REWARDS_DATABASE_URL: database.url,
    REWARDS_TOPIC_PREFIX: prefix,
    REWARDS_APPLICATION_ID: appId,
    REWARDS_HTTP_PORT: '0',
    REWARDS_LOG_LEVEL: 'info'
  })
  const cwd = t.testdir({})
  let cli: RunningCli | undefined
  t.teardown(() => cli?.kill())
  const launch = async (): Promise<RunningCli> => {
    const child = new RunningCli(['start', '--role', 'archiver'], { cwd, env })
    await child.waitForLine(l => /archiver assigned/.test(l.msg), 90_000)
    return child
  }

  // A producer keeps writing to every topic while the archiver is killed and restarted.
  const producer = await log.createProducer({ clientId: 'archive-kill-producer' })
  let produced = 0
  let stop = false
  const production = (async () => {
    let i = 0
    while (!stop) {
      const batch = []
      for (let j = 0; j < 100; j++, i++) {
        const topic = all[i % all.length]!
        batch.push({ topic, key: Buffer.from(`M-${i % 97}`), value: rewardEventBytes(`M-${i % 97}`, `e-${i}`), headers: { traceparent: Buffer.from('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01') } })
      }
      await producer.send(batch)
      produced += batch.length
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  })()

  cli = await launch()
  for (let kill = 0; kill < 3; kill++) {
    const db = await openMigrated(database.url, cwd)
    const before = (await countRows(db)).total
    await waitFor('archiving progress', async () => (await countRows(db)).total > before + 500, 60_000, 100)
    await db.close()
    await new Promise(resolve => setTimeout(resolve, 100 + Math.floor(Math.random() * 400)))
    cli.child.kill('SIGKILL')
    await cli.exited
    t.comment(`killed the archiver (-9) after ${produced} records produced`)
    cli = await launch()
  }
  stop = true
  await production
  await producer.close()

  const ends = await log.admin.listOffsets((await log.admin.describeTopics(all)).flatMap(d => Array.from({ length: d.partitions }, (_, p) => ({ topic: d.name, partition: p }))), 'latest')
  const expected = ends.reduce((n, e) => n + Number(e.offset), 0)
  t.equal(expected, produced, 'every produced record is in the log')
  const db = await openMigrated(database.url, cwd)
  t.teardown(() => db.close())
  await waitFor('archive complete', async () => (await countRows(db)).total >= expected, 120_000, 250)
  await new Promise(resolve => setTimeout(resolve, 1000)) // a late duplicate would show now
  t.same(await countRows(db), { total: expected, distinct: expected }, `exactly ${expected} rows, none twice`)
  const perTopic = await db.query<{ topic: string, n: number, max: string }>('SELECT topic, count(*)::int AS n, max("offset")::text AS max FROM archive_records GROUP BY topic ORDER BY topic')
  t.equal(perTopic.rows.length, 6, 'all six topics archived')
  const traced = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM archive_records WHERE headers->>'traceparent' LIKE '00-%' AND trace_id = '0af7651916cd43dd8448eb211c80319c'")
  t.equal(traced.rows[0]!.n, expected, 'headers kept (traceparent), trace id extracted')
  cli.child.kill('SIGTERM')
  t.match(await cli.waitForExit(30_000), { code: 0 })
})
