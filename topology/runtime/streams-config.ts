// Options of a StreamsApplication (the engine), validated once and defaulted here.
import { StreamsError } from '../streams-error.ts'
import { ROCKSDB_DEFAULTS } from '../../stores/rocksdb-store.ts'
import { memoryBudget } from '../../lib/memory-budget.ts'
import {
  REBALANCE_PROTOCOLS, STREAM_ERROR_POLICIES, STREAMS_SETTING_DEFAULTS as D,
  type EngineRebalanceProtocol, type ProcessingGuarantee, type StreamErrorPolicy
} from './streams-config-values.ts'

export {
  REBALANCE_PROTOCOLS, STREAM_ERROR_POLICIES,
  type EngineRebalanceProtocol, type ProcessingGuarantee, type StreamErrorPolicy
} from './streams-config-values.ts'

export interface StreamsConfig {
  readonly applicationId: string
  readonly stateDir: string
  readonly processingGuarantee: ProcessingGuarantee
  /** host:port where this instance answers interactive queries (shared with the group). */
  readonly applicationServer: string | null
  readonly commitIntervalMs: number
  /** Wait this long for an empty input partition before processing the others anyway. */
  readonly maxTaskIdleMs: number
  /** Pause a partition once this many of its records are buffered. */
  readonly bufferedRecordsPerPartition: number
  /** Commit early once a task has this many output records pending. */
  readonly maxPendingRecordsPerTask: number
  /** Commit early once the output records waiting for the commit (all tasks of the thread: the
   *  open transaction's under exactly-once) hold this many estimated bytes, their input records
   *  included (topology/runtime/output-sender.ts). The processor role derives it from
   *  REWARDS_MEMORY_BUDGET_MIB (lib/memory-budget.ts); default its share of the default budget. */
  readonly maxPendingOutputBytes: number
  readonly pollMs: number
  readonly sessionTimeoutMs: number
  /** Partitions of the changelog topics the application creates when missing: the sources'. */
  readonly transactionTimeoutMs: number
  readonly maxDirtyEntriesPerStore: number
  /** Kafka Streams' statestore.cache.max.bytes, per stream thread: one budget of estimated bytes
   *  (decoded values included) for the read and write caches of all the thread's stores; dirty
   *  entries past half of it commit early (stores/thread-cache.ts, docs/engine.md "State store
   *  cache"). Default: the share of the default memory budget (lib/memory-budget.ts: 32 MiB of
   *  512 MiB). */
  readonly cacheMaxBytes: number
  /** RocksDB block cache of each store instance (one per task and store: the binding shares
   *  none between instances), bytes; stores/rocksdb-store.ts. The processor role derives it from
   *  REWARDS_MEMORY_BUDGET_MIB and the store instances it may open (lib/memory-budget.ts). */
  readonly rocksDbBlockCacheBytesPerStore: number
  /** RocksDB memtable budget of each store instance, bytes; stores/rocksdb-store.ts. */
  readonly rocksDbMemtableBytesPerStore: number
  /** Kafka Streams' KTable record cache (topology/runtime/record-cache.ts): count / aggregate /
   *  reduce forward one update per key per commit instead of one per input record. false: every
   *  update (Kafka Streams with statestore.cache.max.bytes=0). */
  readonly tableRecordCache: boolean
  /** What to do when the stream thread dies (Kafka Streams' StreamsUncaughtExceptionHandler):
   *  start a new one, or move the application to ERROR. */
  readonly onStreamError: StreamErrorPolicy
  /** replace-thread: at most this many replacements within threadReplacementWindowMs; one more
   *  failure is handled as shutdown-instance. */
  readonly maxThreadReplacements: number
  readonly threadReplacementWindowMs: number
  /** Standby replicas per stateful task (docs/engine.md "Standby tasks"). Default 1: with one
   *  instance there is no other client to put it on, so it costs nothing there. */
  readonly numStandbyReplicas: number
  /** Records a client may lag behind a task's changelogs and still count as caught up. */
  readonly acceptableRecoveryLag: number
  /** Warm-up replicas in the whole group at once (0: a task moved for balance restores at once). */
  readonly maxWarmupReplicas: number
  /** After an assignment with warm-ups, rebalance again this much later (probing rebalance). */
  readonly probingRebalanceIntervalMs: number
  /** cooperative (KIP-429, the default): tasks that stay on an instance keep processing and
   *  answering queries through a rebalance, only the ones that move are revoked. eager: every
   *  rebalance suspends every task. All instances of one application must use the same one
   *  (docs/engine.md "Group protocol and rebalancing"). */
  readonly rebalanceProtocol: EngineRebalanceProtocol
  /** Kafka Streams' repartition.purge.interval.ms: after a commit, at most this often, the
   *  records of the repartition topics below the committed offsets are deleted (docs/engine.md
   *  "Repartition topics"). */
  readonly repartitionPurgeIntervalMs: number
}

export type StreamsConfigInput = Pick<StreamsConfig, 'applicationId' | 'stateDir'> & Partial<StreamsConfig>

