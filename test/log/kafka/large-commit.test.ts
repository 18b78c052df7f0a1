// A commit far larger than the broker's request and batch limits (1 MiB) still goes through, in
// one transaction, and a non-transactional send of the same size too.
import t from 'tap'
import { kafkaLog, pollUntil, unique } from './kafka-test-helpers.ts'

t.test('a 6 MiB transaction and a 6 MiB send are split into requests the broker accepts', async t => {
  const topic = unique('large')
  const log = await kafkaLog(t, [{ name: topic, partitions: 2 }])
  const value = Buffer.alloc(1024, 'x')
  const records = Array.from({ length: 6000 }, (_, i) => ({ topic, key: Buffer.from(`k${i % 7}`), value }))
  const tx = await log.createProducer({ clientId: unique('tx'), transactionalId: unique('tx') })
  t.teardown(() => tx.close())
  const placed = await tx.commitTransaction({ records })
  t.equal(placed.length, records.length, 'every record placed')
  const plain = await log.createProducer({ clientId: unique('plain') })
  t.teardown(() => plain.close())
  t.equal((await plain.send(records)).length, records.length)
  const reader = log.createPartitionReader({ clientId: unique('reader') })
  t.teardown(() => reader.close())
  reader.assign([0, 1].map(partition => ({ topic, partition, offset: 0n })))
  const read = await pollUntil(reader, all => all.length >= 2 * records.length, 60_000)
  t.equal(read.length, 2 * records.length, 'all committed records readable')
  // Order per key is kept across the chunks.
  const firstHalf = read.filter(r => r.key!.toString() === 'k3').slice(0, 6000 / 7)
  t.ok(firstHalf.every((r, i, a) => i === 0 || r.offset > a[i - 1]!.offset), 'offsets increase per partition')
})
