// `rewards rebuild --reprocess` on Kafka with an input whose output the broker refuses (an
// occurredAt in 2099, produced straight to the topic: INVALID_TIMESTAMP). The running processor
// dead-letters it (OUTPUT_REFUSED); the processor that rebuild (and reconcile) start in their own
// process must too. Before, it ran without the production exception handler: the stream thread
// died on the record, was replaced 5 times, and the command exited 1 with LOG_RECORD_REFUSED.
import { Kafka, logLevel } from 'kafkajs'
import t from 'tap'
import { createKafkaLog } from '../../log/kafka/index.ts'
import { ensurePlatformTopics, platformTopics } from '../../lib/platform-topics.ts'
import { readAllCommitted } from '../fault/kafkajs-read.ts'
import { brokers, cleanEnv, rewardEvent, runCli, unique } from './cli-helpers.ts'

t.test('rebuild --reprocess dead-letters a refused output and finishes', async t => {
  const prefix = `${unique('rebuild-refused')}.`
  const appId = unique('rebuild-refused-app')
  const log = createKafkaLog({ brokers, clientId: 'rebuild-refused-test' })
  t.teardown(() => log.close())
  await ensurePlatformTopics(log, { topicPrefix: prefix, partitions: 1 })
  const topics = platformTopics({ topicPrefix: prefix })
  t.teardown(async () => {
    const internal = (await log.admin.listTopics()).filter(name => name.startsWith(`${appId}-`))
    await log.admin.deleteTopics([...Object.values(topics), ...internal])
  })
  const producer = await log.createProducer({ clientId: 'rebuild-refused-test' })
  await producer.send([
    { topic: topics.rewardEvents, key: Buffer.from('M-1'), value: rewardEvent('M-1', 'e-1', 10000) },
    { topic: topics.rewardEvents, key: Buffer.from('M-1'), value: rewardEvent('M-1', 'e-2099', 10000, '2099-01-01T00:00:00Z') },
    { topic: topics.rewardEvents, key: Buffer.from('M-1'), value: rewardEvent('M-1', 'e-3', 10000) }
  ])
  await producer.close()

  const env = cleanEnv({ REWARDS_KAFKA_BROKERS: brokers.join(','), REWARDS_TOPIC_PREFIX: prefix, REWARDS_APPLICATION_ID: appId, REWARDS_DATA_DIR: t.testdir({}), REWARDS_PARTITIONS: '1' })
  const done = await runCli(['rebuild', '--reprocess'], { env, timeoutMs: 180_000 })
  t.equal(done.code, 0, done.stderr)
  t.notMatch(done.stderr, /LOG_RECORD_REFUSED/)

  const store = await runCli(['store', 'get', 'balances', 'M-1'], { env })
  t.equal(store.code, 0, store.stderr)
  t.match(JSON.parse(store.stdout), { earned: 2000, events: 2 }, 'the two other events counted, the refused one not')

  const kafka = new Kafka({ brokers, clientId: 'rebuild-refused-verify', logLevel: logLevel.NOTHING })
  const dlq = await readAllCommitted(kafka, topics.rewardEventsDlq, 1, 60_000)
  t.same(dlq.map(r => JSON.parse(r.value).eventId), ['e-2099'], 'the refused input is dead-lettered')
})
