// A commit far larger than the broker's request and batch limits (1 MiB) still goes through, in
// one transaction, and a non-transactional send of the same size too.
import t from 'tap'
import { chunkBySize } from '../../../log/kafka/produce-requests.ts'
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

t.test('chunks bound each partition\'s batch and each request, keeping the order', async t => {
  const value = Buffer.alloc(936) // 1000 bytes a record with the 64-byte estimate of overhead
  const messages = Array.from({ length: 40 }, (_, i) => ({ topic: i % 4 === 3 ? 'b' : 'a', partition: i % 4, value, timestamp: 0n }))
  // 10 records a partition: 4 000 bytes per partition bound, 12 000 per request.
  const chunks = chunkBySize(messages, 4000, 12_000)
  t.same(chunks.flat(), messages, 'every message, in order')
  for (const chunk of chunks) {
    t.ok(chunk.length * 1000 <= 12_000, 'request bound')
    const per = new Map<string, number>()
    for (const m of chunk) per.set(`${m.topic}:${m.partition}`, (per.get(`${m.topic}:${m.partition}`) ?? 0) + 1000)
    t.ok([...per.values()].every(b => b <= 4000), 'partition bound')
  }
  t.equal(chunks.length, 4, '12 records a request (3 per partition)')
  // Many small records over many partitions: one request, not one per partition bound.
  const small = Array.from({ length: 24_000 }, (_, i) => ({ topic: 'a', partition: i % 24, value: Buffer.alloc(16), timestamp: 0n }))
  t.equal(chunkBySize(small).length, 1, '24 000 records of 80 bytes over 24 partitions: one request')
})
