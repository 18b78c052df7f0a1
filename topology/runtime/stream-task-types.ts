// A StreamTask's options and the shapes it keeps per node (its punctuations, where a record goes).
import type { SinkNode, Subtopology, Topology } from '../topology.ts'
import type { TopicPartition } from '../../log/log-port.ts'
import type { Processor, PunctuationType, TaskId } from '../processor/processor.ts'
import type { KeyValueStore } from '../../stores/key-value-store.ts'
import type { TaskStore } from './task-store.ts'

export interface StreamTaskOptions {
  readonly applicationId: string
  readonly id: TaskId
  readonly topology: Topology
  readonly subtopology: Subtopology
  /** The task's input partitions: partition `id.partition` of every source topic. */
  readonly inputs: TopicPartition[]
  readonly stores: Map<string, TaskStore>
  readonly maxTaskIdleMs: number
  /** Ask for a commit once this many output records are pending. */
  readonly maxPendingRecords: number
  readonly clock: () => number
  /** The partition has no record in the log beyond those given to the task (default: always;
   *  the thread asks the consumer). Used to keep event-time order across partitions. */
  readonly caughtUp?: (tp: TopicPartition) => boolean
  /** The DSL aggregations' record cache (record-cache.ts; StreamsConfig.tableRecordCache):
   *  one update per key per commit. Default false: every update forwarded at once. */
  readonly recordCache?: boolean
  /** The instance's global stores, read-only, by name: any processor may read them
   *  (runtime/global-state-store.ts). */
  readonly globalStores?: ReadonlyMap<string, KeyValueStore<unknown, unknown>>
}

/** A punctuator a processor scheduled (ProcessorContext.schedule). */
export interface Punctuation {
  readonly intervalMs: number
  readonly type: PunctuationType
  nextMs: number
  readonly punctuator: (timestamp: number) => void
  cancelled: boolean
  readonly node: string
}

/** Where a record goes: a processor or a sink, resolved once at initialize() (a topology and a
 *  processor look-up by name per record and hop showed in the engine's profile). */
export type Target = { readonly name: string, readonly sink: SinkNode, readonly processor: undefined } |
  { readonly name: string, readonly sink: undefined, readonly processor: Processor<unknown, unknown, unknown, unknown> }
