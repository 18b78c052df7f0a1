// One memory budget for a `rewards start` process (REWARDS_MEMORY_BUDGET_MIB, docs/engine.md
// "Memory budget"), split into the caps each part of the process understands. Measured at 1M
// members and 2M dedupe entries (docs/benchmarks.md "Memory"): without caps the processor peaked
// at 814 MiB, and the parts that moved it were, in order, V8's heap (sized against the machine's
// RAM: garbage piles up, 477 MiB reserved for 124 MiB live; Node 24 lets the young generation
// alone grow to 3 × 64 MiB), glibc's malloc arenas (one per RocksDB background thread, their free
// pages stay resident) and the stream thread's cache budget. RocksDB's block caches and memtables
// are a small part at these sizes.
//
// The split of a budget B (MiB), each part with a floor:
// - V8 old space: B/2 (256 MiB at 512). 3/8 (192 MiB) cost the processor role 1.7× CPU per record
//   in major GCs (docs/benchmarks.md "Memory"); at 256 MiB none measurable.
// - V8 initial old space: half the old space (128 MiB at 512): a fresh process's heap grows to
//   ~70 MB while a cold start restores, and from V8's small initial limit it ran ~8 mark-compacts
//   on the way (its workers' concurrent marking ~a third of their CPU in the restore's span);
//   starting at 128 MiB it runs ~1 there (docs/benchmarks.md "Cold start, tenth pass", "Cold
//   start, twelfth pass (branch coldgc12)"). It only moves V8's first limits: pages are touched
//   as the heap grows.
// - V8 semi-space: B/64 between 8 and 64 MiB (8 MiB at 512): the young generation then reserves
//   24 MiB instead of 192 (V8's own); 16 MiB measured at no CPU cost and about 90 MiB less peak
//   RSS than V8's own, 8 MiB another 16 MiB less (docs/benchmarks.md "Memory, third pass").
// - stream thread cache (StreamsConfig.cacheMaxBytes): B/16 (32 MiB at 512).
// - RocksDB, all store instances together: B/8 (64 MiB at 512), a third block cache and two
//   thirds memtables, divided by the instances the process may open (the binding cannot share a
//   block cache or a write-buffer manager between instances: stores/rocksdb-store.ts).
// - input records buffered between the consumer and the tasks (StreamsConfig
//   bufferedRecordsPerPartition): B/32 (16 MiB at 512) at BUFFERED_RECORD_BYTES each, divided
//   over the source partitions. 1,000 per partition (the engine's default, Kafka Streams') on
//   the rewards processor's 36 source partitions held ~30k records, each with its decoded event
//   (processors/rewards/validated-records.ts), in a heap snapshot of the 200k comparison.
// - output records waiting for their commit (StreamsConfig maxPendingOutputBytes, estimated by
//   topology/runtime/output-sender.ts: key and value bytes of each record and of its input record
//   plus a fixed overhead): B/32 (16 MiB at 512); past it the stream thread commits early. The
//   per-task bound (maxPendingRecordsPerTask, 5,000) let 12 tasks hold ~66k records, each keeping
//   its input record (a view into a fetch response) until the commit.
// - glibc malloc arenas: 2 (MALLOC_ARENA_MAX), whatever the budget.
// The rest of the budget is what has no cap: young generation and code, Buffers outside the heap
// (fetches, cached values), the Kafka client, the node binary's own pages (about 55 MiB).

export const DEFAULT_MEMORY_BUDGET_MIB = 512
/** Below this the floors alone exceed the budget. */
export const MIN_MEMORY_BUDGET_MIB = 256
export const MAX_MEMORY_BUDGET_MIB = 1024 * 1024
/** glibc's default is 8 × cores arenas; 2 keeps RocksDB's threads from holding free pages each. */
export const MALLOC_ARENA_MAX = 2

const MIB = 1024 * 1024
/** Per store instance: below these RocksDB flushes tiny memtables into tiny SST files (CPU and
 *  file count grow) and evicts the index and filter blocks its point lookups need. The rewards
 *  processor opens 96 instances, whose 64 MiB share (0.67 MiB each) is below both floors: with
 *  1 MiB caches and 2 MiB memtable budgets they held ~37 + 43 MiB at the 500k comparison's peak,
 *  with 512 KiB and 1 MiB (256 KiB write buffers, at most 1.5 MiB of memtables a store) ~18 + 23
 *  MiB, at no CPU per record cost (docs/benchmarks.md "Memory at 500k, fourth pass (branch
 *  memory5)"). */
