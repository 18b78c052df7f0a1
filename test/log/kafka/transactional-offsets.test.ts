// Consume-transform-produce: outputs and the consumed offsets commit in one transaction; a new
// member of the group resumes exactly after them.
import t from 'tap'
import type { PartitionOffset } from '../../../log/log-port.ts'
import { kafkaLog, noopListener, pollUntil, text, unique } from './kafka-test-helpers.ts'

t.test('transactional offset commit, then resume from it', async t => {
  const input = unique('txn-in')
  const output = unique('txn-out')
  const groupId = unique('group')
  const log = await kafkaLog(t, [{ name: input, partitions: 3 }, { name: output, partitions: 3 }])
  const feeder = await log.createProducer({ clientId: 'feeder' })
  t.teardown(() => feeder.close())
  await feeder.send(Array.from({ length: 30 }, (_, i) => ({ topic: input, key: Buffer.from(`k${i}`), value: Buffer.from(String(i)) })))

  const producer = await log.createProducer({ clientId: 'eos', transactionalId: unique('eos') })
  t.teardown(() => producer.close())
  const first = log.createGroupConsumer({ groupId, clientId: 'c1', topics: [input], listener: noopListener })
  const consumed = await pollUntil(first, all => all.length >= 20)
  const batch = consumed.slice(0, 20)
  // offsets = next to read, per partition, of the records processed
  const next = new Map<string, PartitionOffset>()
  for (const r of batch) next.set(`${r.partition}`, { topic: input, partition: r.partition, offset: r.offset + 1n })
  const metadata = first.groupMetadata()
  t.ok(metadata !== null && metadata.generationId >= 1 && metadata.memberId.length > 0, 'member identity known after joining')
  const started = performance.now()
  await producer.commitTransaction({
    records: batch.map(r => ({ topic: output, key: r.key, value: Buffer.from(`out-${text(r.value)}`) })),
    offsets: { group: metadata!, offsets: [...next.values()] }
  })
  t.comment(`transaction with ${batch.length} records + offsets committed in ${(performance.now() - started).toFixed(1)} ms`)
  await first.close()

  const committed = await log.admin.listCommittedOffsets(groupId, [0, 1, 2].map(partition => ({ topic: input, partition })))
  t.same(committed.sort((a, b) => a.partition - b.partition), [...next.values()].sort((a, b) => a.partition - b.partition), 'committed offsets are the transaction\'s')

  const second = log.createGroupConsumer({ groupId, clientId: 'c2', topics: [input], listener: noopListener })
  t.teardown(() => second.close())
  const rest = await pollUntil(second, all => all.length >= 10)
  t.equal(rest.length, 10, 'exactly the records not covered by the committed offsets')
  const seen = new Set([...batch, ...rest].map(r => text(r.value)))
  t.equal(seen.size, 30, 'every input record processed once')
  for (const o of next.values()) t.ok(rest.filter(r => r.partition === o.partition).every(r => r.offset >= o.offset), `partition ${o.partition} resumed at ${o.offset}`)

  const reader = log.createPartitionReader({ clientId: 'check' })
  t.teardown(() => reader.close())
  reader.assign([0, 1, 2].map(partition => ({ topic: output, partition, offset: 0n })))
  const outputs = await pollUntil(reader, all => all.length >= 20)
  t.equal(outputs.length, 20, 'outputs committed with the offsets')
})
