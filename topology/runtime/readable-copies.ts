// Which local copy of a task's stores can answer reads that accept staleness (docs/engine.md
// "Interactive queries", reads during a task's move). Two kinds hold a committed prefix of each
// changelog and nothing else, both read with read_committed and written only by their changelog
// reader: a standby (or warm-up), and an active task still restoring — typically the delta after
// its standby here handed over, or a graceful move. So a task keeps a readable copy here from its
// standby through its restore until it runs, with its lag measured the same way.
import type { ChangelogReader } from './changelog-reader.ts'
import type { TaskManager } from './task-manager.ts'
import type { TaskStateManager } from './task-state-manager.ts'
import type { TopicPartition } from '../../log/log-port.ts'

/** A copy's stores and, per changelog partition, the next offset after what they hold. */
export interface ReadableCopy {
  readonly state: TaskStateManager
  readonly applied: ReadonlyArray<TopicPartition & { offset: bigint }>
}

export interface CopySources {
  readonly tasks: TaskManager | undefined
  /** The standby changelog reader. */
  readonly standbyReader: Pick<ChangelogReader, 'appliedPositions'> | undefined
  /** The restore changelog reader of active tasks. */
  readonly restorer: Pick<ChangelogReader, 'appliedPositions' | 'owners'> | undefined
}

/** The standby or restoring copy of `task` here, or undefined. A restoring task counts only once
 *  its restore is registered (before that its applied offsets are unknown, and an empty list
 *  would measure as lag 0). */
export function readableCopy (sources: CopySources, task: string): ReadableCopy | undefined {
  const { tasks, standbyReader, restorer } = sources
  const standby = tasks?.standbys.get(task)
  if (standby !== undefined) return standbyReader === undefined ? undefined : { state: standby.state, applied: standbyReader.appliedPositions(task) }
  const restoring = tasks?.restoring.get(task)
  if (restoring === undefined || restorer === undefined || !restorer.owners.has(task)) return undefined
  const applied = restorer.appliedPositions(task)
  return applied.length === 0 ? undefined : { state: restoring.state, applied }
}
