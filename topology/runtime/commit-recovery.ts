// How the stream thread recovers from a failed commit (docs/engine.md "Faults and recovery"): the
// class of each failure, the recovery events the application reports, and the production
// exception handler's part when the broker refuses records.
import type { LogRecord, ProducerRecord, TopicPartition } from '../../log/log-port.ts'
import { isStreamsError, StreamsError } from '../streams-error.ts'
import type { ProductionExceptionHandler } from './production-exception-handler.ts'
import { isOutputSerializationError, type StreamTask } from './stream-task.ts'

/** - migrated: the producer is fenced or lost its sequence state, or the group generation is
 *    stale; nothing of the transaction committed (Kafka Streams' TaskMigratedException).
 *  - corrupted: the transaction's outcome is unknown (Kafka Streams' TaskCorruptedException).
 *  - refused: the broker refused records; nothing committed.
 *  - aborted: aborted (or not sent) for a reason a retry can cure; same producer.
 *  - fatal: retrying cannot help (authorization, security, a missing topic, a closed log). */
export type CommitFailureClass = 'migrated' | 'corrupted' | 'refused' | 'aborted' | 'fatal'

export function classifyCommitFailure (error: unknown): CommitFailureClass {
  if (isStreamsError(error, 'LOG_PRODUCER_FENCED') || isStreamsError(error, 'TASK_MIGRATED')) return 'migrated'
  if (isStreamsError(error, 'LOG_TRANSACTION_UNKNOWN')) return 'corrupted'
  if (isStreamsError(error, 'LOG_RECORD_REFUSED')) return 'refused'
  if (isStreamsError(error) && error.retriable) return 'aborted'
  return 'fatal'
}

/** An aborted commit because the broker could not be reached or answered too late: retried with
 *  backoff for as long as it lasts (other aborts in a row are bounded). */
export function isConnectionAbort (error: unknown): boolean {
  return isStreamsError(error, 'LOG_CONNECTION') || (isStreamsError(error, 'LOG_TRANSACTION_ABORTED') && error.details?.code === 'LOG_CONNECTION')
}

/** The protocol error behind a failure, for metric labels and logs (e.g. PRODUCER_FENCED). */
export function failureReason (error: unknown): string {
  const protocolError = isStreamsError(error) ? error.details?.protocolError : undefined
  if (typeof protocolError === 'string') return protocolError
  return isStreamsError(error) ? error.code : 'UNKNOWN'
}

/** One line per recovery, for logs (the processor role) and the chaos suite to await. */
export type RecoveryEvent =
  | { readonly event: 'task.migrated', readonly tasks: string[], readonly reason: string, readonly error: unknown }
  | { readonly event: 'task.corrupted', readonly tasks: string[], readonly reason: string, readonly error: unknown }
  | { readonly event: 'producer.replaced', readonly reason: 'migrated' | 'corrupted' | 'refused' }
  | { readonly event: 'production.record-replaced', readonly task: string, readonly topic: string, readonly code: string, readonly message: string, readonly input: { readonly topic: string, readonly partition: number, readonly offset: string }, readonly deadLetters: string[] }
  | { readonly event: 'production.isolating', readonly partitions: string[], readonly code: string }
  | { readonly event: 'stream-thread.replaced', readonly replacements: number, readonly error: unknown }
  | { readonly event: 'repartition.purge-failed', readonly partitions: string[], readonly error: unknown }

export interface RefusedCommit {
  readonly records: readonly ProducerRecord[]
  readonly sources: ReadonlyArray<LogRecord | null>
  /** Which task each record index belongs to. */
  readonly taskOf: (index: number) => StreamTask
}

export interface RefusalOutcome {
  /** The broker named only partition batches: send these partitions one record per request. */
  readonly isolate: TopicPartition[]
  readonly events: RecoveryEvent[]
  /** Per refused output: topic, code and the handler's answer (for the metric). */
  readonly handled: Array<{ topic: string, code: string, response: 'CONTINUE' }>
}

/** A sink could not serialize an output of `task`'s current input: the handler decides, as for a
 *  record the broker refuses (Kafka Streams' handleSerializationException). Returns null when the
 *  error is not that; throws on FAIL. On CONTINUE the caller rewinds the task to its committed
 *  offsets, and the input is replaced on the replay. */
