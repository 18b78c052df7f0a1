// The consumer runner's contracts (consumer-runner.ts): the handler it feeds, its options and
// retry policy, and the runner it returns (docs/engine.md "Consumer runner").
import type { Registry } from 'prom-client'
import type { Logger } from '../../lib/logger.ts'
import type { Log, LogRecord, PartitionOffset, TopicPartition } from '../../log/log-port.ts'

/** What the handler finished of a batch: its first `handled` records (default: all). */
export interface HandleOutcome {
  readonly handled: number
  /** Why the rest was not finished (retried, or the policy). Missing with handled < length: an
   *  error saying so is made up. */
  readonly error?: unknown
  /** Wait at least this long before retrying (e.g. a circuit breaker's open period). */
  readonly retryInMs?: number
}

export interface RecordHandler {
  /** Finishes records (in offset order per partition) durably, or reports how many of the first
   *  ones it finished. Rejecting is `{ handled: 0, error }`. `signal` aborts when one of the
   *  records' partitions is revoked or lost, or the runner closes: the result is then ignored. */
  handle (records: readonly LogRecord[], signal: AbortSignal): Promise<HandleOutcome | void>
  /** Back-pressure: true while the handler cannot take more (every partition is paused). */
  mustPause? (): boolean
  /** With the 'skip' policy: records the retries gave up on (dead-letter them). Resolves when that
   *  is durable; the records then count as finished. Rejects: the runner stops. */
  giveUp? (records: readonly LogRecord[], error: unknown): Promise<void>
  onAssigned? (partitions: readonly TopicPartition[]): void
  /** Revoked (after the last commit) or lost partitions: their state can go. */
  onReleased? (partitions: readonly TopicPartition[], lost: boolean): void
}

export interface ConsumerRetryPolicy {
  /** Default 200 ms, doubling with jitter up to maxDelayMs (default 10 s). */
  readonly initialDelayMs?: number
  readonly maxDelayMs?: number
  /** Attempts per batch in all; default unbounded (a dependency's outage is waited out). */
  readonly maxAttempts?: number
  /** Errors a later attempt cannot cure go to the policy at once; default: every error retried. */
  readonly isRetriable?: (error: unknown) => boolean
  /** When the attempts are spent: 'stop' (default) or 'skip' (handler.giveUp, then finished). */
  readonly exhausted?: 'stop' | 'skip'
}

export interface PartitionLag extends TopicPartition {
  readonly committed: bigint
  readonly end: bigint
  readonly lag: number
}

export interface ConsumerRunnerOptions {
  readonly log: Log
  readonly groupId: string
  readonly clientId: string
  readonly topics: readonly string[]
  readonly handler: RecordHandler
  /** In log lines; default the group id. */
  readonly name?: string
  readonly maxPollRecords?: number
  readonly sessionTimeoutMs?: number
  /** Records per handler call at most; default 500. */
  readonly batchMaxRecords?: number
  /** A partial batch is handed over after this long; default 0 (at once). */
  readonly batchMaxWaitMs?: number
  /** Handler calls running at once; default 1 (records then finish in order). */
  readonly maxInFlightBatches?: number
  /** Polled, not finished records at most (partitions pause above); default 5 batches. */
  readonly maxPendingRecords?: number
  /** While a batch waits to be retried: pause every partition ('all', default: the dependency is
   *  down for all of them) or only the batch's ('batch'). */
  readonly failurePause?: 'all' | 'batch'
  readonly retry?: ConsumerRetryPolicy
  /** Commit every this often; 0: after every finished batch. Default 1000 ms. */
  readonly commitIntervalMs?: number
  /** How long a revoke waits for running batches of the revoked partitions; default unbounded. */
  readonly revokeGraceMs?: number
  /** On revoke, hand buffered records of the revoked partitions over (one attempt); default true. */
  readonly flushOnRevoke?: boolean
  /** How long close() waits for running batches; default 5000 ms. */
  readonly closeGraceMs?: number
  /** Longest poll wait; default 500 ms. */
  readonly pollMs?: number
  /** Lag measured (one listOffsets) this often; default 5000 ms. */
  readonly lagIntervalMs?: number
  readonly registry?: Registry
  /** Metric name prefix, as the engine's (engine-metrics.ts); default `rewards_`. */
  readonly metricsPrefix?: string
  readonly logger?: Logger
  /** The runner stopped for good (the consumer failed, the 'stop' policy): it must be closed. */
  readonly onFatal?: (error: unknown) => void
  /** Offsets just committed. */
  readonly onCommitted?: (offsets: readonly PartitionOffset[]) => void
  /** Lag per assigned partition, after each measurement. */
  readonly onLag?: (lags: readonly PartitionLag[]) => void
  /** Partitions paused by the runner, when the number changes. */
  readonly onPaused?: (paused: number) => void
}

export interface ConsumerRunner {
  /** Resolves at the first assignment. */
  readonly ready: Promise<void>
  /** In the group (possibly with no partition). */
  joined (): boolean
  assignment (): TopicPartition[]
  /** Polled and not finished (buffered, in the handler, waiting for a retry). */
  pendingRecords (): number
  /** A batch waits to be retried (the dependency is failing). */
  failing (): boolean
  pausedPartitions (): number
  /** Last measured lag (sum over assigned partitions). */
  lagRecords (): number
  measureLag (): Promise<PartitionLag[]>
  /** Commits what is finished now. */
  commit (): Promise<void>
  close (): Promise<void>
}
