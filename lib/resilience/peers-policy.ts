// The resilience policy of peer HTTP forwarding (a member query forwarded to the instance that
// owns the member: api/query/member-queries.ts), settings in one place: each request bounded by
// timeoutMs, and a cockatiel circuit breaker per peer host. A peer that does not answer
// failureThreshold times in a row is not called for openMs (the query fails at once with 503
// instead of waiting a timeout each time), then one trial request goes. Only failures to get an
// answer count (connection refused, reset, timeout); any HTTP answer, even 5xx, is an answer. No
// retry here: the caller invalidates its owner map and the client retries (503 + Retry-After).
// State is in memory (bounded: the most recently used hosts).
import { circuitBreaker, CircuitState, ConsecutiveBreaker, handleAll, type CircuitBreakerPolicy } from 'cockatiel'
import { LRUCache } from 'lru-cache'

export const PEERS_POLICY = Object.freeze({ timeoutMs: 2000, failureThreshold: 3, openMs: 2000, maxHosts: 256 })

export interface PeersPolicySettings {
  readonly timeoutMs?: number
  readonly failureThreshold?: number
  readonly openMs?: number
}

export type PeerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN'

export class PeersPolicy {
  readonly timeoutMs: number
  readonly #failureThreshold: number
  readonly #openMs: number
  readonly #breakers = new LRUCache<string, CircuitBreakerPolicy>({ max: PEERS_POLICY.maxHosts })

  constructor (settings: PeersPolicySettings = {}) {
    this.timeoutMs = settings.timeoutMs ?? PEERS_POLICY.timeoutMs
    this.#failureThreshold = settings.failureThreshold ?? PEERS_POLICY.failureThreshold
    this.#openMs = settings.openMs ?? PEERS_POLICY.openMs
  }

  #breaker (host: string): CircuitBreakerPolicy {
    let breaker = this.#breakers.get(host)
    if (breaker === undefined) {
      breaker = circuitBreaker(handleAll, { halfOpenAfter: this.#openMs, breaker: new ConsecutiveBreaker(this.#failureThreshold) })
      this.#breakers.set(host, breaker)
    }
    return breaker
  }

  state (host: string): PeerState {
    const state = this.#breakers.get(host)?.state ?? CircuitState.Closed
    return state === CircuitState.Closed ? 'CLOSED' : state === CircuitState.HalfOpen ? 'HALF_OPEN' : 'OPEN'
  }

  /** One request to `host`: `send` gets the signal that bounds it. Rejects with cockatiel's
   *  BrokenCircuitError (isBrokenCircuitError) without calling `send` while the host's breaker is
   *  open. */
  async execute<T> (host: string, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return await this.#breaker(host).execute(async () => {
      // A timer cleared with the answer (AbortSignal.timeout's fires timeoutMs later all the same,
      // building an abort reason per request: the forwarded query's hot path).
      const controller = new AbortController()
      const timer = setTimeout(() => { controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')) }, this.timeoutMs)
      try {
        return await send(controller.signal)
      } finally {
        clearTimeout(timer)
      }
    })
  }
}
