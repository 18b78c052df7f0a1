// The log line a processor writes when a task's stores have restored. Its fields are a contract
// with the AWS RestoreTime alarm (infra/aws/lib/alarms.ts: a metric filter on
// event = "restore.completed" taking durationMs as the value); test/infra/aws-cdk.test.ts evaluates
// the deployed filter against what this returns, so renaming a field fails there.
import type { TaskRestored } from '../../topology/runtime/stream-thread.ts'

export const RESTORE_COMPLETED_EVENT = 'restore.completed'

export interface RestoreCompletedFields {
  readonly event: typeof RESTORE_COMPLETED_EVENT
  /** Task id, e.g. '0_3'. */
  readonly task: string
  /** Whole milliseconds from the task's creation to its stores restored. */
  readonly durationMs: number
  /** Changelog records applied (0 after a checkpointed restart). */
  readonly records: number
}

export function restoreCompletedLog (restored: TaskRestored): { fields: RestoreCompletedFields, message: string } {
  const durationMs = Math.round(restored.durationMs)
  return {
    fields: { event: RESTORE_COMPLETED_EVENT, task: restored.task, durationMs, records: restored.records },
    message: `task ${restored.task} restored ${restored.records} changelog record(s) in ${durationMs} ms`
  }
}
