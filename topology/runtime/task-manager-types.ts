// The task manager's types (task-manager.ts): what it uses of a task and of its stores, the
// tasks it keeps, and its options.
import type { GroupConsumer, LogAdmin, TopicPartition } from '../../log/log-port.ts'
import type { Subtopology } from '../topology.ts'
import type { ChangelogReader } from './changelog-reader.ts'
import type { ChangelogRestore } from './changelog-restore.ts'
import type { StreamTask } from './stream-task.ts'
import type { TaskLifecycle } from './task-lifecycle.ts'
import type { TaskStateManager } from './task-state-manager.ts'

/** What the task manager uses of a task (StreamTask; fakes in unit tests). */
export interface ManagedTask {
  readonly name: string
  readonly inputs: TopicPartition[]
  initialize (): void
  abortUncommitted (): void
  close (): void
}

/** What the task manager uses of a task's stores (TaskStateManager). */
export interface ManagedState {
  changelogRestores (): ChangelogRestore[]
  restored (offsets: ReadonlyArray<TopicPartition & { offset: bigint }>): void
  setQueryableState (state: 'RESTORING' | 'READY' | 'CLOSED'): void
  checkpointAtEnd (admin: Pick<LogAdmin, 'listOffsets'>): Promise<void>
  writeCheckpoint (): void
  close (): Promise<void>
}

export interface ActiveTask<T extends ManagedTask = StreamTask, S extends ManagedState = TaskStateManager> {
  readonly task: T
  readonly state: S
  readonly lifecycle: TaskLifecycle
}

export interface TaskRestored {
  readonly task: string
  readonly durationMs: number
  readonly records: number
}

export interface TaskManagerOptions<T extends ManagedTask, S extends ManagedState> {
  readonly applicationId: string
  readonly subtopologies: readonly Subtopology[]
  readonly admin: Pick<LogAdmin, 'listOffsets' | 'listCommittedOffsets'>
  readonly consumer: Pick<GroupConsumer, 'pause' | 'resume' | 'seek' | 'assignment'>
  readonly restorer: Pick<ChangelogReader, 'register' | 'unregister' | 'step'>
  /** Opens the task's stores (queryable as RESTORING) and builds the task, not yet initialised.
   *  With `standby`: a standby of the task here hands its open stores over instead (the creator
   *  makes them the active's, restoring from `standby.offsets`: TaskStateManager.handOver); if
   *  it throws, the task manager closes them. */
  readonly createTask: (name: string, subtopology: Subtopology, partition: number, standby?: HandedOverStores<S>) => Promise<{ task: T, state: S }>
  readonly onTaskRestored?: (restored: TaskRestored) => void
  /** After each restore step's fetch, with the tasks still restoring before any completes. */
  readonly onRestoreStep?: (restoring: number) => void
  /** A task closed, or its restore stopped or ended (restore progress and store metrics forget it). */
  readonly onRestoreEnded?: (task: string) => void
  readonly onTaskClosed?: (task: string) => void
  /** A running active task was suspended by a revocation (eager: every one at every rebalance;
   *  cooperative: only those that move away, just before they close). */
  readonly onTaskSuspended?: (task: string) => void
  /** Opens a standby task's stores (as an active task's, same directories). Without it (or
   *  without standbyReader) standby assignments are ignored. */
  readonly createStandby?: (name: string, subtopology: Subtopology, partition: number) => Promise<S>
  /** The thread's standby changelog reader (ChangelogReader in standby mode). */
  readonly standbyReader?: Pick<ChangelogReader, 'register' | 'unregister' | 'step' | 'positions'> & Partial<Pick<ChangelogReader, 'expectRegistrations'>>
  readonly onStandbyClosed?: (task: string) => void
  /** Standbys an assignment adds are not opened in the rebalance callback but in the background,
   *  while no active task restores (createPendingStandbys; the stream thread sets it): opening
   *  their stores (seconds for 8 on a loaded machine) held the new actives' restore and this
   *  member's next join up (docs/engine.md "Standby tasks"). */
  readonly deferStandbys?: boolean
}

/** A standby's open stores, handed to its task's new active here, and how far the standby
 *  reader had applied each changelog partition into them. */
export interface HandedOverStores<S> {
  readonly state: S
  readonly offsets: ReadonlyArray<TopicPartition & { offset: bigint }>
}

/** The tasks an assignment gives this member besides its actives (their names). */
export interface ReplicaAssignment {
  readonly standby: ReadonlySet<string>
  readonly warmup: ReadonlySet<string>
}
