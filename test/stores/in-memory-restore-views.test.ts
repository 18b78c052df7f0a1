// An in-memory store restored from Kafka keeps its own copies of the values: a restore's entries
// are views of the fetch response (log/kafka/kafka-entry-fetch.ts, up to 8 MiB per partition), and
// a kept view would keep the whole response resident for as long as the value lives.
import t from 'tap'
import { InMemoryStore, COPY_VIEWS_OF_BYTES } from '../../stores/in-memory-store.ts'
import { kafkaLog, settledEnds, unique } from '../log/kafka/kafka-test-helpers.ts'
import type { PartitionEntry } from '../../log/log-port.ts'

const RECORDS = 3000

t.test('values restored from a fetch response are copied out of it', async t => {
  const changelog = unique('in-memory-restore-views')
  const log = await kafkaLog(t, [{ name: changelog, partitions: 1, config: { 'cleanup.policy': 'compact' } }])
  const producer = await log.createProducer({ clientId: 'task', transactionalId: unique('task') })
  t.teardown(() => producer.close())
  const value = (i: number): string => `value-${i}-`.padEnd(100, 'x')
  await producer.commitTransaction({ records: Array.from({ length: RECORDS }, (_, i) => ({ topic: changelog, partition: 0, key: Buffer.from(`k${i}`), value: Buffer.from(value(i)) })) })
  const [end] = await settledEnds(log, [{ topic: changelog, partition: 0, atLeast: BigInt(RECORDS + 1) }])

  const reader = log.createPartitionReader({ clientId: 'restore' })
  t.teardown(() => reader.close())
  reader.assign([{ topic: changelog, partition: 0, offset: 0n }])
  const entries: PartitionEntry[] = []
  for (let i = 0; i < 150 && reader.position(end!) < end!.offset; i++) for (const run of await reader.pollEntries!(200)) entries.push(...run.entries)
  t.equal(entries.length, RECORDS)
  t.ok(entries.some(e => e.value!.buffer.byteLength >= COPY_VIEWS_OF_BYTES), 'the fetch hands out views of a large response (what the store must not keep)')

  const store = new InMemoryStore('restored')
  await store.open('')
  t.teardown(() => store.close())
  store.writeSync(entries)
  for (let i = 0; i < RECORDS; i++) {
    const kept = store.get(Buffer.from(`k${i}`))!
    if (kept.toString() !== value(i) || kept.buffer.byteLength >= COPY_VIEWS_OF_BYTES) {
      t.fail(`k${i}: ${kept.toString().slice(0, 20)}… in a backing store of ${kept.buffer.byteLength} bytes`)
      return
    }
  }
  t.pass('every value kept in a backing store of its own size (or Node\'s pool)')

  // A value written by the processor (no view) is kept as it is: no copy on the hot path.
  const own = Buffer.from('own value')
  store.writeSync([{ key: Buffer.from('k0'), value: own }])
  t.equal(store.get(Buffer.from('k0')), own)
})
