// The resilience policy of PostgreSQL (the archive database): a cockatiel circuit breaker and an
// exponential backoff, for a caller that must not block while the database is down (the archiver
// keeps polling Kafka, partitions paused, to stay in its group: docs/archive.md).
//
//   CLOSED ── failureThreshold consecutive outage errors ──► OPEN ── openMs ──► HALF_OPEN (1 trial)
//     ▲                                                        ▲                     │
//     └───────────────────── the trial succeeds ───────────────┴── the trial fails ──┘
//
// Below the threshold each failure delays the next attempt by an exponential backoff with half jitter.
// Only outage errors count (classifyDatabaseError 'retriable'): a row the database refuses is data,
// not an outage, and never opens the breaker. The state is in memory: a restart starts CLOSED.
import { BrokenCircuitError, circuitBreaker, CircuitState, ConsecutiveBreaker, ExponentialBackoff, halfJitterGenerator, handleWhen, type CircuitBreakerPolicy, type IBackoff } from 'cockatiel'
import { classifyDatabaseError } from '../db/database-errors.ts'

export type BreakerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN'

export interface PostgresPolicySettings {
  /** Consecutive outage errors that open the circuit; default 5. */
  readonly failureThreshold?: number
  /** First backoff after a failure; grows exponentially up to maxBackoffMs. Default 100. */
  readonly baseBackoffMs?: number
  readonly maxBackoffMs?: number
  /** How long the circuit stays open before one trial call; default 5000. */
  readonly openMs?: number
  readonly onStateChange?: (state: BreakerState, previous: BreakerState) => void
}

export const POSTGRES_POLICY_DEFAULTS = { failureThreshold: 5, baseBackoffMs: 100, maxBackoffMs: 10_000, openMs: 5000 } as const

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'CLOSED',
  [CircuitState.HalfOpen]: 'HALF_OPEN',
  [CircuitState.Open]: 'OPEN',
  [CircuitState.Isolated]: 'OPEN'
}

/** Thrown by execute() instead of calling the database while the circuit is open or a backoff
 *  runs: nothing was attempted. */
export class NotAttemptedError extends Error {
  readonly retryInMs: number
  constructor (retryInMs: number) {
    super(`PostgreSQL not attempted: retry in ${retryInMs} ms`)
    this.name = 'NotAttemptedError'
    this.retryInMs = retryInMs
  }
}

export class PostgresPolicy {
  readonly #breaker: CircuitBreakerPolicy
  readonly #backoff: ExponentialBackoff<unknown>
  readonly #openMs: number
  #current: IBackoff<unknown> | undefined
  #nextAttemptAt = 0
  #openedAt = 0
  #state: BreakerState = 'CLOSED'

  constructor (settings: PostgresPolicySettings = {}) {
    const s = { ...POSTGRES_POLICY_DEFAULTS, ...settings }
    this.#openMs = s.openMs
    // Half jitter keeps each delay within [half, all] of its exponential step: cockatiel's default
    // (decorrelated) can draw a first delay of ~0 ms, which would retry a database that is down at once.
    this.#backoff = new ExponentialBackoff({ generator: halfJitterGenerator, initialDelay: s.baseBackoffMs, maxDelay: s.maxBackoffMs })
    this.#breaker = circuitBreaker(handleWhen(error => classifyDatabaseError(error) === 'retriable'), {
      halfOpenAfter: s.openMs,
      breaker: new ConsecutiveBreaker(s.failureThreshold)
    })
    this.#breaker.onStateChange(next => {
      const previous = this.#state
      this.#state = STATE_NAMES[next]
      if (this.#state === 'OPEN') this.#openedAt = Date.now()
      if (this.#state !== previous) settings.onStateChange?.(this.#state, previous)
    })
  }

  get state (): BreakerState { return this.#state }

  /** Milliseconds until the next call may be attempted (0: now). */
  nextAttemptInMs (): number {
    const now = Date.now()
    const until = this.#state === 'OPEN' ? Math.max(this.#nextAttemptAt, this.#openedAt + this.#openMs) : this.#nextAttemptAt
    return Math.max(0, until - now)
  }

  canAttempt (): boolean {
    return this.nextAttemptInMs() === 0
  }

  /** Runs `fn` through the breaker. Outage errors are counted and start a backoff; a refused row's
   *  error is rethrown as it is, counted as neither. NotAttemptedError: not called (wait). */
  async execute<T> (fn: () => Promise<T>): Promise<T> {
    const wait = this.nextAttemptInMs()
    if (wait > 0) throw new NotAttemptedError(wait)
    try {
      const result = await this.#breaker.execute(fn)
      this.#current = undefined
      this.#nextAttemptAt = 0
      return result
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw new NotAttemptedError(this.nextAttemptInMs() || 10)
      if (classifyDatabaseError(error) === 'retriable') {
        this.#current = (this.#current ?? this.#backoff).next(undefined)
        this.#nextAttemptAt = Date.now() + this.#current.duration
      } else {
        this.#current = undefined
        this.#nextAttemptAt = 0
      }
      throw error
    }
  }
}
