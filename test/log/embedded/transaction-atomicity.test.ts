import t from 'tap'
import { buf, pollUntil, pollUntilAssigned, recordingListener, tempLog, text } from './helpers.ts'

t.test('commitTransaction appends records to several topics and commits the group offsets together', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'in', partitions: 1 }, { name: 'out', partitions: 2 }, { name: 'changelog', partitions: 2, config: { 'cleanup.policy': 'compact' } }])
  const producer = await log.createProducer({ clientId: 'feeder' })
  await producer.send([{ topic: 'in', key: buf('k'), value: buf('1') }, { topic: 'in', key: buf('k'), value: buf('2') }])

  const consumer = log.createGroupConsumer({ groupId: 'app', clientId: 'c', topics: ['in'], listener: recordingListener([]) })
  t.teardown(() => consumer.close())
  const records = await pollUntilAssigned(consumer, 1)
  records.push(...await pollUntil(ms => consumer.poll(ms), 2 - records.length))
  t.equal(records.length, 2)

  const tx = await log.createProducer({ clientId: 'tx', transactionalId: 'app-0_0' })
  const placed = await tx.commitTransaction({
    records: [
      { topic: 'out', key: buf('k'), value: buf('sum=3') },
      { topic: 'changelog', key: buf('k'), value: buf('3') }
    ],
    offsets: { group: consumer.groupMetadata()!, offsets: [{ topic: 'in', partition: 0, offset: 2n }] }
  })
  t.equal(placed.length, 2)
  t.same(await log.admin.listCommittedOffsets('app', [{ topic: 'in', partition: 0 }]), [{ topic: 'in', partition: 0, offset: 2n }])
  const out = await log.admin.listOffsets([{ topic: placed[0]!.topic, partition: placed[0]!.partition }], 'latest')
  t.equal(out[0]!.offset, 1n)

  const reader = log.createPartitionReader({ clientId: 'r' })
  reader.assign([{ topic: 'out', partition: placed[0]!.partition, offset: 0n }])
  const outRecords = await pollUntil(ms => reader.poll(ms), 1)
  t.equal(text(outRecords[0]!.value), 'sum=3')
  await reader.close()
})

t.test('a transaction that cannot complete writes nothing: no records, no offsets (LOG_TRANSACTION_ABORTED)', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'in', partitions: 1 }, { name: 'out', partitions: 1 }])
  const consumer = log.createGroupConsumer({ groupId: 'app', clientId: 'c', topics: ['in'], listener: recordingListener([]) })
  t.teardown(() => consumer.close())
  await pollUntilAssigned(consumer, 1)
  const tx = await log.createProducer({ clientId: 'tx', transactionalId: 'app-0_0' })
  await t.rejects(tx.commitTransaction({
    records: [{ topic: 'out', key: buf('a'), value: buf('1') }, { topic: 'missing', key: buf('a'), value: buf('1') }],
    offsets: { group: consumer.groupMetadata()!, offsets: [{ topic: 'in', partition: 0, offset: 5n }] }
  }), { code: 'LOG_TRANSACTION_ABORTED' })
  t.same(await log.admin.listOffsets([{ topic: 'out', partition: 0 }], 'latest'), [{ topic: 'out', partition: 0, offset: 0n }], 'no record of the failed transaction')
  t.same(await log.admin.listCommittedOffsets('app', [{ topic: 'in', partition: 0 }]), [], 'no offset of the failed transaction')

  // The producer is still usable after an aborted transaction.
  await tx.commitTransaction({ records: [{ topic: 'out', key: buf('a'), value: buf('2') }] })
  t.same(await log.admin.listOffsets([{ topic: 'out', partition: 0 }], 'latest'), [{ topic: 'out', partition: 0, offset: 1n }])
})

t.test('commitTransaction needs a transactional producer', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'out', partitions: 1 }])
  const producer = await log.createProducer({ clientId: 'plain' })
  await t.rejects(producer.commitTransaction({ records: [{ topic: 'out', key: null, value: null }] }), { code: 'CONFIG_INVALID' })
})
