// A StreamThread's options and what it reports of its standby tasks.
import type { Log, TopicPartition } from '../../log/log-port.ts'
import type { KeyValueStore } from '../../stores/key-value-store.ts'
import type { StateDirectory } from '../../stores/state-directory.ts'
import type { Subtopology, Topology } from '../topology.ts'
import type { AssignmentInfo } from './assignment/assignment-info.ts'
import type { CommitFailure } from './commit-coordinator-types.ts'
import type { RecoveryEvent } from './commit-recovery.ts'
import type { EngineMetrics } from './engine-metrics.ts'
import type { ProductionExceptionHandler } from './production-exception-handler.ts'
import type { RestoreProgressReport } from './restore-progress.ts'
import type { StreamsConfig } from './streams-config.ts'
import type { TaskRestored } from './task-manager.ts'
import type { TaskStateManager } from './task-state-manager.ts'

export interface StreamThreadOptions {
  readonly config: StreamsConfig
  readonly topology: Topology
  readonly subtopologies: Subtopology[]
  readonly log: Log
  readonly stateDirectory: StateDirectory
  readonly instanceId: string
  readonly metrics: EngineMetrics
  readonly clock: () => number
  /** The decoded assignment (null: none, or undecodable). */
  readonly onAssignment: (info: AssignmentInfo | null) => void
  /** Partitions per sub-topology (as checked at start): which changelog partitions each task has. */
  readonly partitionsPerSubtopology?: ReadonlyMap<number, number>
  readonly onRebalancing: () => void
  readonly onRunning: () => void
  /** A task's stores are restored (records applied from the changelogs, 0 after a checkpoint). */
  readonly onTaskRestored?: (restored: TaskRestored) => void
  /** While tasks restore, every few seconds: records done and remaining, rate, ETA. */
  readonly onRestoreProgress?: (progress: RestoreProgressReport) => void
  /** While standby and warm-up tasks catch up, every few seconds and once when all have. */
  readonly onStandbyProgress?: (progress: RestoreProgressReport) => void
  /** A commit failed and is recovered from (the application goes ERROR instead when it cannot be). */
  readonly onCommitFailed?: (failure: CommitFailure) => void
  /** Each recovery: migrated or corrupted tasks, a replaced producer, a refused record replaced. */
  readonly onRecovery?: (event: RecoveryEvent) => void
  /** Output records the broker refuses (default: fail). */
  readonly productionExceptionHandler?: ProductionExceptionHandler
  /** The instance's global stores (read-only), for every task's processors (global-state-store.ts). */
  readonly globalStores?: ReadonlyMap<string, KeyValueStore<unknown, unknown>>
}

/** A standby or warm-up task as the application reports it. */
export interface StandbyTaskInfo {
  readonly task: string
  readonly warmup: boolean
  /** Per changelog partition: the next offset after what its store holds. */
  readonly offsets: ReadonlyArray<TopicPartition & { offset: bigint }>
  /** Offsets behind the changelog ends as last refreshed. */
  readonly lag: number
}

/** A standby's stores and, per changelog partition, the next offset after what they hold. */
export interface StandbyCopy {
  readonly state: TaskStateManager
  readonly applied: ReadonlyArray<TopicPartition & { offset: bigint }>
}
