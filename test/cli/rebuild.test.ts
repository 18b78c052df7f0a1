// `rewards rebuild` on Kafka: refuses (exit 1, nothing changed) while the application's group has
// a member; --dry-run changes nothing; once the member left it resets the input offsets to
// earliest and deletes the changelog topics, printing each step.
import t from 'tap'
import { createKafkaLog } from '../../log/kafka/index.ts'
import { ensurePlatformTopics, platformTopics } from '../../lib/platform-topics.ts'
import { brokers, cleanEnv, rewardEvent, runCli, unique } from './cli-helpers.ts'

t.test('rebuild: stop check, dry run, reset', async t => {
  const prefix = `${unique('rebuild')}.`
  const appId = unique('rebuild-app')
  const log = createKafkaLog({ brokers, clientId: 'rebuild-test' })
  t.teardown(() => log.close())
  await ensurePlatformTopics(log, { topicPrefix: prefix, partitions: 2 })
  const topics = platformTopics({ topicPrefix: prefix })
  const changelog = `${appId}-balances-changelog`
  await log.admin.createTopics([{ name: changelog, partitions: 2, config: { 'cleanup.policy': 'compact' } }])
  t.teardown(() => log.admin.deleteTopics([...Object.values(topics), changelog]))
  const producer = await log.createProducer({ clientId: 'rebuild-test' })
  await producer.send(Array.from({ length: 10 }, (_, i) => ({ topic: topics.rewardEvents, key: Buffer.from(`M-${i}`), value: rewardEvent(`M-${i}`, `e-${i}`, 100) })))
  await producer.close()
  const inputs = [0, 1].flatMap(partition => [{ topic: topics.rewardEvents, partition }, { topic: topics.redeemEvents, partition }])
  const ends = await log.admin.listOffsets(inputs, 'latest')
  await log.admin.alterCommittedOffsets(appId, ends)

  const env = cleanEnv({ REWARDS_KAFKA_BROKERS: brokers.join(','), REWARDS_TOPIC_PREFIX: prefix, REWARDS_APPLICATION_ID: appId, REWARDS_DATA_DIR: t.testdir({}) })

  // A member in the application's group.
  const consumer = log.createGroupConsumer({ groupId: appId, clientId: 'still-running', topics: [topics.rewardEvents], listener: { async onPartitionsAssigned () {}, async onPartitionsRevoked () {}, async onPartitionsLost () {} } })
  await consumer.poll(1000)
  const refused = await runCli(['rebuild'], { env })
  t.equal(refused.code, 1, 'refuses while the group has members')
  t.match(refused.stderr, /has 1 member\(s\) \(still-running\): stop every instance first/)
  t.same((await log.admin.listCommittedOffsets(appId, inputs)).map(o => o.offset).sort(), ends.map(o => o.offset).sort(), 'offsets unchanged')
  await consumer.close()

  const dry = await runCli(['rebuild', '--dry-run'], { env })
  t.equal(dry.code, 0)
  t.match(dry.stdout, /\(dry run\)[\s\S]*would reset offsets.*10 record\(s\) to reprocess[\s\S]*would delete changelog topics: .*balances-changelog/)
  t.equal((await log.admin.describeTopics([changelog])).length, 1, 'dry run: changelog still there')

  const done = await runCli(['rebuild'], { env })
  t.equal(done.code, 0, done.stderr)
  t.match(done.stdout, /stop check: group .* has no members/)
  t.match(done.stdout, /reset offsets of 4 input partition\(s\).*: 10 record\(s\) to reprocess/)
  t.match(done.stdout, new RegExp(`deleted changelog topics: ${changelog}`))
  t.match(done.stdout, /no local state under/)
  t.same((await log.admin.listCommittedOffsets(appId, inputs)).map(o => o.offset), inputs.map(() => 0n), 'input offsets at earliest')
  t.same(await log.admin.describeTopics([changelog]), [], 'changelog deleted')
})
