// Opens one task's stores under the state directory, with the thread's store settings: the same
// directories and layers for an active task (active-task-creator.ts) and a standby or warm-up
// (standby-task-creator.ts), so a standby's copy can become the active's. Queryable as RESTORING
// until the caller says otherwise.
import type { StateDirectory } from '../../stores/state-directory.ts'
import type { ThreadCache } from '../../stores/thread-cache.ts'
import type { Subtopology, Topology } from '../topology.ts'
import type { StreamsConfig } from './streams-config.ts'
import { TaskStateManager } from './task-state-manager.ts'

export interface TaskStoresOpenerOptions {
  readonly config: StreamsConfig
  readonly topology: Topology
  readonly stateDirectory: StateDirectory
  readonly exactlyOnce: boolean
  /** The thread's cache budget (active tasks); a standby writes past the cache layer. */
  readonly cache?: ThreadCache
}

export async function openTaskStores (o: TaskStoresOpenerOptions, name: string, sub: Subtopology, partition: number): Promise<TaskStateManager> {
  const { config, topology } = o
  const state = new TaskStateManager({
    applicationId: config.applicationId,
    taskName: name,
    partition,
    definitions: sub.stores.map(s => topology.storeDefinition(s)!),
    stateDirectory: o.stateDirectory,
    exactlyOnce: o.exactlyOnce,
    maxDirtyEntries: config.maxDirtyEntriesPerStore,
    ...(o.cache !== undefined ? { cache: o.cache } : {}),
    rocksDb: { blockCacheBytes: config.rocksDbBlockCacheBytesPerStore, memtableBudgetBytes: config.rocksDbMemtableBytesPerStore }
  })
  await state.open()
  state.setQueryableState('RESTORING')
  return state
}
