// Non-transactional produce (idempotent, acks=all) lands keyed records on Kafka's murmur2
// partitions, with their offsets; a group consumer reads them all back in order per partition.
import t from 'tap'
import { partitionForKey } from '../../../log/murmur2-partitioner.ts'
import { kafkaLog, noopListener, pollUntil, text, unique } from './kafka-test-helpers.ts'

t.test('keyed records go to murmur2 partitions and come back through a group consumer', async t => {
  const topic = unique('produce-consume')
  const log = await kafkaLog(t, [{ name: topic, partitions: 6 }])
  const producer = await log.createProducer({ clientId: unique('producer') })
  t.teardown(() => producer.close())

  const keys = Array.from({ length: 60 }, (_, i) => `member-${i}`)
  const sent = await producer.send(keys.map((key, i) => ({ topic, key: Buffer.from(key), value: Buffer.from(`v${i}`), headers: { trace: Buffer.from(`t${i}`) } })))
  t.equal(sent.length, keys.length)
  for (let i = 0; i < keys.length; i++) {
    t.equal(sent[i]!.partition, partitionForKey(Buffer.from(keys[i]!), 6), `partition of ${keys[i]}`)
  }
  // offsets are consecutive per partition, in send order
  const perPartition = new Map<number, bigint[]>()
  for (const s of sent) perPartition.set(s.partition, [...(perPartition.get(s.partition) ?? []), s.offset])
  for (const [partition, offsets] of perPartition) {
    t.same(offsets, offsets.map((_, i) => offsets[0]! + BigInt(i)), `offsets of partition ${partition} are consecutive`)
  }
  // a tombstone and an explicit partition
  const [tombstone] = await producer.send([{ topic, partition: 5, key: Buffer.from('gone'), value: null }])
  t.equal(tombstone!.partition, 5)

  const consumer = log.createGroupConsumer({ groupId: unique('group'), clientId: 'c1', topics: [topic], listener: noopListener })
  t.teardown(() => consumer.close())
  const records = await pollUntil(consumer, all => all.length >= keys.length + 1)
  t.equal(records.length, keys.length + 1)
  for (const record of records) {
    if (record.value === null) {
      t.equal(text(record.key), 'gone')
      t.equal(record.partition, 5)
      continue
    }
    const i = Number(text(record.value)!.slice(1))
    t.equal(record.partition, sent[i]!.partition)
    t.equal(record.offset, sent[i]!.offset)
    t.equal(text(record.headers.trace ?? null), `t${i}`)
    t.ok(record.timestamp > Date.now() - 120_000 && record.timestamp <= Date.now() + 1000, 'timestamp is CreateTime ms')
  }
  t.equal(consumer.assignment().length, 6)
  for (const p of [0, 1, 2, 3, 4, 5]) {
    const last = [...sent, tombstone!].filter(s => s.partition === p).map(s => s.offset).reduce((a, b) => (a > b ? a : b), -1n)
    t.equal(consumer.position({ topic, partition: p }), last + 1n, `position of partition ${p}`)
  }
})
