// Prometheus metrics of the consumer runner (consumer-runner.ts), one series set per consumer
// group (label `group`), named like the engine's other metrics (engine-metrics.ts: the same
// prefix, `<prefix>consumer_runner_*`). Listed in docs/metrics.md.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

function getOrCreate<M> (registry: Registry, name: string, create: () => M): M {
  // A second runner on the same registry (another group, or tests): reuse the metric.
  return (registry.getSingleMetric(name) as M | undefined) ?? create()
}

export class ConsumerRunnerMetrics {
  /** result: handled | retried | gave_up (the retry policy ran out and skipped them) | failed (stop). */
  readonly batches: Counter<'group' | 'result'>
  readonly recordsHandled: Counter<'group'>
  /** stage: poll | handle | commit | lag. */
  readonly errors: Counter<'group' | 'stage'>
  readonly batchDuration: Histogram<'group'>
  /** Committed offset to the end of each assigned partition. */
  readonly lag: Gauge<'group' | 'topic' | 'partition'>
  readonly pausedPartitions: Gauge<'group'>
  /** Polled and not yet handled (buffered or in the handler). */
  readonly pendingRecords: Gauge<'group'>

  constructor (registry: Registry, prefix = 'streams_') {
    const registers = [registry]
    const n = (name: string): string => `${prefix}consumer_runner_${name}`
    this.batches = getOrCreate(registry, n('batches_total'), () => new Counter({ name: n('batches_total'), help: 'Batches the consumer runner handed to its handler, by result (handled, retried, gave_up, failed)', labelNames: ['group', 'result'], registers }))
    this.recordsHandled = getOrCreate(registry, n('records_handled_total'), () => new Counter({ name: n('records_handled_total'), help: 'Records whose handler finished them durably (their offsets may be committed)', labelNames: ['group'], registers }))
    this.errors = getOrCreate(registry, n('errors_total'), () => new Counter({ name: n('errors_total'), help: 'Consumer runner failures by stage (poll, handle, commit, lag): each one retried or waited out', labelNames: ['group', 'stage'], registers }))
    this.batchDuration = getOrCreate(registry, n('batch_duration_seconds'), () => new Histogram({ name: n('batch_duration_seconds'), help: 'Time the handler took for one batch (one attempt)', labelNames: ['group'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers }))
    this.lag = getOrCreate(registry, n('lag_records'), () => new Gauge({ name: n('lag_records'), help: 'Records between the committed offset and the end of each assigned partition', labelNames: ['group', 'topic', 'partition'], registers }))
    this.pausedPartitions = getOrCreate(registry, n('paused_partitions'), () => new Gauge({ name: n('paused_partitions'), help: 'Assigned partitions paused: the handler is full or failing', labelNames: ['group'], registers }))
    this.pendingRecords = getOrCreate(registry, n('pending_records'), () => new Gauge({ name: n('pending_records'), help: 'Records polled and not yet handled (buffered, or in the handler)', labelNames: ['group'], registers }))
  }
}
