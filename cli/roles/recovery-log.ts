// The log line of each recovery the stream application reports (topology/runtime/commit-recovery.ts
// RecoveryEvent): `event` is stable (operators' alerts and the chaos suite await it), the message
// says what happened and what was done.
import type { RecoveryEvent } from '../../topology/runtime/commit-recovery.ts'

export function recoveryLog (e: RecoveryEvent): { level: 'warn' | 'error', fields: Record<string, unknown>, message: string } {
  switch (e.event) {
    case 'task.migrated':
      return { level: 'warn', fields: { event: e.event, tasks: e.tasks, reason: e.reason, err: e.error }, message: `task(s) migrated (${e.reason}): closed dirty, producer replaced, rebuilt from the checkpoint of the last commit` }
    case 'task.corrupted':
      return { level: 'warn', fields: { event: e.event, tasks: e.tasks, reason: e.reason, err: e.error }, message: `task(s) corrupted (${e.reason}: the transaction's outcome is unknown): producer replaced, restored from the changelogs and committed offsets` }
    case 'producer.replaced':
      return { level: 'warn', fields: { event: e.event, reason: e.reason }, message: `producer replaced (${e.reason})` }
    case 'production.record-replaced':
      return { level: 'warn', fields: { event: e.event, task: e.task, topic: e.topic, code: e.code, input: e.input, deadLetters: e.deadLetters }, message: `the broker refused an output to ${e.topic} (${e.code}) of ${e.input.topic}-${e.input.partition}@${e.input.offset}: ${e.deadLetters.length > 0 ? `input sent to ${e.deadLetters.join(', ')}` : 'input skipped'}` }
    case 'production.isolating':
      return { level: 'warn', fields: { event: e.event, partitions: e.partitions, code: e.code }, message: `the broker refused a batch of ${e.partitions.join(', ')} (${e.code}): sending its records one per request to find the refused one` }
    case 'stream-thread.replaced':
      return { level: 'error', fields: { event: e.event, replacements: e.replacements, err: e.error }, message: `stream thread died (${(e.error as Error | undefined)?.message ?? String(e.error)}): replaced (${e.replacements} in the window)` }
    case 'repartition.purge-failed':
      return { level: 'warn', fields: { event: e.event, partitions: e.partitions, err: e.error }, message: `purge of repartition topics failed (${(e.error as Error | undefined)?.message ?? String(e.error)}): retried after the next commit` }
  }
}