export const MIN_BLOCK_CACHE_BYTES_PER_STORE = MIB / 2
export const MIN_MEMTABLE_BYTES_PER_STORE = 1 * MIB
/** Per store instance: above these a store gains nothing for the rewards workload (point reads of
 *  keys the caching layer already holds); the old defaults. */
export const MAX_BLOCK_CACHE_BYTES_PER_STORE = 2 * MIB
export const MAX_MEMTABLE_BYTES_PER_STORE = 4 * MIB

export interface MemoryBudget {
  readonly budgetMib: number
  /** node --max-old-space-size. */
  readonly v8OldSpaceMib: number
  /** node --initial-old-space-size: the old space V8 starts with (half its cap). */
  readonly v8InitialOldSpaceMib: number
  /** node --max-semi-space-size. */
  readonly v8SemiSpaceMib: number
  /** StreamsConfig.cacheMaxBytes. */
  readonly cacheMaxBytes: number
  /** RocksDB block caches and memtable budgets of all store instances together. */
  readonly rocksDbBytes: number
  /** Input records buffered in the tasks' queues, estimated bytes (bufferedRecordsPerPartition). */
  readonly inputRecordsBytes: number
  /** Output records waiting for their commit, estimated bytes (StreamsConfig maxPendingOutputBytes). */
  readonly pendingOutputsBytes: number
  readonly mallocArenaMax: number
}

export function memoryBudget (budgetMib: number = DEFAULT_MEMORY_BUDGET_MIB): MemoryBudget {
  if (!Number.isInteger(budgetMib) || budgetMib < MIN_MEMORY_BUDGET_MIB || budgetMib > MAX_MEMORY_BUDGET_MIB) {
    throw new RangeError(`memory budget must be an integer number of MiB from ${MIN_MEMORY_BUDGET_MIB} to ${MAX_MEMORY_BUDGET_MIB}, got ${budgetMib}`)
  }
  const v8OldSpaceMib = Math.max(128, Math.floor(budgetMib / 2))
  return {
    budgetMib,
    v8OldSpaceMib,
    v8InitialOldSpaceMib: Math.floor(v8OldSpaceMib / 2),
    v8SemiSpaceMib: Math.min(64, Math.max(8, Math.floor(budgetMib / 64))),
    cacheMaxBytes: Math.max(16 * MIB, Math.floor(budgetMib / 16) * MIB),
    rocksDbBytes: Math.floor(budgetMib / 8) * MIB,
    inputRecordsBytes: Math.floor(budgetMib / 32) * MIB,
    pendingOutputsBytes: Math.floor(budgetMib / 32) * MIB,
    mallocArenaMax: MALLOC_ARENA_MAX
  }
}

/** Each store instance's share of the RocksDB budget when the process may open `instances` of
 *  them (stores per task × tasks), clamped to the per-store floors and ceilings. */
export function rocksDbPerStore (rocksDbBytes: number, instances: number): { blockCacheBytes: number, memtableBudgetBytes: number } {
  const share = rocksDbBytes / Math.max(1, instances)
  const clamp = (bytes: number, min: number, max: number): number => Math.floor(Math.min(max, Math.max(min, bytes)))
  return {
    blockCacheBytes: clamp(share / 3, MIN_BLOCK_CACHE_BYTES_PER_STORE, MAX_BLOCK_CACHE_BYTES_PER_STORE),
    memtableBudgetBytes: clamp(share * 2 / 3, MIN_MEMTABLE_BYTES_PER_STORE, MAX_MEMTABLE_BYTES_PER_STORE)
  }
}

/** What a buffered input record takes in the processor's heap: the consumer's record (its
 *  headers, BigInt offset, key and value views) and the decoded event its timestamp extractor
 *  keeps for the validation (heap snapshot of the 200k comparison: ~1 KiB per record). */
export const BUFFERED_RECORD_BYTES = 1024
/** Below this a partition's queue runs dry between two fetches; above it nothing is gained (the
 *  engine's default, Kafka Streams' buffered.records.per.partition). */
export const MIN_BUFFERED_RECORDS_PER_PARTITION = 100
export const MAX_BUFFERED_RECORDS_PER_PARTITION = 1000

/** Input records buffered per source partition when the process may read `sourcePartitions`. */
export function bufferedRecordsPerPartition (inputRecordsBytes: number, sourcePartitions: number): number {
  const share = Math.floor(inputRecordsBytes / BUFFERED_RECORD_BYTES / Math.max(1, sourcePartitions))
  return Math.min(MAX_BUFFERED_RECORDS_PER_PARTITION, Math.max(MIN_BUFFERED_RECORDS_PER_PARTITION, share))
}
