// Retries with exponential backoff (full jitter) behind a circuit breaker, for calls to a
// dependency that can be down for a while (PostgreSQL for the archiver).
//
//   CLOSED ── failureThreshold consecutive failures ──► OPEN ── openMs elapsed ──► HALF_OPEN
//     ▲                                                  ▲                            │
//     └────────────── a trial call succeeds ─────────────┴──── the trial call fails ──┘
//
// The breaker does not sleep: callers ask `canAttempt()` / `nextAttemptInMs()` and keep doing
// their other work (the archiver keeps polling with its partitions paused, so it stays in the
// group) until it is time to try again.

export type BreakerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN'

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit; default 5. */
  readonly failureThreshold?: number
  /** Backoff of the first retry; doubles per consecutive failure up to maxBackoffMs. Default 100. */
  readonly baseBackoffMs?: number
  readonly maxBackoffMs?: number
  /** How long the circuit stays open before one trial call; default 5000. */
  readonly openMs?: number
  readonly clock?: () => number
  readonly random?: () => number
  readonly onStateChange?: (state: BreakerState, previous: BreakerState) => void
}

export class CircuitBreaker {
  readonly #threshold: number
  readonly #baseMs: number
  readonly #maxMs: number
  readonly #openMs: number
  readonly #clock: () => number
  readonly #random: () => number
  readonly #onStateChange: ((state: BreakerState, previous: BreakerState) => void) | undefined
  #state: BreakerState = 'CLOSED'
  #failures = 0
  #nextAttemptAt = 0

  constructor (options: CircuitBreakerOptions = {}) {
    this.#threshold = options.failureThreshold ?? 5
    this.#baseMs = options.baseBackoffMs ?? 100
    this.#maxMs = options.maxBackoffMs ?? 10_000
    this.#openMs = options.openMs ?? 5000
    this.#clock = options.clock ?? Date.now
    this.#random = options.random ?? Math.random
    this.#onStateChange = options.onStateChange
  }

  get state (): BreakerState { return this.#state }
  get consecutiveFailures (): number { return this.#failures }

  /** Milliseconds until the next call may be attempted (0: now). */
  nextAttemptInMs (): number {
    return Math.max(0, this.#nextAttemptAt - this.#clock())
  }

  canAttempt (): boolean {
    if (this.nextAttemptInMs() > 0) return false
    if (this.#state === 'OPEN') this.#set('HALF_OPEN')
    return true
  }

  recordSuccess (): void {
    this.#failures = 0
    this.#nextAttemptAt = 0
    if (this.#state !== 'CLOSED') this.#set('CLOSED')
  }

  recordFailure (): void {
    this.#failures++
    const now = this.#clock()
    if (this.#state === 'HALF_OPEN' || this.#failures >= this.#threshold) {
      this.#nextAttemptAt = now + this.#openMs
      if (this.#state !== 'OPEN') this.#set('OPEN')
      return
    }
    const ceiling = Math.min(this.#maxMs, this.#baseMs * 2 ** (this.#failures - 1))
    this.#nextAttemptAt = now + Math.floor(ceiling / 2 + this.#random() * ceiling / 2)
  }

  #set (state: BreakerState): void {
    const previous = this.#state
    this.#state = state
    this.#onStateChange?.(state, previous)
  }
}
