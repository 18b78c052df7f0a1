// What the engine does with an output record the broker refuses (Kafka Streams'
// ProductionExceptionHandler, with KIP-1034's dead-letter records): the handler is told which
// input record produced it and why, and answers FAIL (the stream thread dies: see
// docs/engine.md "Faults and recovery") or CONTINUE with records to send instead. On CONTINUE the
// engine replays the task from its committed offsets and, in place of that input record, sends
// the handler's records and nothing else: its outputs and its state changes are dropped together,
// so the state never counts what the outputs do not show. The application supplies the handler
// (the rewards platform: its dead-letter topics, cli/); the engine's default fails.
import type { LogRecord, ProducerRecord } from '../../log/log-port.ts'

export interface ProductionFailure {
  /** The task whose output was refused, e.g. "0_3". */
  readonly task: string
  /** The input record whose processing produced the refused record. */
  readonly input: LogRecord
  /** The output topic. */
  readonly topic: string
  /** The refused output record; null when it could not be serialized. */
  readonly refused: ProducerRecord | null
  /** The broker's reason: INVALID_TIMESTAMP, MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE,
   *  INVALID_RECORD, CORRUPT_MESSAGE; or SERIALIZATION_FAILED (the sink's serde threw). */
  readonly code: string
  readonly message: string
}

export type ProductionExceptionResponse =
  | { readonly response: 'CONTINUE', readonly deadLetterRecords?: readonly ProducerRecord[] }
  | { readonly response: 'FAIL' }

export type ProductionExceptionHandler = (failure: ProductionFailure) => ProductionExceptionResponse

/** The engine's default, as Kafka Streams': a refused record stops the thread. */
export const failOnProductionException: ProductionExceptionHandler = () => ({ response: 'FAIL' })
