// LogAdmin on Kafka: idempotent topic creation with configs, deletion ignoring missing topics,
// descriptions, offsets (earliest / latest = LSO), committed offsets, group description and
// deletion, and offset alteration refused while the group has members.
import t from 'tap'
import { Admin } from '@platformatic/kafka'
import { isRewardsError } from '../../../lib/errors.ts'
import { brokers, kafkaLog, noopListener, unique } from './kafka-test-helpers.ts'

t.test('admin functions', async t => {
  const log = await kafkaLog(t)
  const compacted = unique('admin-compact')
  const plain = unique('admin-plain')
  t.teardown(() => log.admin.deleteTopics([compacted, plain]))

  await log.admin.createTopics([{ name: compacted, partitions: 3, config: { 'cleanup.policy': 'compact' } }, { name: plain, partitions: 2 }])
  await log.admin.createTopics([{ name: compacted, partitions: 5 }]) // exists: left as it is
  t.same(await log.admin.describeTopics([compacted, plain, unique('missing')]), [{ name: compacted, partitions: 3 }, { name: plain, partitions: 2 }])
  const topics = await log.admin.listTopics()
  t.ok(topics.includes(compacted) && topics.includes(plain), 'listed')
  t.notOk(topics.some(name => name.startsWith('__')), 'internal topics left out')

  const raw = new Admin({ clientId: 'check', bootstrapBrokers: brokers })
  t.teardown(() => raw.close())
  const [config] = await raw.describeConfigs({ resources: [{ resourceType: 2, resourceName: compacted, configurationKeys: ['cleanup.policy'] }] })
  t.equal(config?.configs.find(c => c.name === 'cleanup.policy')?.value, 'compact', 'topic config applied')

  const producer = await log.createProducer({ clientId: 'p' })
  t.teardown(() => producer.close())
  await producer.send([0, 1, 2].map(i => ({ topic: plain, partition: 0, key: null, value: Buffer.from(String(i)) })))
  t.same(await log.admin.listOffsets([{ topic: plain, partition: 0 }, { topic: plain, partition: 1 }], 'earliest'), [{ topic: plain, partition: 0, offset: 0n }, { topic: plain, partition: 1, offset: 0n }])
  t.same(await log.admin.listOffsets([{ topic: plain, partition: 0 }, { topic: plain, partition: 1 }], 'latest'), [{ topic: plain, partition: 0, offset: 3n }, { topic: plain, partition: 1, offset: 0n }])

  const groupId = unique('group')
  t.same(await log.admin.listCommittedOffsets(groupId, [{ topic: plain, partition: 0 }]), [], 'unknown group: no offsets')
  t.same(await log.admin.describeGroup(groupId), { groupId, state: 'Dead', members: [] })
  await log.admin.alterCommittedOffsets(groupId, [{ topic: plain, partition: 0, offset: 2n }])
  t.same(await log.admin.listCommittedOffsets(groupId, [{ topic: plain, partition: 0 }, { topic: plain, partition: 1 }]), [{ topic: plain, partition: 0, offset: 2n }], 'partitions without offsets left out')

  const startPositions: bigint[] = []
  const consumer = log.createGroupConsumer({
    groupId, clientId: 'member', topics: [plain], userData: Buffer.from('host:1'),
    listener: {
      ...noopListener,
      async onPartitionsAssigned () {
        startPositions.push(consumer.position({ topic: plain, partition: 0 }), consumer.position({ topic: plain, partition: 1 }))
      }
    }
  })
  t.teardown(() => consumer.close())
  const first = await consumer.poll(1000)
  t.same(startPositions, [2n, 0n], 'starts at the altered offset, or the earliest when none is committed')
  t.same(first.map(r => r.offset), [2n], 'reads from there')
  const described = await log.admin.describeGroup(groupId)
  t.equal(described.state, 'Stable')
  t.same(described.members.map(m => ({ clientId: m.clientId, userData: m.userData?.toString(), partitions: m.assignment.length })), [{ clientId: 'member', userData: 'host:1', partitions: 2 }])
  const refused = await log.admin.alterCommittedOffsets(groupId, [{ topic: plain, partition: 0, offset: 0n }]).then(() => null, (e: unknown) => e)
  t.ok(isRewardsError(refused, 'LOG_GROUP_NOT_EMPTY'), 'alter refused while the group has members')
  const deleteRefused = await log.admin.deleteGroup(groupId).then(() => null, (e: unknown) => e)
  t.ok(isRewardsError(deleteRefused, 'LOG_GROUP_NOT_EMPTY'), 'delete refused while the group has members')

  await consumer.commitOffsets([{ topic: plain, partition: 1, offset: 0n }, { topic: plain, partition: 0, offset: 3n }])
  t.same(await log.admin.listCommittedOffsets(groupId, [{ topic: plain, partition: 0 }]), [{ topic: plain, partition: 0, offset: 3n }], 'at-least-once commit')
  await consumer.close()
  t.equal((await log.admin.describeGroup(groupId)).state, 'Empty', 'close left the group')
  await log.admin.deleteGroup(groupId)
  t.equal((await log.admin.describeGroup(groupId)).state, 'Dead', 'deleted')
  await log.admin.deleteGroup(groupId) // missing: ignored

  await log.admin.deleteTopics([plain, unique('never-existed')])
  t.notOk((await log.admin.listTopics()).includes(plain), 'deleted')
  t.same(await log.admin.describeTopics([plain]), [])
})

t.test('an unreachable broker is LOG_CONNECTION, retriable', async t => {
  const { createKafkaLog } = await import('../../../log/kafka/index.ts')
  const log = createKafkaLog({ brokers: ['127.0.0.1:1'], clientId: 'nowhere', connectTimeoutMs: 300 })
  t.teardown(() => log.close())
  const error = await log.admin.listTopics().then(() => null, (e: unknown) => e)
  t.ok(isRewardsError(error, 'LOG_CONNECTION'), `LOG_CONNECTION (${String(error)})`)
  t.equal((error as { retriable?: boolean }).retriable, true)
})

t.test('an unreachable broker fails producers and group consumers with LOG_CONNECTION', async t => {
  const { createKafkaLog } = await import('../../../log/kafka/index.ts')
  const log = createKafkaLog({ brokers: ['127.0.0.1:1'], clientId: 'nowhere', connectTimeoutMs: 300 })
  t.teardown(() => log.close())
  const producer = await log.createProducer({ clientId: 'p', transactionalId: unique('txn') }).then(() => null, (e: unknown) => e)
  t.ok(isRewardsError(producer, 'LOG_CONNECTION'), `transactional producer start (${String(producer)})`)
  const consumer = log.createGroupConsumer({ groupId: unique('group'), clientId: 'c', topics: ['x'], listener: noopListener })
  const poll = await consumer.poll(100).then(() => null, (e: unknown) => e)
  t.ok(isRewardsError(poll, 'LOG_CONNECTION'), `group consumer poll (${String(poll)})`)
  await consumer.close()
})
