// The standby reader's fetches (changelog-reader.ts, standby mode): answers fetched and not
// written yet, in fetch order, and when the next fetch goes out. One fetch on the wire at a time;
// the next one goes out as soon as no answer with records waits for the writer, or, with fewer
// than MAX_AHEAD waiting, as soon as partitions registered since the last one was sent. A cold
// start's standbys register while the first ones' records are written: their partitions were read
// only once the writer took the answer waiting, one whole write and one round trip later
// (docs/benchmarks.md "Cold start, fourth pass"). An answer without records that comes back while
// the writer writes is dropped and the fetch sent again, for the same reason: nothing is lost, the
// positions it moved to (past control records, back to the log start) are the reader's, which the
// next answer reports.
import type { PartitionEntries } from '../../log/log-port.ts'

/** Answers with records fetched ahead of the one being written, at most (each up to a fetch's
 *  16 MiB); more than one only for partitions registered since the last fetch was sent. */
export const MAX_AHEAD = 2
/** The shortest wait of a fetch: an empty answer back sooner (a retriable error answers at once)
 *  is not asked again in a spin. */
export const MIN_FETCH_WAIT_MS = 10

/** One fetch: its entries per partition (in fetch order), the positions it moved to and the
 *  registrations it read for, by partition key. */
export interface FetchAnswer<R> {
  readonly runs: PartitionEntries[]
  readonly positions: Map<string, bigint>
  readonly readFor: Map<string, R>
}

/** Whether an answer's position for partition `key` belongs to registration `p`: one registered
 *  again since the fetch was sent gets nothing from it (it reads again from where it got). */
export function readForRegistration<R> (answer: FetchAnswer<R>, key: string, p: R): boolean {
  return answer.readFor.get(key) === p
}

/** Whether an answer's records of partition `key` may be written into registration `p` (a run of
 *  a partition the fetch was not sent for belongs to no earlier registration). */
export function writableFor<R> (answer: FetchAnswer<R>, key: string, p: R): boolean {
  const askedFor = answer.readFor.get(key)
  return askedFor === undefined || askedFor === p
}

export interface StandbyAnswerQueueOptions<A> {
  /** One fetch over the partitions to read, waiting at most waitMs for records. */
  readonly fetch: (waitMs: number) => Promise<A>
  /** Whether any partition is to be read. */
  readonly toRead: () => boolean
  /** How long the next fetch may wait for records. */
  readonly waitMs: () => number
  /** Whether the writer runs (an answer back then sends the next fetch). */
  readonly running: () => boolean
  /** Whether the reader failed already (no more fetches), and its failure, when no one waits. */
  readonly failed: () => boolean
  readonly fail: (error: unknown) => void
}

export class StandbyAnswerQueue<A extends FetchAnswer<unknown>> {
  readonly #o: StandbyAnswerQueueOptions<A>
  readonly #answers: A[] = []
  #onWire = false
  #registeredSinceSent = false
  #waiter: { resolve: () => void, reject: (error: unknown) => void } | undefined
  #writing = false

  constructor (options: StandbyAnswerQueueOptions<A>) {
    this.#o = options
  }

  /** A fetch is on the wire. */
  get onWire (): boolean { return this.#onWire }

  /** Partitions were registered: the next fetch may go out while answers wait. */
  registered (): void { this.#registeredSinceSent = true }

  /** The oldest answer not written yet. */
  take (): A | undefined { return this.#answers.shift() }

  /** Settles when the fetch on the wire answers (rejects if it fails). */
  async answered (): Promise<void> {
    await new Promise<void>((resolve, reject) => { this.#waiter = { resolve, reject } })
  }

  /** Whether the writer is writing an answer (an empty one back meanwhile is dropped). */
  writing (writing: boolean): void { this.#writing = writing }

  /** Drops the answers waiting (the writer stopped). */
  clear (): void { this.#answers.length = 0 }

  /** Sends the next fetch if it may go now (see the header). */
  send (): void {
    if (this.#onWire || this.#o.failed() || !this.#o.toRead()) return
    const waiting = this.#answers.length
    if (waiting >= MAX_AHEAD || (waiting > 0 && !this.#registeredSinceSent)) return
    this.#onWire = true
    this.#registeredSinceSent = false
    const sentAt = performance.now()
    void this.#o.fetch(this.#o.waitMs()).then(async answer => {
      const dropped = answer.runs.length === 0 && this.#writing
      if (!dropped) this.#answers.push(answer)
      const early = MIN_FETCH_WAIT_MS - (performance.now() - sentAt)
      if (dropped && early > 0) await new Promise(resolve => setTimeout(resolve, early))
      this.#onWire = false
      const waiter = this.#waiter
      this.#waiter = undefined
      waiter?.resolve()
      if (this.#o.running()) this.send()
    }, (error: unknown) => {
      this.#onWire = false
      const waiter = this.#waiter
      this.#waiter = undefined
      if (waiter !== undefined) waiter.reject(error)
      else this.#o.fail(error)
    })
  }
}
