// Prometheus metrics of the engine, on the registry the application is given. Counters are
// incremented per poll/commit batch, not per record, so the hot path stays cheap.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { ProducerRecord } from '../../log/log-port.ts'
import { StoreMetrics } from '../../stores/store-metrics.ts'

function getOrCreate<M> (registry: Registry, name: string, create: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create()
}

export class EngineMetrics {
  readonly recordsIn: Counter<'topic' | 'task'>
  readonly recordsOut: Counter<'topic' | 'task'>
  readonly commitDuration: Histogram<'guarantee'>
  readonly commits: Counter<'result'>
  readonly processingDuration: Histogram<'task'>
  readonly endToEndLatency: Histogram<'topic'>
  readonly consumerLag: Gauge<'topic' | 'partition'>
  readonly activeTasks: Gauge
  readonly state: Gauge<'state'>
  readonly rebalances: Counter
  readonly rebalanceTasksRevoked: Histogram<'protocol'>
  readonly tasksSuspended: Counter<'task'>
  readonly taskRestoreDuration: Histogram
  readonly tasksMigrated: Counter<'reason'>
  readonly tasksCorrupted: Counter<'reason'>
  readonly producersReplaced: Counter<'reason'>
  readonly productionExceptions: Counter<'topic' | 'code' | 'response'>
  readonly threadsReplaced: Counter
  readonly threadsAlive: Gauge
  readonly standbyTasks: Gauge
  readonly standbyLag: Gauge<'task'>
  /** Changelog records applied to standby and warm-up tasks' stores (Kafka Streams' KIP-869
   *  update-total): its rate is how fast standbys follow, or a cold start's copies catch up. */
  readonly standbyRestoreRecords: Counter
  readonly stores: StoreMetrics
  /** Records processors dropped on purpose: late records of windows, stale foreign-key join
   *  answers (runtime/dropped-records.ts). */
  readonly droppedRecords: Counter<'task' | 'processor'>
  /** Purges of repartition topics after commits (runtime/repartition-purger.ts), by result. */
  readonly repartitionPurges: Counter<'result'>

