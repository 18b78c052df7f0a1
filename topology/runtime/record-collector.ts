// Output records of a task between two commits, each with the input record whose processing
// produced it (null for punctuations and dead letters of the production exception handler): a
// record the broker refuses is traced back to its input. Bounded by the runtime (a full collector
// asks for a commit); drained into the commit's transaction.
import type { LogRecord, ProducerRecord } from '../../log/log-port.ts'

export class RecordCollector {
  #records: ProducerRecord[] = []
  #sources: Array<LogRecord | null> = []
  readonly #maxRecords: number

  constructor (maxRecords: number) {
    this.#maxRecords = maxRecords
  }

  send (record: ProducerRecord, source: LogRecord | null = null): void {
    this.#records.push(record)
    this.#sources.push(source)
  }

  get size (): number { return this.#records.length }
  isFull (): boolean { return this.#records.length >= this.#maxRecords }

  drain (): ProducerRecord[] {
    return this.drainWithSources().records
  }

  drainWithSources (): { records: ProducerRecord[], sources: Array<LogRecord | null> } {
    const out = { records: this.#records, sources: this.#sources }
    this.#records = []
    this.#sources = []
    return out
  }

  clear (): void { this.#records = []; this.#sources = [] }
}
