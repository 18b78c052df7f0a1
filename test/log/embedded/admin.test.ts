import t from 'tap'
import { buf, pollUntilAssigned, recordingListener, tempLog } from './helpers.ts'

t.test('topics: create (idempotent), describe, list, delete (records too), recreate empty', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'a', partitions: 3 }, { name: 'b', partitions: 1, config: { 'cleanup.policy': 'compact' } }])
  await log.admin.createTopics([{ name: 'a', partitions: 7 }])
  t.same(await log.admin.describeTopics(['a', 'b', 'missing']), [{ name: 'a', partitions: 3 }, { name: 'b', partitions: 1 }], 'existing ones left as they are, missing left out')
  t.same(await log.admin.listTopics(), ['a', 'b'])
  await t.rejects(log.admin.createTopics([{ name: 'bad', partitions: 0 }]), { code: 'CONFIG_INVALID' })

  const producer = await log.createProducer({ clientId: 'p' })
  await producer.send([{ topic: 'a', partition: 1, key: buf('k'), value: buf('v') }, { topic: 'a', partition: 1, key: buf('k'), value: buf('w') }])
  t.same(await log.admin.listOffsets([{ topic: 'a', partition: 1 }], 'earliest'), [{ topic: 'a', partition: 1, offset: 0n }])
  t.same(await log.admin.listOffsets([{ topic: 'a', partition: 1 }], 'latest'), [{ topic: 'a', partition: 1, offset: 2n }])
  await t.rejects(log.admin.listOffsets([{ topic: 'missing', partition: 0 }], 'latest'), { code: 'LOG_TOPIC_NOT_FOUND' })
  await log.admin.alterCommittedOffsets('g', [{ topic: 'a', partition: 1, offset: 2n }])

  await log.admin.deleteTopics(['a', 'missing'])
  t.same(await log.admin.listTopics(), ['b'])
  t.same(await log.admin.listCommittedOffsets('g', [{ topic: 'a', partition: 1 }]), [], 'offsets of a deleted topic go with it')
  await log.admin.createTopics([{ name: 'a', partitions: 2 }])
  t.same(await log.admin.listOffsets([{ topic: 'a', partition: 1 }], 'latest'), [{ topic: 'a', partition: 1, offset: 0n }], 'recreated empty')
  const reader = log.createPartitionReader({ clientId: 'r' })
  reader.assign([{ topic: 'a', partition: 1, offset: 0n }])
  t.same(await reader.poll(0), [], 'no record of the deleted topic shows through')
  await reader.close()
})

t.test('groups: committed offsets, alter refused while members exist, describe with subscription userData, delete', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'in', partitions: 2 }])
  // Records up to the offsets committed below: an offset past a partition's end is out of range
  // and would be reset by the group consumer (REWARDS_AUTO_OFFSET_RESET).
  const seed = await log.createProducer({ clientId: 'seed' })
  await seed.send([0, 1].flatMap(partition => Array.from({ length: 6 }, (_, i) => ({ topic: 'in', partition, key: buf(`k${i}`), value: buf(`v${i}`) }))))
  await seed.close()
  t.same(await log.admin.describeGroup('nobody'), { groupId: 'nobody', state: 'Dead', members: [] })

  await log.admin.alterCommittedOffsets('app', [{ topic: 'in', partition: 0, offset: 5n }, { topic: 'in', partition: 1, offset: 6n }])
  t.same(await log.admin.listCommittedOffsets('app', [{ topic: 'in', partition: 0 }, { topic: 'in', partition: 1 }, { topic: 'x', partition: 0 }]),
    [{ topic: 'in', partition: 0, offset: 5n }, { topic: 'in', partition: 1, offset: 6n }], 'partitions with none are left out')
  t.equal((await log.admin.describeGroup('app')).state, 'Empty')

  const consumer = log.createGroupConsumer({ groupId: 'app', clientId: 'instance-1', topics: ['in'], listener: recordingListener([]), userData: buf('host-1:8080') })
  await pollUntilAssigned(consumer, 2)
  t.equal(consumer.position({ topic: 'in', partition: 1 }), 6n, 'position starts at the committed offset')
  const description = await log.admin.describeGroup('app')
  t.equal(description.state, 'Stable')
  t.equal(description.members.length, 1)
  t.equal(description.members[0]!.clientId, 'instance-1')
  t.equal(description.members[0]!.memberId, consumer.groupMetadata()!.memberId)
  t.equal(description.members[0]!.userData?.toString(), 'host-1:8080')
  t.same(description.members[0]!.assignment.map(tp => tp.partition).sort(), [0, 1])

  await t.rejects(log.admin.alterCommittedOffsets('app', [{ topic: 'in', partition: 0, offset: 0n }]), { code: 'LOG_GROUP_NOT_EMPTY' })
  await t.rejects(log.admin.deleteGroup('app'), { code: 'LOG_GROUP_NOT_EMPTY' })
  await consumer.close()

  t.equal((await log.admin.describeGroup('app')).state, 'Empty')
  await log.admin.alterCommittedOffsets('app', [{ topic: 'in', partition: 0, offset: 1n }])
  t.same(await log.admin.listCommittedOffsets('app', [{ topic: 'in', partition: 0 }]), [{ topic: 'in', partition: 0, offset: 1n }])
  await log.admin.deleteGroup('app')
  await log.admin.deleteGroup('never-existed')
  t.same(await log.admin.listCommittedOffsets('app', [{ topic: 'in', partition: 0 }]), [])
  t.equal((await log.admin.describeGroup('app')).state, 'Dead')
})
