// Store metrics go to the registry passed in, with store and task labels, and a task's series go
// away with the task.
import t from 'tap'
import { Registry, register as globalRegistry } from 'prom-client'
import { StoreMetrics } from '../../stores/store-metrics.ts'

t.test('store metrics on a given registry', async t => {
  const registry = new Registry()
  const metrics = new StoreMetrics(registry)
  metrics.setEntries('0_3', 'balances', 42)
  metrics.restored('0_3', 'balances', 100, 900)
  metrics.restored('0_3', 'balances', 900, 0)
  metrics.observeFlush('0_3', 'balances', 3)
  await metrics.timeFlush('0_4', 'balances', async () => {})

  const text = await registry.metrics()
  t.match(text, /rewards_store_entries\{store="balances",task="0_3"\} 42/)
  t.match(text, /rewards_store_restore_records_total\{store="balances",task="0_3"\} 1000/)
  t.match(text, /rewards_store_restore_remaining_records\{store="balances",task="0_3"\} 0/)
  t.match(text, /rewards_store_flush_duration_seconds_count\{store="balances",task="0_3"\} 1/)
  t.match(text, /rewards_store_flush_duration_seconds_count\{store="balances",task="0_4"\} 1/)
  t.equal(globalRegistry.getSingleMetric('rewards_store_entries'), undefined, 'nothing on the global registry')

  t.doesNotThrow(() => new StoreMetrics(registry), 'a second instance on the same registry reuses the metrics')

  metrics.removeTask('0_3')
  const after = await registry.metrics()
  t.notMatch(after, /task="0_3"/)
  t.match(after, /task="0_4"/)
})
