// The dedupe clock (docs/rewards.md, "Duplicates and dedupe retention"): the highest event time of
// the *accepted* events of the task, capped at wall clock + maxEventTimeAheadMs. Dedupe entries
// live dedupeRetentionMs of this clock. Only an accepted event (a confirmation or a redemption
// decision) moves it: a duplicate or a record sent to the dead-letter topic — whatever its code,
// including ORIGINAL_NOT_FOUND, ALREADY_REVERSED and POINTS_OVERFLOW, whose event time is valid
// and so does move the task's stream time — never expires anything.
//
// It is kept in the dedupe-expiry store under the key `clock` (which sorts after every
// `<15 digits>:…` time key, so the purge's range never reaches it): written in the same commit as
// the entries it dates, restored from the same changelog, and rolled back with them when a
// transaction aborts — an in-memory copy would survive an abort that discarded the writes.
import type { KeyValueStore } from '../../topology/index.ts'

export const DEDUPE_CLOCK_KEY = 'clock'

/** Upper bound of every time key of dedupe-expiry (see expiryKey in dedupe.ts). */
const LAST_TIME_KEY = `${'9'.repeat(15)};`

export class DedupeClock {
  readonly #expiry: KeyValueStore<string, string>
  readonly #maxAheadMs: number
  readonly #wallClockMs: () => number

  constructor (expiry: KeyValueStore<string, string>, maxEventTimeAheadMs: number, wallClockMs: () => number) {
    this.#expiry = expiry
    this.#maxAheadMs = maxEventTimeAheadMs
    this.#wallClockMs = wallClockMs
  }

  /** The clock now; -1 before the first accepted event. */
  current (): number {
    const stored = this.#expiry.get(DEDUPE_CLOCK_KEY)
    if (stored !== undefined) return Number(stored)
    // State written before the clock was kept: the newest entry was recorded at the clock of
    // its time, so the newest time key is the clock (one scan, until the first accepted event).
    const [newest] = this.#expiry.range(undefined, LAST_TIME_KEY, { reverse: true, limit: 1 })
    return newest === undefined ? -1 : Number(newest.key.slice(0, 15))
  }

  /** The clock the decision about an event of `eventTimeMs` is made at: it counts the event's own
   *  time, as it will if the event is accepted. */
  at (eventTimeMs: number): number {
    return Math.max(this.current(), Math.min(eventTimeMs, this.#wallClockMs() + this.#maxAheadMs))
  }

  /** An event was accepted at clock `clockMs` (from at()). */
  advance (clockMs: number): void {
    // Compared with the stored value only: current() would already see this event's own entry.
    const stored = this.#expiry.get(DEDUPE_CLOCK_KEY)
    if (stored === undefined || clockMs > Number(stored)) this.#expiry.put(DEDUPE_CLOCK_KEY, String(clockMs))
  }
}
