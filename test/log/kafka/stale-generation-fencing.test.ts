// KIP-447: offsets committed in a transaction carry the member's generation; after a rebalance a
// member that still uses its old generation is fenced (LOG_PRODUCER_FENCED) and nothing of its
// transaction becomes visible.
import t from 'tap'
import { isRewardsError } from '../../../lib/errors.ts'
import { kafkaLog, noopListener, pollUntil, text, unique } from './kafka-test-helpers.ts'

t.test('a transaction with an old generation is fenced after another member joined', async t => {
  const input = unique('gen-in')
  const output = unique('gen-out')
  const groupId = unique('group')
  const log = await kafkaLog(t, [{ name: input, partitions: 2 }, { name: output, partitions: 1 }])

  const member1 = log.createGroupConsumer({ groupId, clientId: 'm1', topics: [input], listener: noopListener, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 20_000 })
  t.teardown(() => member1.close())
  await member1.poll(0)
  const old = member1.groupMetadata()!
  t.equal(member1.assignment().length, 2)

  // Member 2 joins: its JoinGroup waits until member 1 rejoins (member 1's next poll).
  const member2 = log.createGroupConsumer({ groupId, clientId: 'm2', topics: [input], listener: noopListener, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 20_000 })
  t.teardown(() => member2.close())
  const joining = member2.poll(0)
  await pollUntil(member1, () => member1.groupMetadata()!.generationId > old.generationId, 20_000)
  await joining
  t.equal(member1.assignment().length + member2.assignment().length, 2, 'partitions split between the members')
  t.ok(member2.groupMetadata()!.generationId === member1.groupMetadata()!.generationId, 'both at the new generation')

  const producer = await log.createProducer({ clientId: 'm1-eos', transactionalId: unique('eos') })
  t.teardown(() => producer.close())
  const error = await producer.commitTransaction({
    records: [{ topic: output, partition: 0, key: null, value: Buffer.from('from-stale-generation') }],
    offsets: { group: old, offsets: [{ topic: input, partition: 0, offset: 1n }] }
  }).then(() => null, (e: unknown) => e)
  t.ok(isRewardsError(error, 'LOG_PRODUCER_FENCED'), `stale generation fenced (${String(error)})`)
  t.same(await log.admin.listCommittedOffsets(groupId, [{ topic: input, partition: 0 }]), [], 'no offset committed')

  // With the current generation it works (new producer: the fenced one must be closed).
  const fresh = await log.createProducer({ clientId: 'm1-eos-2', transactionalId: unique('eos') })
  t.teardown(() => fresh.close())
  const current = member1.groupMetadata()!
  const owned = member1.assignment()[0]!
  await fresh.commitTransaction({ records: [{ topic: output, partition: 0, key: null, value: Buffer.from('from-current-generation') }], offsets: { group: current, offsets: [{ ...owned, offset: 0n }] } })
  t.same(await log.admin.listCommittedOffsets(groupId, [owned]), [{ ...owned, offset: 0n }])

  const reader = log.createPartitionReader({ clientId: 'check' })
  t.teardown(() => reader.close())
  reader.assign([{ topic: output, partition: 0, offset: 0n }])
  const [end] = await log.admin.listOffsets([{ topic: output, partition: 0 }], 'latest')
  const records = await pollUntil(reader, () => reader.position({ topic: output, partition: 0 }) >= end!.offset)
  t.same(records.map(r => text(r.value)), ['from-current-generation'])
})
