// The records of one transaction (exactly-once) or of one commit interval (at-least-once), sent to
// the producer as they are produced instead of all at the commit (Kafka Streams' RecordCollector
// sends as it goes and only waits at the commit). One send in flight at a time: what the tasks
// produce meanwhile goes out as the next batch as soon as it returns, so the producer batches by
// itself and the processing does not wait for the broker. Every record is kept with its input and
// task until the commit, for the production exception handler when the broker refuses one
// (commit-recovery.ts), and for the metrics of records out.
import type { LogProducer, LogRecord, PartitionOffset, ProducerRecord, SendOptions } from '../../log/log-port.ts'
import { isStreamsError, StreamsError } from '../streams-error.ts'
import type { StreamTask } from './stream-task.ts'

/** Below this many unsent records pump() waits for more (a produce request has a fixed cost:
 *  metadata, AddPartitionsToTxn checks, a round trip); flush() sends whatever is left. */
const MIN_BATCH = 2000

/** Estimated heap of one pending record besides its key and value bytes: the ProducerRecord, its
 *  headers, the slots of the four arrays and the input record it keeps (memory budget: the
 *  pending outputs' share, lib/memory-budget.ts). */
export const PENDING_RECORD_OVERHEAD_BYTES = 320

export class OutputSender {
  readonly records: ProducerRecord[] = []
  readonly sources: Array<LogRecord | null> = []
  readonly tasks: StreamTask[] = []
  /** Each sent record's partition and offset (-1n: not known before the commit). */
  readonly written: PartitionOffset[] = []
  readonly #producer: LogProducer
  readonly #options: () => SendOptions
  #sentUpTo = 0
  /** Estimated bytes of the records added: key and value bytes of each and of its input record,
   *  plus PENDING_RECORD_OVERHEAD_BYTES. */
  #bytes = 0
  #inflight: Promise<void> | undefined
  /** The first failed send (at-least-once: a refusal's indexes shifted to this sender's). */
  #error: unknown
  #failed = false
  /** flush() is waiting: every record goes out, however few. */
  #flushing = false
  /** Records from this index on are not sent by pump() (the commit sends them itself). */
  #limit = Number.POSITIVE_INFINITY

  /** Nothing is sent until `after` resolves true (the previous commit succeeded): its records must
   *  not join that commit's transaction, nor its sends overtake that commit's. False: never. */
  #gated: boolean
  readonly #after: Promise<boolean> | undefined

  constructor (producer: LogProducer, options: () => SendOptions, after?: Promise<boolean>) {
    this.#producer = producer
    this.#options = options
    this.#gated = after !== undefined
    this.#after = after
    void after?.then(ok => { if (ok) { this.#gated = false; this.pump(this.#flushing ? 1 : MIN_BATCH) } })
  }

  get size (): number { return this.records.length }
  /** Estimated bytes held until the commit (the stream thread commits early above its budget). */
  get bytes (): number { return this.#bytes }
  get producer (): LogProducer { return this.#producer }

  add (task: StreamTask, records: readonly ProducerRecord[], sources: ReadonlyArray<LogRecord | null>): void {
    let bytes = 0
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!
      const source = sources[i] ?? null
      this.records.push(record)
      this.sources.push(source)
      this.tasks.push(task)
      bytes += PENDING_RECORD_OVERHEAD_BYTES + (record.key?.length ?? 0) + (record.value?.length ?? 0) + (source === null || source === sources[i - 1] ? 0 : (source.key?.length ?? 0) + (source.value?.length ?? 0))
    }
    this.#bytes += bytes
  }

  /** Sends what is not sent yet, unless a send is in flight (it sends the rest when it returns). */
  pump (minBatch = MIN_BATCH): void {
    const to = Math.min(this.records.length, this.#limit)
    if (this.#gated || this.#inflight !== undefined || this.#failed || to - this.#sentUpTo < Math.max(1, minBatch)) return
    const from = this.#sentUpTo
    this.#sentUpTo = to
    this.#inflight = this.#producer.send(this.records.slice(from, to), this.#options()).then(
      offsets => {
        for (let i = 0; i < offsets.length; i++) this.written[from + i] = offsets[i]!
        this.#inflight = undefined
        this.pump(this.#flushing ? 1 : MIN_BATCH)
      },
      (error: unknown) => { this.#inflight = undefined; this.#failed = true; this.#error = shiftRefusal(error, from) })
  }

  /** Waits until every record added is sent; rejects with the first failure (at-least-once: the
   *  offsets are then not committed). Under exactly-once the producer's commitTransaction reports
   *  the failure (and aborts the transaction): call it regardless. */
  async flush (): Promise<void> {
    this.#limit = Number.POSITIVE_INFINITY
    await this.flushHeld()
  }

  /** From now on only the records added so far are sent: the ones added later are the commit's
   *  own (exactly-once: sent with commitTransaction). */
  hold (): void { this.#limit = this.records.length }

  /** flush(), of the records before the hold() only. */
  async flushHeld (): Promise<void> {
    if (this.#gated && this.#after !== undefined && !await this.#after) throw new StreamsError('TASK_MIGRATED', 'the previous commit failed: these records belong to no transaction')
    this.#flushing = true
    for (;;) {
      this.pump(1)
      if (this.#inflight === undefined) break
      await this.#inflight
    }
    if (this.#failed) throw this.#error
  }

  /** Waits for the send in flight, ignoring its outcome (before an abort). */
  async settle (): Promise<void> {
    while (this.#inflight !== undefined) await this.#inflight
  }
}

/** A refusal names records by their index in one send: shift them to the sender's. */
function shiftRefusal (error: unknown, from: number): unknown {
  if (from === 0 || !isStreamsError(error, 'LOG_RECORD_REFUSED')) return error
  const refused = (error.details?.refused ?? []) as Array<{ index: number }>
  return new StreamsError('LOG_RECORD_REFUSED', error.message, { cause: error.cause, details: { ...error.details, refused: refused.map(r => ({ ...r, index: r.index + from })) } })
}
