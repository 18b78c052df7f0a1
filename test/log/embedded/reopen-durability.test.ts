import t from 'tap'
import { openEmbeddedLog } from '../../../log/embedded/index.ts'
import { createRocksDatabase, readRange } from '../../../log/embedded/rocks-database.ts'
import { buf, pollUntil, tempDir, text } from './helpers.ts'

t.test('topics, configs, records, end offsets and committed offsets survive close and reopen', async t => {
  const dir = await tempDir(t)
  const first = await openEmbeddedLog({ dir })
  await first.admin.createTopics([{ name: 'events', partitions: 2 }, { name: 'gone', partitions: 1 }])
  const producer = await first.createProducer({ clientId: 'p' })
  await producer.send([{ topic: 'events', partition: 1, key: buf('a'), value: buf('1'), headers: { trace: buf('t1') }, timestamp: 42 }])
  await producer.send([{ topic: 'gone', key: buf('x'), value: buf('y') }])
  await first.admin.alterCommittedOffsets('app', [{ topic: 'events', partition: 1, offset: 1n }])
  await first.admin.deleteTopics(['gone'])
  await first.close()
  await t.rejects(first.admin.listTopics(), { code: 'LOG_CLOSED' })

  const raw = createRocksDatabase(dir)
  await raw.open({ createIfMissing: false })
  const records = await readRange(raw, { gte: Buffer.from('R'), lt: Buffer.from('S') })
  t.equal(records.length, 1, 'the deleted topic\'s records are gone from disk')
  await raw.close()

  const second = await openEmbeddedLog({ dir })
  t.teardown(() => second.close())
  t.same(await second.admin.listTopics(), ['events'])
  t.same(await second.admin.describeTopics(['events']), [{ name: 'events', partitions: 2 }])
  t.same(await second.admin.listOffsets([{ topic: 'events', partition: 1 }], 'latest'), [{ topic: 'events', partition: 1, offset: 1n }])
  t.same(await second.admin.listCommittedOffsets('app', [{ topic: 'events', partition: 1 }]), [{ topic: 'events', partition: 1, offset: 1n }])
  const reader = second.createPartitionReader({ clientId: 'r' })
  reader.assign([{ topic: 'events', partition: 1, offset: 0n }])
  const [record] = await pollUntil(ms => reader.poll(ms), 1)
  t.equal(text(record!.value), '1')
  t.equal(record!.timestamp, 42)
  t.equal(text(record!.headers.trace ?? null), 't1')
  const producer2 = await second.createProducer({ clientId: 'p' })
  t.same(await producer2.send([{ topic: 'events', partition: 1, key: null, value: null }]), [{ topic: 'events', partition: 1, offset: 1n }], 'offsets continue')
  await reader.close()
})
