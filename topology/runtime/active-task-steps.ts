// Steps of an active task's lifecycle that need none of the TaskManager's maps: close with a
// checkpoint, initialise once restored, seek inputs to the committed offsets. The manager keeps
// which task is in which state and calls these (docs/engine.md "Faults and recovery").
import type { TopicPartition } from '../../log/log-port.ts'
import type { RestoredOwner } from './changelog-restore.ts'
import { partitionKey } from './partition-group.ts'
import type { ActiveTask, ManagedState, ManagedTask, TaskManagerOptions } from './task-manager-types.ts'

/** clean: the commit already happened; checkpoint at the changelog end so a restart skips the
 *  restore. Dirty: drop what is not committed and checkpoint the changelog offsets of the last
 *  commit, which is what the stores hold (writes reach them only after their commit;
 *  docs/engine.md "Faults and recovery", dirty close). */
export async function closeActiveTask<T extends ManagedTask, S extends ManagedState> (active: ActiveTask<T, S>, clean: boolean, o: Pick<TaskManagerOptions<T, S>, 'restorer' | 'admin' | 'onRestoreEnded' | 'onTaskClosed'>): Promise<void> {
  const wasRestoring = active.lifecycle.is('RESTORING')
  active.lifecycle.transitionTo('CLOSED')
  active.task.close()
  try {
    if (wasRestoring) {
      // Still restoring: the stores hold the changelogs up to where the restore got (only
      // committed records are applied), so that is a valid checkpoint to go on from.
      active.state.restored(o.restorer.unregister(active.task.name))
      o.onRestoreEnded?.(active.task.name)
      active.state.writeCheckpoint()
    } else if (clean) {
      await active.state.checkpointAtEnd(o.admin)
    } else {
      active.task.abortUncommitted()
      active.state.writeCheckpoint()
    }
  } catch {
    // No checkpoint: the next owner here restores from the changelog (slower, still correct).
  }
  await active.state.close()
  o.onTaskClosed?.(active.task.name)
}

/** A restore ended: the stores take its offsets, the listeners hear of it and the processors are
 *  initialised; a failing init() closes the task and throws (the caller then starts it running). */
export function initialiseRestored<T extends ManagedTask, S extends ManagedState> (active: ActiveTask<T, S>, restored: RestoredOwner, o: Pick<TaskManagerOptions<T, S>, 'onRestoreEnded' | 'onTaskRestored'>): void {
  const { task, state } = active
  state.restored(restored.offsets)
  o.onRestoreEnded?.(task.name)
  o.onTaskRestored?.({ task: task.name, durationMs: restored.durationMs, records: restored.records })
  try {
    task.initialize()
  } catch (error) {
    active.lifecycle.transitionTo('CLOSED')
    void state.close()
    throw error
  }
}

/** Seeks the inputs still assigned to the group's committed offsets (the log start without). */
export async function seekToCommitted (inputs: TopicPartition[], o: Pick<TaskManagerOptions<ManagedTask, ManagedState>, 'admin' | 'consumer' | 'applicationId'>): Promise<void> {
  if (inputs.length === 0) return
  const admin = o.admin
  const committed = new Map((await admin.listCommittedOffsets(o.applicationId, inputs)).map(x => [partitionKey(x), x.offset]))
  const missing = inputs.filter(tp => !committed.has(partitionKey(tp)))
  const earliest = missing.length > 0 ? await admin.listOffsets(missing, 'earliest') : []
  for (const x of earliest) committed.set(partitionKey(x), x.offset)
  const assigned = new Set(o.consumer.assignment().map(partitionKey))
  for (const tp of inputs) {
    if (assigned.has(partitionKey(tp))) o.consumer.seek({ ...tp, offset: committed.get(partitionKey(tp)) ?? 0n })
  }
}
