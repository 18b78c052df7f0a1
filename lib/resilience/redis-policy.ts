// The resilience policy of Redis (the shared cache, api/cache/shared-cache.ts), settings in one
// place: each command bounded by commandTimeoutMs; reconnection backoff; and a cockatiel circuit
// breaker over the commands, so that a Redis that hangs (connected, not answering) costs each
// request one command timeout only until failureThreshold consecutive failures, then none: the
// cache falls back to this instance at once for openMs, then one trial command goes to Redis.
// A reconnection ('ready') starts a fresh, closed breaker. State is in memory only.
import { circuitBreaker, CircuitState, ConsecutiveBreaker, handleAll, type CircuitBreakerPolicy } from 'cockatiel'

export const REDIS_POLICY = Object.freeze({
  commandTimeoutMs: 100,
  // Not 1 s: the timer fires before the socket's connect event when start-up blocks the event
  // loop longer than that (embedded PostgreSQL's WebAssembly), reporting a healthy Redis down.
  // A refused or dropped connection is seen at once whatever this is.
  connectTimeoutMs: 5000,
  /** Reconnection: 200 ms per failed attempt, at most 2 s. */
  reconnectStepMs: 200,
  reconnectMaxMs: 2000,
  failureThreshold: 5,
  openMs: 1000
})

export interface RedisPolicySettings {
  readonly commandTimeoutMs?: number
  readonly failureThreshold?: number
  readonly openMs?: number
}

export class RedisPolicy {
  readonly commandTimeoutMs: number
  readonly connectTimeoutMs = REDIS_POLICY.connectTimeoutMs
  readonly #failureThreshold: number
  readonly #openMs: number
  #breaker: CircuitBreakerPolicy

  constructor (settings: RedisPolicySettings = {}) {
    this.commandTimeoutMs = settings.commandTimeoutMs ?? REDIS_POLICY.commandTimeoutMs
    this.#failureThreshold = settings.failureThreshold ?? REDIS_POLICY.failureThreshold
    this.#openMs = settings.openMs ?? REDIS_POLICY.openMs
    this.#breaker = this.#newBreaker()
  }

  #newBreaker (): CircuitBreakerPolicy {
    return circuitBreaker(handleAll, { halfOpenAfter: this.#openMs, breaker: new ConsecutiveBreaker(this.#failureThreshold) })
  }

  /** ioredis retryStrategy: the delay before reconnection attempt `times`. */
  reconnectDelayMs (times: number): number {
    return Math.min(times * REDIS_POLICY.reconnectStepMs, REDIS_POLICY.reconnectMaxMs)
  }

  get open (): boolean {
    return this.#breaker.state === CircuitState.Open
  }

  /** Runs one command through the breaker; BrokenCircuitError when open (no command sent). */
  async execute<T> (command: () => Promise<T>): Promise<T> {
    return await this.#breaker.execute(command)
  }

  /** Redis is connected again: forget the failures of the outage. */
  reset (): void {
    if (this.#breaker.state !== CircuitState.Closed) this.#breaker = this.#newBreaker()
  }
}
