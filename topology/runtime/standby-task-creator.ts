// Opens one standby (or warm-up) task's stores (Kafka Streams' StandbyTaskCreator): the same
// directories and store layers as an active task (active-task-creator.ts), so the task can later
// become active here and restore only what its standby did not apply yet. No StreamTask: a
// standby never processes (docs/engine.md "Standby tasks").
import type { StateDirectory } from '../../stores/state-directory.ts'
import type { Subtopology, Topology } from '../topology.ts'
import type { StreamsConfig } from './streams-config.ts'
import type { TaskStateManager } from './task-state-manager.ts'
import { openTaskStores } from './task-stores-opener.ts'

export interface StandbyTaskCreatorOptions {
  readonly config: StreamsConfig
  readonly topology: Topology
  readonly stateDirectory: StateDirectory
  readonly exactlyOnce: boolean
}

export function standbyTaskCreator (o: StandbyTaskCreatorOptions): (name: string, sub: Subtopology, partition: number) => Promise<TaskStateManager> {
  // Not in the thread's cache budget: changelog records go straight into the stores, and nothing
  // is written or cached through their cache layer (a hand-over to the task's active here
  // rebuilds that layer in the budget: TaskStateManager.handOver). Not queryable as an active store either
  // (RESTORING): a standby's copy may lag; reads of it check the lag first
  // (topology/standby-queries.ts).
  return async (name, sub, partition) => await openTaskStores(o, name, sub, partition)
}
