// Opens one standby (or warm-up) task's stores (Kafka Streams' StandbyTaskCreator): the same
// directories and store layers as an active task (active-task-creator.ts), so the task can later
// become active here and restore only what its standby did not apply yet. No StreamTask: a
// standby never processes (docs/engine.md "Standby tasks").
import type { StateDirectory } from '../../stores/state-directory.ts'
import type { Subtopology, Topology } from '../topology.ts'
import type { StreamsConfig } from './streams-config.ts'
import { TaskStateManager } from './task-state-manager.ts'

export interface StandbyTaskCreatorOptions {
  readonly config: StreamsConfig
  readonly topology: Topology
  readonly stateDirectory: StateDirectory
  readonly exactlyOnce: boolean
}

export function standbyTaskCreator (o: StandbyTaskCreatorOptions): (name: string, sub: Subtopology, partition: number) => Promise<TaskStateManager> {
  return async (name, sub, partition) => {
    const { config, topology } = o
    // Not in the thread's cache budget: changelog records go straight into the stores, and
    // nothing is written or cached through their cache layer.
    const state = new TaskStateManager({
      applicationId: config.applicationId,
      taskName: name,
      partition,
      definitions: sub.stores.map(s => topology.storeDefinition(s)!),
      stateDirectory: o.stateDirectory,
      exactlyOnce: o.exactlyOnce,
      maxDirtyEntries: config.maxDirtyEntriesPerStore,
      rocksDb: { blockCacheBytes: config.rocksDbBlockCacheBytesPerStore, memtableBudgetBytes: config.rocksDbMemtableBytesPerStore }
    })
    await state.open()
    // Not queryable as an active store: a standby's copy may lag (queries on standbys: issue 17).
    state.setQueryableState('RESTORING')
    return state
  }
}
