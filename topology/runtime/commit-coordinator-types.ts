// The CommitCoordinator's contracts: its options, what it reports of a failed commit, and what it
// keeps of a commit in flight.
import type { GroupConsumer, Log, LogRecord, PartitionOffset, ProducerRecord } from '../../log/log-port.ts'
import type { RecoveryEvent } from './commit-recovery.ts'
import type { EngineMetrics } from './engine-metrics.ts'
import type { ProductionExceptionHandler } from './production-exception-handler.ts'
import type { StreamTask } from './stream-task.ts'
import type { StreamsConfig } from './streams-config.ts'
import type { TaskManager } from './task-manager.ts'

export interface CommitFailure {
  /** aborted: read again from the committed offsets; fenced: another instance took the tasks;
   *  unknown: the transaction's abort failed too, so the producer was replaced and the tasks
   *  restored from their changelogs (correct whether it committed or not). */
  readonly result: 'aborted' | 'fenced' | 'unknown' | 'refused'
  readonly error: unknown
  /** Failed commits in a row (aborted, other than for the connection); the thread dies past 10. */
  readonly consecutive: number
}

export interface CommitCoordinatorOptions {
  readonly config: StreamsConfig
  readonly log: Log
  readonly instanceId: string
  readonly metrics: EngineMetrics
  readonly clock: () => number
  /** The thread's group consumer and task manager (created after the producer). */
  readonly consumer: () => Pick<GroupConsumer, 'groupMetadata' | 'commitOffsets' | 'assignment'>
  readonly tasks: () => TaskManager
  readonly onCommitFailed?: (failure: CommitFailure) => void
  readonly onRecovery?: (event: RecoveryEvent) => void
  readonly productionExceptionHandler?: ProductionExceptionHandler
  /** After each successful commit, with the input offsets it committed (the repartition purge). */
  readonly onCommitted?: (offsets: readonly PartitionOffset[]) => void
}

/** What a failed commit sent: a refused record is traced back to its input and task. */
export interface FailedCommit {
  readonly records: readonly ProducerRecord[]
  readonly sources: ReadonlyArray<LogRecord | null>
  readonly taskAt: readonly StreamTask[]
}

export interface InflightCommit {
  done: Promise<void>
  finished: boolean
  failure: { readonly error: unknown, readonly commit: FailedCommit } | undefined
}
