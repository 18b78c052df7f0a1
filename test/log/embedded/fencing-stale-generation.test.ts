import t from 'tap'
import { buf, pollUntilAssigned, recordingListener, tempLog } from './helpers.ts'

t.test('offsets committed with a stale group generation are fenced (LOG_PRODUCER_FENCED), nothing is written', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'in', partitions: 2 }, { name: 'out', partitions: 1 }])
  const a = log.createGroupConsumer({ groupId: 'app', clientId: 'a', topics: ['in'], listener: recordingListener([]) })
  t.teardown(() => a.close())
  await pollUntilAssigned(a, 2)
  const stale = a.groupMetadata()!
  t.equal(stale.generationId, 1)
  const tx = await log.createProducer({ clientId: 'tx', transactionalId: 'app-a' })
  await tx.commitTransaction({ records: [], offsets: { group: stale, offsets: [{ topic: 'in', partition: 0, offset: 1n }] } })

  const b = log.createGroupConsumer({ groupId: 'app', clientId: 'b', topics: ['in'], listener: recordingListener([]) })
  t.teardown(() => b.close())
  await Promise.all([pollUntilAssigned(a, 1), pollUntilAssigned(b, 1)])
  t.equal(a.groupMetadata()!.generationId, 2)

  await t.rejects(tx.commitTransaction({
    records: [{ topic: 'out', key: buf('k'), value: buf('zombie') }],
    offsets: { group: stale, offsets: [{ topic: 'in', partition: 0, offset: 7n }] }
  }), { code: 'LOG_PRODUCER_FENCED' })
  t.same(await log.admin.listOffsets([{ topic: 'out', partition: 0 }], 'latest'), [{ topic: 'out', partition: 0, offset: 0n }])
  t.same(await log.admin.listCommittedOffsets('app', [{ topic: 'in', partition: 0 }]), [{ topic: 'in', partition: 0, offset: 1n }])

  await t.rejects(tx.commitTransaction({ records: [] }), { code: 'LOG_PRODUCER_FENCED' }, 'a fenced producer stays fenced')
  const tx2 = await log.createProducer({ clientId: 'tx2', transactionalId: 'app-a' })
  await tx2.commitTransaction({ records: [], offsets: { group: a.groupMetadata()!, offsets: [{ topic: 'in', partition: 0, offset: 2n }] } })
  t.same(await log.admin.listCommittedOffsets('app', [{ topic: 'in', partition: 0 }]), [{ topic: 'in', partition: 0, offset: 2n }], 'the current generation commits')

  await t.rejects(tx2.commitTransaction({ records: [], offsets: { group: { ...a.groupMetadata()!, memberId: 'nobody' }, offsets: [] } }), { code: 'LOG_PRODUCER_FENCED' }, 'an unknown member is fenced')
  await a.commitOffsets([{ topic: 'in', partition: a.assignment()[0]!.partition, offset: 3n }])
  t.same(await log.admin.listCommittedOffsets('app', [a.assignment()[0]!]), [{ ...a.assignment()[0]!, offset: 3n }], 'a plain commit of the current generation')
})
