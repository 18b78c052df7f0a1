import t from 'tap'
import { openEmbeddedLog } from '../../../log/embedded/index.ts'
import { buf, pollUntil, tempDir, text } from './helpers.ts'

t.test('compaction keeps the latest record of every key, offsets and end offset unchanged; other topics untouched', async t => {
  const dir = await tempDir(t)
  const log = await openEmbeddedLog({ dir, compactionMinDirtyRecords: 1_000_000 })
  t.teardown(() => log.close())
  await log.admin.createTopics([{ name: 'changelog', partitions: 1, config: { 'cleanup.policy': 'compact' } }, { name: 'events', partitions: 1 }])
  const producer = await log.createProducer({ clientId: 'p' })
  const records = []
  for (let round = 0; round < 5; round++) {
    for (const key of ['a', 'b', 'c']) records.push({ topic: 'changelog', key: buf(key), value: buf(`${key}${round}`) })
  }
  records.push({ topic: 'changelog', key: buf('b'), value: null }) // tombstone, offset 15
  records.push({ topic: 'changelog', key: null, value: buf('keyless') }) // offset 16
  await producer.send(records)
  await producer.send(records.map(r => ({ ...r, topic: 'events' })))

  t.equal(await log.compact({ topic: 'changelog', partition: 0 }), 13, 'removed every superseded record (17 - the 4 kept)')
  t.equal(await log.compact({ topic: 'events', partition: 0 }), 0, 'a topic without cleanup.policy=compact is never compacted')
  t.same(await log.admin.listOffsets([{ topic: 'changelog', partition: 0 }], 'latest'), [{ topic: 'changelog', partition: 0, offset: 17n }], 'end offset unchanged')

  const reader = log.createPartitionReader({ clientId: 'restore' })
  reader.assign([{ topic: 'changelog', partition: 0, offset: 0n }])
  const restored = await pollUntil(ms => reader.poll(ms), 4)
  t.same(restored.map(r => [r.offset, text(r.key), text(r.value)]), [[12n, 'a', 'a4'], [14n, 'c', 'c4'], [15n, 'b', null], [16n, null, 'keyless']], 'latest of each key, the last tombstone, the keyless record')
  t.equal(reader.position({ topic: 'changelog', partition: 0 }), 17n, 'position passes the gaps to the end')
  t.same(await reader.poll(0), [])
  reader.assign([{ topic: 'events', partition: 0, offset: 0n }])
  reader.unassign([{ topic: 'changelog', partition: 0 }])
  t.equal((await pollUntil(ms => reader.poll(ms), 17)).length, 17, 'the plain topic kept everything')
  await reader.close()

  const [next] = await producer.send([{ topic: 'changelog', key: buf('a'), value: buf('a5') }])
  t.equal(next!.offset, 17n, 'appends go on after the end')
})

t.test('compaction runs in the background once enough records were appended', async t => {
  const dir = await tempDir(t)
  const log = await openEmbeddedLog({ dir, compactionMinDirtyRecords: 100 })
  t.teardown(() => log.close())
  await log.admin.createTopics([{ name: 'changelog', partitions: 1, config: { 'cleanup.policy': 'compact' } }])
  const producer = await log.createProducer({ clientId: 'p' })
  for (let i = 0; i < 3; i++) {
    await producer.send(Array.from({ length: 50 }, (_, j) => ({ topic: 'changelog', key: buf(`k${j % 5}`), value: buf(`${i}-${j}`) })))
    await log.compactionIdle()
  }
  // The second send reached the threshold (100 dirty records): the first 100 records were
  // compacted to the 5 latest; the third send's 50 are not due yet (50 < 100).
  await log.compactionIdle()
  const reader = log.createPartitionReader({ clientId: 'r' })
  reader.assign([{ topic: 'changelog', partition: 0, offset: 0n }])
  const left = []
  while (reader.position({ topic: 'changelog', partition: 0 }) < 150n) left.push(...await reader.poll(100))
  t.equal(left.length, 55)
  t.same(left.slice(0, 5).map(r => text(r.value)), ['1-45', '1-46', '1-47', '1-48', '1-49'], 'only the latest of each key among the compacted ones')
  t.same(left.slice(0, 5).map(r => r.offset), [95n, 96n, 97n, 98n, 99n])
  await reader.close()
})
