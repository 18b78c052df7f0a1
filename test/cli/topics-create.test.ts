// `rewards topics create` against the real broker, under a unique REWARDS_TOPIC_PREFIX: creates
// the six platform topics (inputs co-partitioned), is idempotent, and fails clearly when the
// existing inputs are not co-partitioned. Topic configs are read back with kafkajs (an independent
// client): the platform's topics keep every record (no time retention).
import kafkajs, { Kafka, logLevel } from 'kafkajs'
import t from 'tap'
import { createKafkaLog } from '../../log/kafka/index.ts'
import { brokers, cleanEnv, runCli, unique } from './cli-helpers.ts'

const NAMES = ['reward-events', 'redeem-events', 'reward-confirmed', 'redeem-confirmed', 'reward-events-dlq', 'redeem-events-dlq']

t.test('creates the platform topics once, then finds them', async t => {
  const prefix = `${unique('cli-topics')}.`
  const topics = NAMES.map(n => prefix + n)
  const log = createKafkaLog({ brokers, clientId: unique('cli-topics-test') })
  t.teardown(async () => {
    await log.admin.deleteTopics(topics).catch(() => undefined)
    await log.close()
  })
  const env = cleanEnv({ REWARDS_KAFKA_BROKERS: brokers.join(','), REWARDS_TOPIC_PREFIX: prefix })

  const first = await runCli(['topics', 'create', '--partitions', '3', '--json'], { env })
  t.equal(first.code, 0, first.stderr)
  const created = JSON.parse(first.stdout) as { log: string, topics: Array<{ name: string, partitions: number, status: string }> }
  t.equal(created.log, 'kafka')
  t.same(created.topics.map(x => x.name), topics)
  t.ok(created.topics.every(x => x.status === 'created' && x.partitions === 3), 'all six created with 3 partitions')
  const described = new Map((await log.admin.describeTopics(topics)).map(d => [d.name, d.partitions]))
  t.same(topics.map(n => described.get(n)), [3, 3, 3, 3, 3, 3], 'the broker has them')
  const admin = new Kafka({ brokers, clientId: unique('cli-topics-configs'), logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    const configs = await admin.describeConfigs({ includeSynonyms: false, resources: topics.map(name => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name, configNames: ['retention.ms'] })) })
    const retention = new Map(configs.resources.map(r => [r.resourceName, r.configEntries.find(e => e.configName === 'retention.ms')?.configValue]))
    // Months-old event times would otherwise be deleted by the broker's 7-day default at a segment roll.
    t.same(topics.map(n => retention.get(n)), topics.map(() => '-1'), 'no time retention on any platform topic')
  } finally {
    await admin.disconnect()
  }

  const second = await runCli(['topics', 'create', '--partitions', '6'], { env })
  t.equal(second.code, 0, second.stderr)
  t.match(second.stdout, /0 created, 6 already existed on Kafka at/)
  for (const name of topics) t.match(second.stdout, new RegExp(`${name.replace(/\./g, '\\.')}\\s+3\\s+exists`))
})

t.test('a missing input topic is created with the partitions of the existing one', async t => {
  const prefix = `${unique('cli-topics')}.`
  const topics = NAMES.map(n => prefix + n)
  const log = createKafkaLog({ brokers, clientId: unique('cli-topics-test') })
  t.teardown(async () => {
    await log.admin.deleteTopics(topics).catch(() => undefined)
    await log.close()
  })
  await log.admin.createTopics([{ name: `${prefix}reward-events`, partitions: 2 }])
  const result = await runCli(['topics', 'create', '--partitions', '5', '--json'], { env: cleanEnv({ REWARDS_KAFKA_BROKERS: brokers.join(','), REWARDS_TOPIC_PREFIX: prefix }) })
  t.equal(result.code, 0, result.stderr)
  const outcome = (JSON.parse(result.stdout) as { topics: Array<{ name: string, partitions: number, status: string }> }).topics
  t.same(outcome.find(x => x.name === `${prefix}reward-events`), { name: `${prefix}reward-events`, partitions: 2, status: 'exists' })
  t.same(outcome.find(x => x.name === `${prefix}redeem-events`), { name: `${prefix}redeem-events`, partitions: 2, status: 'created' })
  t.equal(outcome.find(x => x.name === `${prefix}reward-confirmed`)?.partitions, 5)
})

t.test('inputs that are not co-partitioned: non-zero exit and a clear message', async t => {
  const prefix = `${unique('cli-topics')}.`
  const log = createKafkaLog({ brokers, clientId: unique('cli-topics-test') })
  const inputs = [{ name: `${prefix}reward-events`, partitions: 2 }, { name: `${prefix}redeem-events`, partitions: 3 }]
  t.teardown(async () => {
    await log.admin.deleteTopics(NAMES.map(n => prefix + n)).catch(() => undefined)
    await log.close()
  })
  await log.admin.createTopics(inputs)
  const result = await runCli(['topics', 'create', '--kafka-brokers', brokers.join(','), '--topic-prefix', prefix])
  t.equal(result.code, 1)
  t.match(result.stderr, /\[TOPOLOGY_INVALID\].*reward-events has 2 partitions but .*redeem-events has 3.*co-partitioned/)
  t.same(await log.admin.describeTopics([`${prefix}reward-confirmed`]), [], 'nothing else was created')
})

t.test('on the embedded log, in the data directory', async t => {
  const dir = t.testdir({})
  const result = await runCli(['topics', 'create', '--partitions', '2'], { cwd: dir, env: cleanEnv() })
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, /6 created, 0 already existed on the embedded log in .*data\/log/)
})
