// Output records of a task between two commits. Bounded by the runtime (a full collector asks for
// a commit); drained into the commit's transaction.
import type { ProducerRecord } from '../../log/log-port.ts'

export class RecordCollector {
  #records: ProducerRecord[] = []
  readonly #maxRecords: number

  constructor (maxRecords: number) {
    this.#maxRecords = maxRecords
  }

  send (record: ProducerRecord): void {
    this.#records.push(record)
  }

  get size (): number { return this.#records.length }
  isFull (): boolean { return this.#records.length >= this.#maxRecords }

  drain (): ProducerRecord[] {
    const out = this.#records
    this.#records = []
    return out
  }

  clear (): void { this.#records = [] }
}
