// The Processor API: a processor is init / process / close, and talks to the world only through
// its context. process() is synchronous and must not keep references to records after returning.
import type { Headers } from '../../log/log-port.ts'
import type { KeyValueStore } from '../../stores/key-value-store.ts'
import type { Record, RecordMetadata } from './record.ts'

export type PunctuationType = 'STREAM_TIME' | 'WALL_CLOCK_TIME'

export interface Cancellable {
  cancel (): void
}

export interface TaskId {
  /** Partition number of the co-partitioned sources this task owns. */
  readonly partition: number
  /** Sub-topology index (0 when the topology has one). */
  readonly subtopology: number
}

export interface ProcessorContext<KOut = unknown, VOut = unknown> {
  readonly applicationId: string
  readonly taskId: TaskId
  /** A store connected to this processor. Throws STORE_NOT_FOUND otherwise. */
  getStateStore<K, V> (name: string): KeyValueStore<K, V>
  /** Sends a record to all children, or to the named child. */
  forward (record: Record<KOut, VOut>, childName?: string): void
  /** Calls `punctuator(timestamp)` every intervalMs of stream time or wall-clock time. */
  schedule (intervalMs: number, type: PunctuationType, punctuator: (timestamp: number) => void): Cancellable
  /** Asks for a commit as soon as the current record is done. */
  commit (): void
  /** Topic, partition and offset of the record being processed; null inside a punctuation. */
  recordMetadata (): RecordMetadata | null
  /** Highest record timestamp seen by this task. */
  currentStreamTimeMs (): number
  currentSystemTimeMs (): number
  /** Raw headers of the input record being processed (empty inside a punctuation). */
  headers (): Headers
}

export interface Processor<KIn, VIn, KOut = never, VOut = never> {
  init? (context: ProcessorContext<KOut, VOut>): void
  process (record: Record<KIn, VIn>): void
  close? (): void
}

export type ProcessorSupplier<KIn, VIn, KOut = never, VOut = never> = () => Processor<KIn, VIn, KOut, VOut>
