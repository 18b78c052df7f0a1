// What a commit writes, apart from how the CommitCoordinator runs it: the topics it writes to
// (the producer looks them up ahead), and once it committed, the changelog offsets each task's
// stores now hold (a dirty close checkpoints them).
import type { PartitionOffset } from '../../log/log-port.ts'
import type { Subtopology, Topology } from '../topology.ts'
import type { StreamTask } from './stream-task.ts'
import { changelogTopicName } from './task-names.ts'
import type { TaskStateManager } from './task-state-manager.ts'

/** The topics a commit writes to: fixed sink topics and the stores' changelogs. */
export function topicsWritten (topology: Topology, subtopologies: readonly Subtopology[], applicationId: string): string[] {
  const changelogs = subtopologies.flatMap(s => s.stores.filter(name => topology.storeDefinition(name)?.changelog === true).map(name => changelogTopicName(applicationId, name)))
  return [...new Set([...topology.sinkTopics(), ...changelogs])]
}

/** Advances each store's changelog offset past what the commit wrote to it: `written[i]` is where
 *  record `commitFrom + i` of the commit landed, `taskAt` the task of each record. */
export function advanceChangelogOffsets (written: readonly PartitionOffset[], commitFrom: number, taskAt: readonly StreamTask[], stateOf: ReadonlyMap<StreamTask, TaskStateManager>): void {
  // The records come in runs of one task and partition: the store's look-up is made once per run,
  // not per record (it was 1.4% of an at-least-once profile, docs/benchmarks.md "fourth pass").
  // The run keeps its highest offset and adds 1 once at its end: no BigInt made per record.
  let runState: TaskStateManager | undefined
  let runTp: PartitionOffset | undefined
  let runLast = -1n
  const endRun = (): void => { if (runState !== undefined && runTp !== undefined && runState.ownsChangelog(runTp)) runState.advanceChangelog(runTp, runLast + 1n) }
  for (let i = 0; i < written.length; i++) {
    const w = written[i]
    if (w === undefined || w.offset < 0n) continue
    const state = stateOf.get(taskAt[commitFrom + i]!)
    if (state !== runState || w.topic !== runTp?.topic || w.partition !== runTp.partition) { endRun(); runState = state; runTp = w; runLast = w.offset }
    if (w.offset > runLast) runLast = w.offset
  }
  endRun()
}
