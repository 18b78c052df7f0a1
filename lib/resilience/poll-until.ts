// Waiting for something that appears later (a redemption's decision in its member's store): ask
// again with exponential backoff until the answer is there or the wait's bound ends. A cockatiel
// retry on the result `undefined`; the bound is a deadline, not a number of attempts: no pause
// ends past it, so the last ask happens before the deadline.
import { DelegateBackoff, handleWhenResult, retry } from 'cockatiel'

export interface PollSettings {
  /** How long to keep asking, in ms; 0: ask once. */
  readonly waitMs: number
  /** First pause, then doubled up to maxDelayMs. */
  readonly initialDelayMs: number
  readonly maxDelayMs: number
}

/** Calls `ask` until it answers something other than undefined or `waitMs` has passed; answers
 *  the last answer (undefined when the wait ran out). Errors of `ask` end the wait. */
export async function pollUntil<T> (ask: () => Promise<T | undefined>, settings: PollSettings): Promise<T | undefined> {
  const deadline = Date.now() + settings.waitMs
  // Pause before ask n+1 (n ≥ 1): initialDelayMs doubled n−1 times, at most maxDelayMs.
  const pauseBefore = (attempt: number): number => Math.min(settings.initialDelayMs * 2 ** (attempt - 1), settings.maxDelayMs)
  const policy = retry(handleWhenResult(answer => answer === undefined), {
    maxAttempts: Number.POSITIVE_INFINITY,
    backoff: new DelegateBackoff<{ attempt: number }>(context => pauseBefore(context.attempt))
  })
  // cockatiel gives up (answering the last result) once the signal is aborted: aborted when the
  // next pause would end past the deadline.
  const stop = new AbortController()
  return await policy.execute(async ({ attempt }) => {
    const answer = await ask()
    if (answer === undefined && Date.now() + pauseBefore(attempt + 1) > deadline) stop.abort()
    return answer
  }, stop.signal)
}
