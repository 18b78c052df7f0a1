import t from 'tap'
import { partitionForKey } from '../../../log/murmur2-partitioner.ts'
import { buf, pollUntil, tempLog, text } from './helpers.ts'

t.test('keyed records go to the murmur2 partition, offsets start at 0 per partition, timestamps and headers survive', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'orders', partitions: 3 }])
  const producer = await log.createProducer({ clientId: 'p' })
  const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g']
  const placed = await producer.send(keys.map((k, i) => ({ topic: 'orders', key: buf(k), value: buf(`v${i}`), headers: { h: buf(k) }, timestamp: 1000 + i })))
  const perPartition = new Map<number, bigint>()
  placed.forEach((p, i) => {
    t.equal(p.partition, partitionForKey(buf(keys[i]!), 3), `key ${keys[i]} partition`)
    const expected = perPartition.get(p.partition) ?? 0n
    t.equal(p.offset, expected, `key ${keys[i]} offset`)
    perPartition.set(p.partition, expected + 1n)
  })
  const explicit = await producer.send([{ topic: 'orders', partition: 2, key: null, value: null }])
  t.same(explicit, [{ topic: 'orders', partition: 2, offset: perPartition.get(2) ?? 0n }])

  const reader = log.createPartitionReader({ clientId: 'r' })
  reader.assign([0, 1, 2].map(partition => ({ topic: 'orders', partition, offset: 0n })))
  const records = await pollUntil(ms => reader.poll(ms), keys.length + 1)
  t.equal(records.length, keys.length + 1)
  for (const record of records) {
    if (record.key === null) {
      t.equal(record.value, null, 'tombstone kept null')
      t.same(record.headers, {})
      continue
    }
    const i = keys.indexOf(text(record.key)!)
    t.equal(text(record.value), `v${i}`)
    t.equal(record.timestamp, 1000 + i)
    t.equal(text(record.headers.h ?? null), keys[i])
    t.equal(record.offset, placed[i]!.offset)
  }
  t.same(await log.admin.listOffsets([{ topic: 'orders', partition: 2 }], 'latest'), [{ topic: 'orders', partition: 2, offset: (perPartition.get(2) ?? 0n) + 1n }])
  t.equal(reader.position({ topic: 'orders', partition: 2 }), (perPartition.get(2) ?? 0n) + 1n)
  await reader.close()
  await producer.close()
})

t.test('a reader waiting in poll wakes up when records arrive', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'x', partitions: 1 }])
  const reader = log.createPartitionReader({ clientId: 'r' })
  reader.assign([{ topic: 'x', partition: 0, offset: 0n }])
  const started = Date.now()
  const polled = reader.poll(30_000)
  const producer = await log.createProducer({ clientId: 'p' })
  await producer.send([{ topic: 'x', key: buf('k'), value: buf('v') }])
  const records = await polled
  t.equal(records.length, 1)
  t.ok(Date.now() - started < 5000, 'woke up well before the 30 s wait')
  await reader.close()
})

t.test('sending to a missing topic or partition fails and writes nothing', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'x', partitions: 1 }])
  const producer = await log.createProducer({ clientId: 'p' })
  await t.rejects(producer.send([{ topic: 'x', key: null, value: buf('1') }, { topic: 'nope', key: null, value: null }]), { code: 'LOG_TOPIC_NOT_FOUND' })
  await t.rejects(producer.send([{ topic: 'x', partition: 3, key: null, value: null }]), { code: 'LOG_TOPIC_NOT_FOUND' })
  t.same(await log.admin.listOffsets([{ topic: 'x', partition: 0 }], 'latest'), [{ topic: 'x', partition: 0, offset: 0n }])
})
