// The consumer runner's retry policy for a batch its handler did not finish (consumer-runner.ts,
// docs/engine.md "Consumer runner"): retried after an exponential backoff (cockatiel, decorrelated
// jitter) or the handler's own hint (retryInMs: a circuit breaker's open period), up to
// maxAttempts; then the policy ('stop' or 'skip'). Also the waits the runner's loop makes.
import { ExponentialBackoff, type IBackoff } from 'cockatiel'
import type { ConsumerRetryPolicy } from './consumer-runner-types.ts'

/** What to do with the records of a batch after a failed attempt. */
export type RetryDecision =
  /** A one-attempt hand-over (revoke, close) failed: left pending, not committed. */
  | 'requeue'
  /** Not retriable, or the attempts are spent: the 'stop' or 'skip' policy. */
  | 'exhausted'
  /** Wait (nextDelayMs), then try again. */
  | 'retry'

export class BatchRetryPolicy {
  readonly maxAttempts: number
  /** With 'skip', the handler's giveUp (if any) takes what the retries gave up on. */
  readonly skipWhenExhausted: boolean
  readonly #isRetriable: (error: unknown) => boolean
  readonly #backoff: ExponentialBackoff<unknown>

  constructor (policy: ConsumerRetryPolicy = {}) {
    this.maxAttempts = policy.maxAttempts ?? Infinity
    this.skipWhenExhausted = policy.exhausted === 'skip'
    this.#isRetriable = policy.isRetriable ?? (() => true)
    this.#backoff = new ExponentialBackoff({ initialDelay: policy.initialDelayMs ?? 200, maxDelay: policy.maxDelayMs ?? 10_000 })
  }

  /** After attempt number `attempt` of a batch allowed `attempts` failed with `error`. */
  decide (error: unknown, attempt: number, attempts: number): RetryDecision {
    const retriable = this.#isRetriable(error)
    if (retriable && attempts < this.maxAttempts && attempt >= attempts) return 'requeue'
    if (!retriable || attempt >= attempts) return 'exhausted'
    return 'retry'
  }

  /** The delays of one batch's retries: each call the next backoff step, at least `retryInMs`. */
  delays (): (retryInMs?: number) => number {
    let backoff: IBackoff<unknown> | undefined
    return retryInMs => {
      backoff = (backoff ?? this.#backoff).next(undefined)
      return Math.round(Math.max(backoff.duration, retryInMs ?? 0))
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function wait (ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal.aborted) { resolve(); return }
    const done = (): void => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve() }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

/** Resolves once every promise settled, or after `ms` (Infinity: no bound). */
export async function settleWithin (promises: readonly Promise<void>[], ms: number): Promise<void> {
  if (promises.length === 0) return
  if (ms === Infinity) { await Promise.allSettled(promises); return }
  let timer: NodeJS.Timeout | undefined
  await Promise.race([Promise.allSettled(promises), new Promise(resolve => { timer = setTimeout(resolve, ms) })])
  clearTimeout(timer)
}