export function handleSerializationFailure (error: unknown, task: StreamTask, handler: ProductionExceptionHandler): RefusalOutcome | null {
  if (!isOutputSerializationError(error)) return null
  const { input, topic } = error.details
  if (input === null) throw error // a punctuation's output: no input to replace
  const answer = handler({ task: task.name, input, topic, refused: null, code: 'SERIALIZATION_FAILED', message: error.message })
  if (answer.response !== 'CONTINUE') throw new StreamsError('SERDE_ERROR', `${error.message}; the production exception handler answered FAIL`, { cause: error })
  const deadLetters = answer.deadLetterRecords ?? []
  task.replaceInput(input, deadLetters)
  return {
    isolate: [],
    handled: [{ topic, code: 'SERIALIZATION_FAILED', response: 'CONTINUE' }],
    events: [{ event: 'production.record-replaced', task: task.name, topic, code: 'SERIALIZATION_FAILED', message: error.message, input: { topic: input.topic, partition: input.partition, offset: String(input.offset) }, deadLetters: deadLetters.map(d => d.topic) }]
  }
}

/** Applies the production exception handler to each refused record of a commit (exact), or asks
 *  for isolation (suspects). Throws — the thread dies — when the handler answers FAIL or when
 *  the refused record has no input record to replace (a changelog record, a punctuation's output,
 *  a dead letter): skipping those would corrupt the state or lose a record silently. */
export function handleRefusal (error: StreamsError, commit: RefusedCommit, handler: ProductionExceptionHandler): RefusalOutcome {
  const refused = (error.details?.refused ?? []) as Array<{ index: number, topic: string, partition: number, code: string, message: string }>
  const outcome: RefusalOutcome = { isolate: [], events: [], handled: [] }
  if (error.details?.exact !== true) {
    const partitions = new Map<string, TopicPartition>()
    for (const r of refused) partitions.set(`${r.topic}-${r.partition}`, { topic: r.topic, partition: r.partition })
    outcome.isolate.push(...partitions.values())
    outcome.events.push({ event: 'production.isolating', partitions: [...partitions.keys()], code: refused[0]?.code ?? 'UNKNOWN' })
    return outcome
  }
  // An input whose outputs were refused more than once (e.g. a confirmation and a repartition
  // record, both stamped with its event time) is replaced once: the handler is asked once per
  // input, and its answer covers every output of that input. Each refused record still counts.
  const replaced = new Set<string>()
  for (const r of refused) {
    const record = commit.records[r.index]!
    const input = commit.sources[r.index] ?? null
    const task = commit.taskOf(r.index)
    if (input === null) {
      throw new StreamsError('LOG_RECORD_REFUSED', `the broker refused a record of ${record.topic} that no input record produced (a changelog record, a punctuation's output or a dead letter), so it cannot be replaced: ${r.code} (${r.message})`, { cause: error })
    }
    const inputId = `${input.topic}-${input.partition}@${input.offset}`
    if (replaced.has(inputId)) {
      outcome.handled.push({ topic: record.topic, code: r.code, response: 'CONTINUE' })
      continue
    }
    replaced.add(inputId)
    const answer = handler({ task: task.name, input, topic: record.topic, refused: record, code: r.code, message: r.message })
    if (answer.response !== 'CONTINUE') {
      throw new StreamsError('LOG_RECORD_REFUSED', `the broker refused an output of ${input.topic}-${input.partition}@${input.offset} to ${record.topic} (${r.code}: ${r.message}) and the production exception handler answered FAIL`, { cause: error })
    }
    const deadLetters = answer.deadLetterRecords ?? []
    task.replaceInput(input, deadLetters)
    outcome.handled.push({ topic: record.topic, code: r.code, response: 'CONTINUE' })
    outcome.events.push({ event: 'production.record-replaced', task: task.name, topic: record.topic, code: r.code, message: r.message, input: { topic: input.topic, partition: input.partition, offset: String(input.offset) }, deadLetters: deadLetters.map(d => d.topic) })
  }
  return outcome
}
