// The processor's share of the memory budget (REWARDS_MEMORY_BUDGET_MIB, lib/memory-budget.ts):
// the stream thread's cache and each RocksDB instance's block cache and memtables, and the
// metrics operators read to see where the memory goes (docs/metrics.md "Memory"). V8's cap and
// the malloc arenas are the launcher's (cli/memory-launch.ts): here they are only reported.
import { getHeapStatistics } from 'node:v8'
import { Gauge, type Registry } from 'prom-client'
import type { RewardsConfig } from '../../lib/config.ts'
import { bufferedRecordsPerPartition, DEFAULT_MEMORY_BUDGET_MIB, memoryBudget, rocksDbPerStore } from '../../lib/memory-budget.ts'
import { rocksDbMemoryByStore } from '../../stores/rocksdb-store.ts'
import type { Topology } from '../../topology/topology.ts'
import type { StreamsConfig } from '../../topology/runtime/streams-config.ts'

const MIB = 1024 * 1024

export interface ProcessorMemory {
  readonly streams: Pick<StreamsConfig, 'cacheMaxBytes' | 'rocksDbBlockCacheBytesPerStore' | 'rocksDbMemtableBytesPerStore' | 'bufferedRecordsPerPartition' | 'maxPendingOutputBytes'>
  /** For the start-up log line. */
  readonly summary: {
    readonly budgetMib: number
    readonly v8HeapLimitMib: number
    readonly cacheMib: number
    readonly rocksDbInstances: number
    readonly rocksDbBlockCacheKibPerStore: number
    readonly rocksDbMemtableKibPerStore: number
    readonly bufferedRecordsPerPartition: number
  }
}

/** The streams options of the budget: RocksDB's share divided by the instances this process may
 *  open, every persistent store of the topology on every partition (one instance holds all the
 *  tasks when it runs alone), and the input records' share by the source partitions it may read.
 *  Registers the memory metrics on `registry`. */
export function processorMemoryConfig (config: Pick<RewardsConfig, 'memoryBudgetMib' | 'partitions'>, topology: Pick<Topology, 'storeDefinitions' | 'sourceNodes'>, registry: Registry): ProcessorMemory {
  const budget = memoryBudget(config.memoryBudgetMib ?? DEFAULT_MEMORY_BUDGET_MIB)
  const instances = topology.storeDefinitions().filter(d => d.kind === 'rocksdb').length * config.partitions
  const perStore = rocksDbPerStore(budget.rocksDbBytes, instances)
  const buffered = bufferedRecordsPerPartition(budget.inputRecordsBytes, topology.sourceNodes().reduce((n, source) => n + source.topics.length, 0) * config.partitions)
  const heapLimit = getHeapStatistics().heap_size_limit
  registerMemoryMetrics(registry, { total: budget.budgetMib * MIB, v8_heap_limit: heapLimit, cache: budget.cacheMaxBytes, rocksdb: budget.rocksDbBytes, input_records: budget.inputRecordsBytes, pending_outputs: budget.pendingOutputsBytes })
  return {
    streams: { cacheMaxBytes: budget.cacheMaxBytes, rocksDbBlockCacheBytesPerStore: perStore.blockCacheBytes, rocksDbMemtableBytesPerStore: perStore.memtableBudgetBytes, bufferedRecordsPerPartition: buffered, maxPendingOutputBytes: budget.pendingOutputsBytes },
    summary: {
      budgetMib: budget.budgetMib,
      v8HeapLimitMib: Math.round(heapLimit / MIB),
      cacheMib: budget.cacheMaxBytes / MIB,
      rocksDbInstances: instances,
      rocksDbBlockCacheKibPerStore: perStore.blockCacheBytes / 1024,
      rocksDbMemtableKibPerStore: perStore.memtableBudgetBytes / 1024,
      bufferedRecordsPerPartition: buffered
    }
  }
}

/** rewards_memory_budget_bytes{part}: the budget and its caps (v8_heap_limit is what V8 really
 *  has: the launcher's cap plus the young generation). rewards_rocksdb_memory_bytes{store,kind}:
 *  RocksDB's own figures summed over the open instances of each store, read at scrape time.
 *  Process RSS and the V8 heap are prom-client's default metrics (process_resident_memory_bytes,
 *  nodejs_heap_size_used_bytes, nodejs_external_memory_bytes). */
export function registerMemoryMetrics (registry: Registry, parts: Record<string, number>): void {
  if (registry.getSingleMetric('rewards_memory_budget_bytes') === undefined) {
    const budget = new Gauge({ name: 'rewards_memory_budget_bytes', help: 'Memory budget of the process (REWARDS_MEMORY_BUDGET_MIB) and its caps, by part', labelNames: ['part'], registers: [registry] })
    for (const [part, bytes] of Object.entries(parts)) budget.set({ part }, bytes)
  }
  if (registry.getSingleMetric('rewards_rocksdb_memory_bytes') === undefined) {
    new Gauge({
      name: 'rewards_rocksdb_memory_bytes',
      help: 'RocksDB memory of the open instances of a store (all tasks), by kind: block_cache, memtables, table_readers',
      labelNames: ['store', 'kind'],
      registers: [registry],
      collect () {
        this.reset()
        for (const [store, m] of rocksDbMemoryByStore()) {
          this.set({ store, kind: 'block_cache' }, m.blockCacheBytes)
          this.set({ store, kind: 'memtables' }, m.memtableBytes)
          this.set({ store, kind: 'table_readers' }, m.tableReaderBytes)
        }
      }
    })
  }
  if (registry.getSingleMetric('rewards_rocksdb_open_instances') === undefined) {
    new Gauge({
      name: 'rewards_rocksdb_open_instances',
      help: 'RocksDB instances open in this process, per store (one per task)',
      labelNames: ['store'],
      registers: [registry],
      collect () {
        this.reset()
        for (const [store, m] of rocksDbMemoryByStore()) this.set({ store }, m.instances)
      }
    })
  }
}
