// Builds one active task (Kafka Streams' ActiveTaskCreator): opens its stores under the state
// directory (queryable as RESTORING until its restore ends) and the StreamTask over them. The
// task manager (task-manager.ts) calls it for each task an assignment adds; kept apart so the
// task manager's lifecycle can be unit-tested with fake tasks (docs/engine.md "Architecture:
// loop, task manager, changelog reader").
import type { GroupConsumer, TopicPartition } from '../../log/log-port.ts'
import type { StateDirectory } from '../../stores/state-directory.ts'
import type { ThreadCache } from '../../stores/thread-cache.ts'
import type { KeyValueStore } from '../../stores/key-value-store.ts'
import type { Subtopology, Topology } from '../topology.ts'
import { StreamTask } from './stream-task.ts'
import type { HandedOverStores } from './task-manager.ts'
import type { StreamsConfig } from './streams-config.ts'
import type { TaskStateManager } from './task-state-manager.ts'
import { openTaskStores } from './task-stores-opener.ts'

export interface ActiveTaskCreatorOptions {
  readonly config: StreamsConfig
  readonly topology: Topology
  readonly stateDirectory: StateDirectory
  readonly exactlyOnce: boolean
  readonly clock: () => number
  readonly consumer: Pick<GroupConsumer, 'endOffset' | 'position'>
  /** One cache budget for every store of the thread's tasks (stores/thread-cache.ts). */
  readonly cache?: ThreadCache
  /** The instance's global stores (read-only), for every task's processors. */
  readonly globalStores?: ReadonlyMap<string, KeyValueStore<unknown, unknown>>
}

export function activeTaskCreator (o: ActiveTaskCreatorOptions): (name: string, sub: Subtopology, partition: number, standby?: HandedOverStores<TaskStateManager>) => Promise<{ task: StreamTask, state: TaskStateManager }> {
  // An input partition is caught up when the consumer's position reached its end: an empty,
  // caught-up partition stops holding its task back (docs/engine.md "Processing model", Order).
  const caughtUp = (tp: TopicPartition): boolean => {
    const end = o.consumer.endOffset(tp)
    if (end === undefined) return false
    try {
      return o.consumer.position(tp) >= end
    } catch {
      return true // no longer assigned: nothing will come
    }
  }
  return async (name, sub, partition, standby) => {
    const { config, topology } = o
    // A standby's stores here become this task's as they are (docs/engine.md "Standby tasks").
    const state = standby !== undefined ? handOver(standby, o.cache) : await openTaskStores(o, name, sub, partition)
    const task = new StreamTask({
      applicationId: config.applicationId,
      id: { subtopology: sub.id, partition },
      topology,
      subtopology: sub,
      inputs: sub.sourceTopics.map(topic => ({ topic, partition })),
      stores: state.taskStores(),
      maxTaskIdleMs: config.maxTaskIdleMs,
      maxPendingRecords: config.maxPendingRecordsPerTask,
      clock: o.clock,
      caughtUp,
      // DSL aggregations forward one update per key per commit (record-cache.ts).
      recordCache: config.tableRecordCache,
      ...(o.globalStores ? { globalStores: o.globalStores } : {})
    })
    return { task, state }
  }
}

function handOver ({ state, offsets }: HandedOverStores<TaskStateManager>, cache: ThreadCache | undefined): TaskStateManager {
  state.handOver(offsets, cache)
  return state
}
