// An HTTP request to the platform's API (the CLI's, e.g. `rewards reconcile --api-url`) that is
// answered 429 (rate limited) or 503 (a store restoring, a rebalance) is sent again after the
// server's Retry-After (1 s when absent or unreadable, at most maxDelayMs), at most `retries`
// times: a cockatiel retry on those answers. The last answer is returned whatever it is.
import { DelegateBackoff, handleWhenResult, retry, type IRetryBackoffContext } from 'cockatiel'

export const RETRY_AFTER_POLICY = Object.freeze({ retries: 30, maxDelayMs: 10_000 })

const isDeferred = (response: Response): boolean => response.status === 429 || response.status === 503

/** Seconds of a Retry-After header given in seconds (the platform's form), in ms; 1 s otherwise. */
export function retryAfterMs (response: Response, maxDelayMs: number): number {
  const seconds = Number(response.headers.get('retry-after') ?? '1')
  return Math.min(Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 1000, maxDelayMs)
}

export async function fetchHonouringRetryAfter (url: string, init: RequestInit, settings: { retries?: number, maxDelayMs?: number } = {}): Promise<Response> {
  const maxDelayMs = settings.maxDelayMs ?? RETRY_AFTER_POLICY.maxDelayMs
  const policy = retry(handleWhenResult(answer => isDeferred(answer as Response)), {
    maxAttempts: settings.retries ?? RETRY_AFTER_POLICY.retries,
    backoff: new DelegateBackoff<IRetryBackoffContext<unknown>>(context => {
      // Only deferred answers are retried (fetch's own errors are not handled): a value is there.
      const deferred = (context.result as { value: Response }).value
      // The deferred answer is dropped: release its connection before waiting.
      void deferred.body?.cancel()
      return retryAfterMs(deferred, maxDelayMs)
    })
  })
  return await policy.execute(() => fetch(url, init))
}
