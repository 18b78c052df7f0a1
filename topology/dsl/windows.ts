// Window specifications of the windowed DSL, with Kafka Streams 4.x semantics
// (docs/engine.md "Windows"): tumbling and hopping TimeWindows, SlidingWindows, SessionWindows,
// each with a grace period after which late records are dropped.
import { StreamsError } from '../streams-error.ts'
import type { Window } from '../../stores/window-store.ts'

function invalid (message: string): never {
  throw new StreamsError('TOPOLOGY_INVALID', message)
}

function checkDuration (what: string, ms: number, min = 0): void {
  if (!Number.isSafeInteger(ms) || ms < min) invalid(`${what} must be an integer of at least ${min} ms, got ${ms}`)
}

/** Fixed-size windows [start, start + size) every `advance` ms: tumbling when advance = size
 *  (the default), hopping when advance < size. */
export class TimeWindows {
  readonly kind = 'time' as const
  readonly sizeMs: number
  readonly advanceMs: number
  readonly graceMs: number

  private constructor (sizeMs: number, advanceMs: number, graceMs: number) {
    checkDuration('window size', sizeMs, 1)
    checkDuration('window advance', advanceMs, 1)
    checkDuration('grace period', graceMs)
    if (advanceMs > sizeMs) invalid(`window advance (${advanceMs} ms) must not be larger than the window size (${sizeMs} ms)`)
    this.sizeMs = sizeMs
    this.advanceMs = advanceMs
    this.graceMs = graceMs
  }

  /** Tumbling windows of `sizeMs`; records after the window end are dropped. */
  static ofSizeWithNoGrace (sizeMs: number): TimeWindows {
    return new TimeWindows(sizeMs, sizeMs, 0)
  }

  /** Tumbling windows of `sizeMs` that accept records up to `graceMs` after their end. */
  static ofSizeAndGrace (sizeMs: number, graceMs: number): TimeWindows {
    return new TimeWindows(sizeMs, sizeMs, graceMs)
  }

  /** Hopping windows: a new window every `advanceMs`. */
  advanceBy (advanceMs: number): TimeWindows {
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs)
  }

  /** The windows a record at `timestamp` falls in, by start (Kafka Streams' TimeWindows.windowsFor;
   *  no window starts before 0). */
  windowsFor (timestamp: number): Window[] {
    const out: Window[] = []
    let start = Math.floor(Math.max(0, timestamp - this.sizeMs + this.advanceMs) / this.advanceMs) * this.advanceMs
    while (start <= timestamp) {
      out.push({ start, end: start + this.sizeMs })
      start += this.advanceMs
    }
    return out
  }
}

/** Windows of `timeDifferenceMs` (both ends inclusive) that slide with the records: one result per
 *  distinct set of records within the time difference (Kafka Streams' SlidingWindows). */
export class SlidingWindows {
  readonly kind = 'sliding' as const
  readonly timeDifferenceMs: number
  readonly graceMs: number

  private constructor (timeDifferenceMs: number, graceMs: number) {
    checkDuration('sliding window time difference', timeDifferenceMs, 1)
    checkDuration('grace period', graceMs)
    this.timeDifferenceMs = timeDifferenceMs
    this.graceMs = graceMs
  }

  static ofTimeDifferenceWithNoGrace (timeDifferenceMs: number): SlidingWindows {
    return new SlidingWindows(timeDifferenceMs, 0)
  }

  static ofTimeDifferenceAndGrace (timeDifferenceMs: number, graceMs: number): SlidingWindows {
    return new SlidingWindows(timeDifferenceMs, graceMs)
  }
}

/** Sessions: records of a key closer than `inactivityGapMs` to each other form one session
 *  [first, last] (both inclusive); sessions merge when a record bridges them. */
export class SessionWindows {
  readonly kind = 'session' as const
  readonly inactivityGapMs: number
  readonly graceMs: number

  private constructor (inactivityGapMs: number, graceMs: number) {
    checkDuration('session inactivity gap', inactivityGapMs, 1)
    checkDuration('grace period', graceMs)
    this.inactivityGapMs = inactivityGapMs
    this.graceMs = graceMs
  }

  static ofInactivityGapWithNoGrace (inactivityGapMs: number): SessionWindows {
    return new SessionWindows(inactivityGapMs, 0)
  }

  static ofInactivityGapAndGrace (inactivityGapMs: number, graceMs: number): SessionWindows {
    return new SessionWindows(inactivityGapMs, graceMs)
  }
}

/** Kafka Streams' windowstore.changelog.additional.retention.ms default: the changelog keeps a
 *  window a day longer than the store, so a restore never misses one the store still holds. */
export const CHANGELOG_ADDITIONAL_RETENTION_MS = 24 * 60 * 60 * 1000
