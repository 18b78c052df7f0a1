// Restore reads a changelog from an offset to its last stable offset: the reader's position moves
// past commit / abort markers, so it reaches the LSO even when the log ends with a marker.
import t from 'tap'
import { Producer } from '@platformatic/kafka'
import { brokers, kafkaLog, pollUntil, settledEnds, text, unique } from './kafka-test-helpers.ts'

t.test('the reader reaches the end across commit and abort markers', async t => {
  const changelog = unique('store-changelog')
  const log = await kafkaLog(t, [{ name: changelog, partitions: 2, config: { 'cleanup.policy': 'compact' } }])
  const producer = await log.createProducer({ clientId: 'task', transactionalId: unique('task') })
  t.teardown(() => producer.close())
  for (let txn = 0; txn < 3; txn++) {
    await producer.commitTransaction({ records: [0, 1].map(i => ({ topic: changelog, partition: 0, key: Buffer.from(`k${txn}-${i}`), value: Buffer.from(`v${txn}-${i}`) })) })
  }
  // an aborted transaction in the middle of partition 1 (a zombie fenced by its successor)
  const zombieId = unique('zombie')
  const zombie = new Producer({ clientId: 'zombie', bootstrapBrokers: brokers, idempotent: true, transactionalId: zombieId, timeout: 60_000 })
  t.teardown(() => zombie.close())
  const open = await zombie.beginTransaction({ producerId: -1n, producerEpoch: -1 })
  await open.send({ messages: [{ topic: changelog, partition: 1, key: Buffer.from('lost'), value: Buffer.from('aborted') }] })
  const successor = await log.createProducer({ clientId: 'successor', transactionalId: zombieId })
  t.teardown(() => successor.close())
  await successor.commitTransaction({ records: [{ topic: changelog, partition: 1, key: Buffer.from('kept'), value: Buffer.from('committed') }] })

  const ends = await settledEnds(log, [{ topic: changelog, partition: 0, atLeast: 9n }, { topic: changelog, partition: 1, atLeast: 4n }])
  t.equal(ends[0]!.offset, 9n, 'partition 0: 3 x (2 records + commit marker)')
  t.equal(ends[1]!.offset, 4n, 'partition 1: aborted record + abort marker + record + commit marker')

  const reader = log.createPartitionReader({ clientId: 'restore' })
  t.teardown(() => reader.close())
  reader.assign([{ topic: changelog, partition: 0, offset: 0n }, { topic: changelog, partition: 1, offset: 0n }])
  const reachedEnd = (): boolean => ends.every(end => reader.position(end) >= end.offset)
  const records = await pollUntil(reader, reachedEnd)
  t.equal(reader.position({ topic: changelog, partition: 0 }), 9n, 'position past the last commit marker')
  t.equal(reader.position({ topic: changelog, partition: 1 }), 4n)
  t.same(records.filter(r => r.partition === 0).map(r => text(r.key)), ['k0-0', 'k0-1', 'k1-0', 'k1-1', 'k2-0', 'k2-1'])
  t.same(records.filter(r => r.partition === 1).map(r => text(r.value)), ['committed'], 'aborted record never returned')

  // The restore's entries-only fetch reads the same, grouped by partition.
  const entriesReader = log.createPartitionReader({ clientId: 'restore-entries' })
  t.teardown(() => entriesReader.close())
  entriesReader.assign([{ topic: changelog, partition: 0, offset: 1n }, { topic: changelog, partition: 1, offset: 0n }])
  const runs = []
  for (let i = 0; i < 150 && !ends.every(end => entriesReader.position(end) >= end.offset); i++) runs.push(...await entriesReader.pollEntries!(200))
  t.equal(entriesReader.position({ topic: changelog, partition: 0 }), 9n, 'entries: position past the last commit marker')
  t.equal(entriesReader.position({ topic: changelog, partition: 1 }), 4n)
  t.same(runs.filter(r => r.partition === 0).flatMap(r => r.entries.map(e => text(e.key))), ['k0-1', 'k1-0', 'k1-1', 'k2-0', 'k2-1'], 'entries from offset 1')
  t.same(runs.filter(r => r.partition === 1).flatMap(r => r.entries.map(e => text(e.value))), ['committed'], 'entries: aborted record never returned')

  // restart from the middle; unassign one partition
  reader.unassign([{ topic: changelog, partition: 1 }])
  reader.assign([{ topic: changelog, partition: 0, offset: 4n }])
  const tail = await pollUntil(reader, () => reader.position({ topic: changelog, partition: 0 }) >= 9n)
  t.same(tail.map(r => text(r.key)), ['k1-1', 'k2-0', 'k2-1'])
  t.same(await reader.poll(200), [], 'nothing past the end')
})