  constructor (registry: Registry, prefix = 'streams_') {
    const registers = [registry]
    this.recordsIn = getOrCreate(registry, `${prefix}records_consumed_total`, () => new Counter({ name: `${prefix}records_consumed_total`, help: 'Input records processed, per topic and task', labelNames: ['topic', 'task'], registers }))
    this.recordsOut = getOrCreate(registry, `${prefix}records_produced_total`, () => new Counter({ name: `${prefix}records_produced_total`, help: 'Records committed to output and changelog topics, per topic and task', labelNames: ['topic', 'task'], registers }))
    this.commitDuration = getOrCreate(registry, `${prefix}commit_duration_seconds`, () => new Histogram({ name: `${prefix}commit_duration_seconds`, help: 'Commit latency (transaction or produce + offset commit)', labelNames: ['guarantee'], registers, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] }))
    this.commits = getOrCreate(registry, `${prefix}commits_total`, () => new Counter({ name: `${prefix}commits_total`, help: 'Commits by result (committed, aborted, fenced, unknown)', labelNames: ['result'], registers }))
    this.processingDuration = getOrCreate(registry, `${prefix}processing_batch_duration_seconds`, () => new Histogram({ name: `${prefix}processing_batch_duration_seconds`, help: 'Time to process one batch of records of a task', labelNames: ['task'], registers, buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5] }))
    this.endToEndLatency = getOrCreate(registry, `${prefix}end_to_end_latency_seconds`, () => new Histogram({ name: `${prefix}end_to_end_latency_seconds`, help: 'From an input record timestamp to the commit of its results', labelNames: ['topic'], registers, buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] }))
    this.consumerLag = getOrCreate(registry, `${prefix}consumer_lag_records`, () => new Gauge({ name: `${prefix}consumer_lag_records`, help: 'Records between the committed position and the end of each input partition', labelNames: ['topic', 'partition'], registers }))
    this.activeTasks = getOrCreate(registry, `${prefix}active_tasks`, () => new Gauge({ name: `${prefix}active_tasks`, help: 'Tasks running on this instance', registers }))
    this.state = getOrCreate(registry, `${prefix}application_state`, () => new Gauge({ name: `${prefix}application_state`, help: '1 for the current state of the stream application', labelNames: ['state'], registers }))
    this.rebalances = getOrCreate(registry, `${prefix}rebalances_total`, () => new Counter({ name: `${prefix}rebalances_total`, help: 'Partition assignments received', registers }))
    // Incremental rebalancing (docs/engine.md "Group protocol and rebalancing"): eager revokes
    // every task at every rebalance, cooperative only the ones that move away.
    this.rebalanceTasksRevoked = getOrCreate(registry, `${prefix}rebalance_tasks_revoked`, () => new Histogram({ name: `${prefix}rebalance_tasks_revoked`, help: 'Active tasks this instance revoked per rebalance (observed at each assignment), by rebalance protocol', labelNames: ['protocol'], registers, buckets: [0, 1, 2, 4, 8, 16, 32, 64, 128] }))
    this.tasksSuspended = getOrCreate(registry, `${prefix}tasks_suspended_total`, () => new Counter({ name: `${prefix}tasks_suspended_total`, help: 'Running active tasks suspended by a rebalance (processing and queries stop), per task', labelNames: ['task'], registers }))
    // From a task's creation to its stores restored: seconds for a checkpointed restart, minutes
    // for a wiped instance restoring large changelogs.
    this.taskRestoreDuration = getOrCreate(registry, `${prefix}task_restore_duration_seconds`, () => new Histogram({ name: `${prefix}task_restore_duration_seconds`, help: 'Time for a task to restore its state stores from their changelogs before it runs', registers, buckets: [0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800] }))
    // Recoveries (docs/engine.md "Faults and recovery"): each one absorbed a fault.
    this.tasksMigrated = getOrCreate(registry, `${prefix}tasks_migrated_total`, () => new Counter({ name: `${prefix}tasks_migrated_total`, help: 'Tasks closed dirty and rebuilt because the producer was fenced or lost its sequence state, or the group generation was stale, by protocol error', labelNames: ['reason'], registers }))
    this.tasksCorrupted = getOrCreate(registry, `${prefix}tasks_corrupted_total`, () => new Counter({ name: `${prefix}tasks_corrupted_total`, help: 'Tasks restored from their changelogs after a transaction of unknown outcome, by reason', labelNames: ['reason'], registers }))
    this.producersReplaced = getOrCreate(registry, `${prefix}producers_replaced_total`, () => new Counter({ name: `${prefix}producers_replaced_total`, help: 'Producers closed and created again (migrated, corrupted, refused)', labelNames: ['reason'], registers }))
    this.productionExceptions = getOrCreate(registry, `${prefix}production_exceptions_total`, () => new Counter({ name: `${prefix}production_exceptions_total`, help: 'Output records the broker refused, by output topic, broker error and the production exception handler\'s response', labelNames: ['topic', 'code', 'response'], registers }))
    this.threadsReplaced = getOrCreate(registry, `${prefix}stream_threads_replaced_total`, () => new Counter({ name: `${prefix}stream_threads_replaced_total`, help: 'Stream threads that died and were replaced (REWARDS_ON_STREAM_ERROR=replace-thread)', registers }))
    this.threadsAlive = getOrCreate(registry, `${prefix}stream_threads_alive`, () => new Gauge({ name: `${prefix}stream_threads_alive`, help: 'Stream threads running (0: none; /health/live fails)', registers }))
    // Standby and warm-up tasks (docs/engine.md "Standby tasks"): how far behind their changelogs.
    this.standbyTasks = getOrCreate(registry, `${prefix}standby_tasks`, () => new Gauge({ name: `${prefix}standby_tasks`, help: 'Standby and warm-up tasks on this instance', registers }))
    this.standbyLag = getOrCreate(registry, `${prefix}standby_lag_records`, () => new Gauge({ name: `${prefix}standby_lag_records`, help: 'Changelog offsets a standby or warm-up task is behind the changelog ends, per task', labelNames: ['task'], registers }))
    this.standbyRestoreRecords = getOrCreate(registry, `${prefix}standby_restore_records_total`, () => new Counter({ name: `${prefix}standby_restore_records_total`, help: 'Changelog records applied to standby and warm-up tasks\' stores', registers }))
    this.droppedRecords = getOrCreate(registry, `${prefix}dropped_records_total`, () => new Counter({ name: `${prefix}dropped_records_total`, help: 'Records dropped by a processor on purpose (late records past a window\'s grace period, stale foreign-key join answers), per task and processor', labelNames: ['task', 'processor'], registers }))
    this.repartitionPurges = getOrCreate(registry, `${prefix}repartition_purges_total`, () => new Counter({ name: `${prefix}repartition_purges_total`, help: 'Purges of repartition topics (records below the committed offsets deleted), by result (ok, failed)', labelNames: ['result'], registers }))
    this.stores = new StoreMetrics(registry, { prefix })
  }
}

/** After a commit: records out per topic and task (`taskOf` a record's index), and the
 *  end-to-end latency of the slowest record of each topic, from its (event) timestamp. */
export function observeCommitted (metrics: EngineMetrics, committedAt: number, records: readonly ProducerRecord[], taskOf: (index: number) => string): void {
  const oldestByTopic = new Map<string, number>()
  const countsByTask = new Map<string, Map<string, number>>()
  // Records come in runs of one task and topic (a task's outputs, then its changelog records):
  // the maps are updated once per run, not per record (this was a Map get + set per record twice).
  let runTask: string | undefined
  let runTopic: string | undefined
  let runCount = 0
  let runOldest = Number.POSITIVE_INFINITY
  const endRun = (): void => {
    if (runTask === undefined || runTopic === undefined) return
    let counts = countsByTask.get(runTask)
    if (counts === undefined) countsByTask.set(runTask, counts = new Map())
    counts.set(runTopic, (counts.get(runTopic) ?? 0) + runCount)
    const oldest = oldestByTopic.get(runTopic)
    if (oldest === undefined || runOldest < oldest) oldestByTopic.set(runTopic, runOldest)
  }
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!
    const task = taskOf(i)
    if (task !== runTask || r.topic !== runTopic) {
      endRun()
      runTask = task
      runTopic = r.topic
      runCount = 0
      runOldest = Number.POSITIVE_INFINITY
    }
    runCount++
    if (r.timestamp !== undefined && r.timestamp < runOldest) runOldest = r.timestamp
  }
  endRun()
  for (const [task, byTopic] of countsByTask) for (const [topic, n] of byTopic) metrics.recordsOut.inc({ topic, task }, n)
  for (const [topic, oldest] of oldestByTopic) {
    if (Number.isFinite(oldest)) metrics.endToEndLatency.observe({ topic }, Math.max(0, committedAt - oldest) / 1000)
  }
}
