// Store metrics go to the registry passed in, with store and task labels, and a task's series go
// away with the task.
import t from 'tap'
import { Registry, register as globalRegistry } from 'prom-client'
import { StoreMetrics } from '../../stores/store-metrics.ts'
import { RocksDbStore } from '../../stores/rocksdb-store.ts'

t.test('store metrics on a given registry', async t => {
  const registry = new Registry()
  const metrics = new StoreMetrics(registry)
  metrics.setEntries('0_3', 'balances', 42)
  metrics.setSizeBytes('0_3', 'balances', 4096)
  metrics.restored('0_3', 'balances', 100, 900)
  metrics.restored('0_3', 'balances', 900, 0)
  metrics.observeFlush('0_3', 'balances', 3)
  await metrics.timeFlush('0_4', 'balances', async () => {})

  const text = await registry.metrics()
  t.match(text, /streams_store_entries\{store="balances",task="0_3"\} 42/)
  t.match(text, /streams_store_size_bytes\{store="balances",task="0_3"\} 4096/)
  t.match(text, /streams_store_restore_records_total\{store="balances",task="0_3"\} 1000/)
  t.match(text, /streams_store_restore_remaining_records\{store="balances",task="0_3"\} 0/)
  t.match(text, /streams_store_flush_duration_seconds_count\{store="balances",task="0_3"\} 1/)
  t.match(text, /streams_store_flush_duration_seconds_count\{store="balances",task="0_4"\} 1/)
  t.equal(globalRegistry.getSingleMetric('streams_store_entries'), undefined, 'nothing on the global registry')

  t.doesNotThrow(() => new StoreMetrics(registry), 'a second instance on the same registry reuses the metrics')

  metrics.removeTask('0_3')
  const after = await registry.metrics()
  t.notMatch(after, /task="0_3"/)
  t.match(after, /task="0_4"/)
})

t.test('a RocksDB store estimates its size in bytes, growing with what it holds', async t => {
  const store = new RocksDbStore('sized')
  await store.open(t.testdir({}))
  const empty = store.approximateSizeBytes()
  t.ok(empty >= 0, `empty: ${empty} bytes`)
  await store.write(Array.from({ length: 2000 }, (_, i) => ({ key: Buffer.from(`member-${i}`), value: Buffer.alloc(200, i % 256) })))
  const full = store.approximateSizeBytes()
  t.ok(full >= empty + 2000 * 200 / 2, `2000 values of 200 bytes: ${full} bytes`)
  await store.close() // before tap removes the test directory
})
