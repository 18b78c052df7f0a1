// The offsets the high-availability assignor compares (docs/engine.md "High-availability
// assignor"): what a member holds of each task (the sum of the changelog offsets its stores
// reflect, from the `.checkpoint` files of its state directory) and, on the leader, where each
// task's changelogs end. Lag of a client for a task = end sum − its sum.
import type { LogAdmin, TopicPartition } from '../../../log/log-port.ts'
import { CheckpointFile } from '../../../stores/checkpoint-file.ts'
import type { StateDirectory } from '../../../stores/state-directory.ts'
import { isTaskId, type TaskId } from './task-ids.ts'

export function sumOffsets (offsets: Iterable<{ readonly offset: bigint }>): bigint {
  let sum = 0n
  for (const { offset } of offsets) sum += offset
  return sum
}

/** Per task directory with a readable, non-empty checkpoint: the sum of its offsets. A task with
 *  no checkpoint (never closed here, or exactly-once after a crash) holds nothing usable. */
export function checkpointedOffsetSums (stateDirectory: Pick<StateDirectory, 'listTaskDirs' | 'taskDir'>): Map<TaskId, bigint> {
  const out = new Map<TaskId, bigint>()
  for (const task of stateDirectory.listTaskDirs()) {
    if (!isTaskId(task)) continue
    try {
      const offsets = new CheckpointFile(stateDirectory.taskDir(task)).read()
      if (offsets.length > 0) out.set(task, sumOffsets(offsets))
    } catch {
      // A corrupt checkpoint: the task restores from scratch here, so it holds nothing.
    }
  }
  return out
}

/** Per task, the sum of its changelog partitions' ends (last stable offsets), in one request. */
export async function changelogEndOffsetSums (admin: Pick<LogAdmin, 'listOffsets'>, changelogs: ReadonlyMap<TaskId, readonly TopicPartition[]>): Promise<Map<TaskId, bigint>> {
  const all = [...changelogs.values()].flat()
  const out = new Map<TaskId, bigint>()
  if (all.length === 0) return out
  const ends = new Map((await admin.listOffsets(all, 'latest')).map(o => [`${o.topic}:${o.partition}`, o.offset]))
  for (const [task, tps] of changelogs) out.set(task, sumOffsets(tps.map(tp => ({ offset: ends.get(`${tp.topic}:${tp.partition}`) ?? 0n }))))
  return out
}
