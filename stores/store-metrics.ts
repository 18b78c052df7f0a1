// Prometheus metrics of the state stores, registered on the registry the caller passes (never on
// prom-client's global registry at import time). Labels: `store` (store name) and `task` (0_3).
// The runtime updates them; nothing here runs on the per-record path.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

type Labels = 'store' | 'task'

export interface StoreMetricsOptions {
  /** Metric name prefix (default "streams_"). */
  readonly prefix?: string
  /** Flush latency buckets, seconds. */
  readonly flushBuckets?: number[]
}

const DEFAULT_FLUSH_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

function getOrCreate<M> (registry: Registry, name: string, create: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create()
}

export class StoreMetrics {
  /** Entries per store and task (approximateNumEntries, sampled by the runtime). */
  readonly storeEntries: Gauge<Labels>
  /** Estimated bytes per store and task (RocksDB live data + memtables, sampled by the runtime). */
  readonly storeSize: Gauge<Labels>
  /** Changelog records applied while restoring. */
  readonly restoreRecords: Counter<Labels>
  /** Changelog records still to restore (end offset − position); 0 when restored. */
  readonly restoreRemaining: Gauge<Labels>
  /** Duration of a store's commit-time flush (applyFlushed), seconds. */
  readonly flushDuration: Histogram<Labels>
  /** store names seen per task, so removeTask() can drop their series. */
  readonly #storesByTask = new Map<string, Set<string>>()

  constructor (registry: Registry, options: StoreMetricsOptions = {}) {
    const prefix = options.prefix ?? 'streams_'
    const registers = [registry]
    const labelNames: Labels[] = ['store', 'task']
    this.storeEntries = getOrCreate(registry, `${prefix}store_entries`, () => new Gauge({
      name: `${prefix}store_entries`, help: 'Approximate number of entries in a state store, per task', labelNames, registers
    }))
    this.storeSize = getOrCreate(registry, `${prefix}store_size_bytes`, () => new Gauge({
      name: `${prefix}store_size_bytes`, help: 'Estimated size of a state store (RocksDB live data and memtables), per task', labelNames, registers
    }))
    this.restoreRecords = getOrCreate(registry, `${prefix}store_restore_records_total`, () => new Counter({
      name: `${prefix}store_restore_records_total`, help: 'Changelog records restored into a state store', labelNames, registers
    }))
    this.restoreRemaining = getOrCreate(registry, `${prefix}store_restore_remaining_records`, () => new Gauge({
      name: `${prefix}store_restore_remaining_records`, help: 'Changelog records left to restore into a state store', labelNames, registers
    }))
    this.flushDuration = getOrCreate(registry, `${prefix}store_flush_duration_seconds`, () => new Histogram({
      name: `${prefix}store_flush_duration_seconds`, help: 'Time to apply a committed batch of writes to a state store', labelNames, registers, buckets: options.flushBuckets ?? DEFAULT_FLUSH_BUCKETS
    }))
  }

  setEntries (task: string, store: string, entries: number): void {
    this.#track(task, store)
    this.storeEntries.set({ store, task }, entries)
  }

  setSizeBytes (task: string, store: string, bytes: number): void {
    this.#track(task, store)
    this.storeSize.set({ store, task }, bytes)
  }

  restored (task: string, store: string, records: number, remaining: number): void {
    this.#track(task, store)
    if (records > 0) this.restoreRecords.inc({ store, task }, records)
    this.restoreRemaining.set({ store, task }, Math.max(0, remaining))
  }

  /** Records a flush that took `durationMs`. */
  observeFlush (task: string, store: string, durationMs: number): void {
    this.#track(task, store)
    this.flushDuration.observe({ store, task }, durationMs / 1000)
  }

  /** Times `fn` (a store's applyFlushed) into the flush histogram. */
  async timeFlush<T> (task: string, store: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now()
    try {
      return await fn()
    } finally {
      this.observeFlush(task, store, performance.now() - start)
    }
  }

  /** Drops a task's series (the task moved to another instance). */
  removeTask (task: string): void {
    const stores = this.#storesByTask.get(task)
    if (stores === undefined) return
    this.#storesByTask.delete(task)
    for (const store of stores) {
      const labels = { store, task }
      this.storeEntries.remove(labels)
      this.storeSize.remove(labels)
      this.restoreRecords.remove(labels)
      this.restoreRemaining.remove(labels)
      this.flushDuration.remove(labels)
    }
  }

  #track (task: string, store: string): void {
    let stores = this.#storesByTask.get(task)
    if (stores === undefined) {
      stores = new Set()
      this.#storesByTask.set(task, stores)
    }
    stores.add(store)
  }
}
