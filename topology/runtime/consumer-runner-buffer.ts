// The consumer runner's buffer: records polled and accepted, not yet in a batch, oldest first
// (they are pending: the committed offset never passes them). Batches take from its front;
// records a batch ends without go back there.
import type { LogRecord } from '../../log/log-port.ts'
import { tpKey } from './consumer-runner-partition.ts'

export class RunnerBuffer {
  #records: LogRecord[] = []
  /** When the buffer last went from empty to not (0: empty); a batch is due batchMaxWaitMs after. */
  #firstAt = 0

  get length (): number { return this.#records.length }
  get firstAt (): number { return this.#firstAt }

  push (record: LogRecord): void {
    if (this.#records.length === 0) this.#firstAt = Date.now()
    this.#records.push(record)
  }

  /** A batch is due: `batchMax` records, or the oldest waited `waitMs`. */
  due (batchMax: number, waitMs: number): boolean {
    return this.#records.length >= batchMax || Date.now() - this.#firstAt >= waitMs
  }

  /** The next batch, leaving out partitions whose earlier batch waits for a retry (`blocked`:
   *  their records would overtake it); the wait for the next batch starts again. */
  take (batchMax: number, blocked: ReadonlySet<string>): LogRecord[] {
    let taken: LogRecord[]
    if (blocked.size === 0) taken = this.#records.splice(0, batchMax)
    else {
      taken = []
      const kept: LogRecord[] = []
      for (const r of this.#records) (taken.length < batchMax && !blocked.has(tpKey(r)) ? taken : kept).push(r)
      this.#records = kept
    }
    if (taken.length > 0) this.#firstAt = this.#records.length > 0 ? Date.now() : 0
    return taken
  }

  /** Records a batch ends without: back to the front (still pending). */
  requeue (records: readonly LogRecord[]): void {
    if (records.length === 0) return
    if (this.#records.length === 0) this.#firstAt = Date.now()
    this.#records = [...records, ...this.#records]
  }

  /** Back to the front, without restarting the batch wait (a hand-over's leftovers). */
  prepend (records: readonly LogRecord[]): void {
    this.#records = [...records, ...this.#records]
  }

  /** Takes out the records `matching`, in order. */
  remove (matching: (r: LogRecord) => boolean): LogRecord[] {
    if (this.#records.length === 0) return []
    const removed = this.#records.filter(matching)
    if (removed.length > 0) this.#records = this.#records.filter(r => !matching(r))
    return removed
  }

  some (matching: (r: LogRecord) => boolean): boolean {
    return this.#records.some(matching)
  }
}