export function resolveStreamsConfig (input: StreamsConfigInput): StreamsConfig {
  const config: StreamsConfig = {
    processingGuarantee: D.processingGuarantee,
    applicationServer: null,
    // Kafka Streams uses 100 ms under exactly-once: commits bound the latency of results.
    commitIntervalMs: input.processingGuarantee === 'at_least_once' ? 1000 : 100,
    maxTaskIdleMs: 50,
    bufferedRecordsPerPartition: 1000,
    maxPendingRecordsPerTask: 5000,
    maxPendingOutputBytes: memoryBudget().pendingOutputsBytes,
    pollMs: 100,
    sessionTimeoutMs: 10_000,
    // Kafka Streams' exactly-once default. A process restarted on a wiped state directory has a new
    // transactional id, so the transaction its predecessor left open is not fenced: the broker
    // aborts it only after this timeout, and until then its partitions' offsets are unstable and
    // their last stable offset is held back (processing of those partitions stalls).
    transactionTimeoutMs: 10_000,
    maxDirtyEntriesPerStore: 10_000,
    cacheMaxBytes: memoryBudget().cacheMaxBytes,
    rocksDbBlockCacheBytesPerStore: ROCKSDB_DEFAULTS.blockCacheBytes,
    rocksDbMemtableBytesPerStore: ROCKSDB_DEFAULTS.memtableBudgetBytes,
    tableRecordCache: true,
    onStreamError: D.onStreamError,
    maxThreadReplacements: 5,
    threadReplacementWindowMs: 10 * 60_000,
    numStandbyReplicas: D.numStandbyReplicas,
    acceptableRecoveryLag: D.acceptableRecoveryLag,
    maxWarmupReplicas: D.maxWarmupReplicas,
    probingRebalanceIntervalMs: D.probingRebalanceIntervalMs,
    rebalanceProtocol: D.rebalanceProtocol,
    repartitionPurgeIntervalMs: 30_000,
    ...input
  }
  if (!/^[A-Za-z0-9._-]+$/.test(config.applicationId)) throw new StreamsError('CONFIG_INVALID', `applicationId "${config.applicationId}" may use only letters, digits, ".", "_" and "-"`)
  if (config.processingGuarantee !== 'exactly_once_v2' && config.processingGuarantee !== 'at_least_once') {
    throw new StreamsError('CONFIG_INVALID', `processingGuarantee must be exactly_once_v2 or at_least_once, got "${String(config.processingGuarantee)}"`)
  }
  if (!REBALANCE_PROTOCOLS.includes(config.rebalanceProtocol)) throw new StreamsError('CONFIG_INVALID', `rebalanceProtocol must be ${REBALANCE_PROTOCOLS.join(' or ')}, got "${String(config.rebalanceProtocol)}"`)
  if (typeof config.tableRecordCache !== 'boolean') throw new StreamsError('CONFIG_INVALID', `tableRecordCache must be true or false, got ${String(config.tableRecordCache)}`)
  if (!STREAM_ERROR_POLICIES.includes(config.onStreamError)) throw new StreamsError('CONFIG_INVALID', `onStreamError must be ${STREAM_ERROR_POLICIES.join(' or ')}, got "${String(config.onStreamError)}"`)
  for (const key of ['commitIntervalMs', 'bufferedRecordsPerPartition', 'maxPendingRecordsPerTask', 'maxPendingOutputBytes', 'pollMs', 'sessionTimeoutMs', 'transactionTimeoutMs', 'maxDirtyEntriesPerStore', 'threadReplacementWindowMs', 'rocksDbBlockCacheBytesPerStore', 'rocksDbMemtableBytesPerStore', 'repartitionPurgeIntervalMs'] as const) {
    if (!Number.isInteger(config[key]) || config[key] <= 0) throw new StreamsError('CONFIG_INVALID', `${key} must be a positive integer, got ${String(config[key])}`)
  }
  if (!Number.isInteger(config.cacheMaxBytes) || config.cacheMaxBytes < 0) throw new StreamsError('CONFIG_INVALID', `cacheMaxBytes must be an integer >= 0, got ${String(config.cacheMaxBytes)}`)
  if (!Number.isInteger(config.maxThreadReplacements) || config.maxThreadReplacements < 0) throw new StreamsError('CONFIG_INVALID', `maxThreadReplacements must be >= 0, got ${String(config.maxThreadReplacements)}`)
  for (const key of ['numStandbyReplicas', 'acceptableRecoveryLag', 'maxWarmupReplicas'] as const) {
    if (!Number.isSafeInteger(config[key]) || config[key] < 0) throw new StreamsError('CONFIG_INVALID', `${key} must be an integer >= 0, got ${String(config[key])}`)
  }
  if (!Number.isSafeInteger(config.probingRebalanceIntervalMs) || config.probingRebalanceIntervalMs <= 0) throw new StreamsError('CONFIG_INVALID', `probingRebalanceIntervalMs must be a positive integer, got ${String(config.probingRebalanceIntervalMs)}`)
  if (!Number.isInteger(config.maxTaskIdleMs) || config.maxTaskIdleMs < 0) throw new StreamsError('CONFIG_INVALID', `maxTaskIdleMs must be >= 0, got ${String(config.maxTaskIdleMs)}`)
  return config
}
