// The resilience policy of the log (Kafka, and the embedded log through the same port): every
// retry and backoff around the broker, with its settings in one place, as cockatiel policies.
//
// - request: one admin / coordinator / metadata request, retried on retriable errors
//   (kafka-errors.ts isRetriable: network, coordinator moved, leader moving, …), 8 attempts,
//   backoff 50 ms growing to 2 s; fatal errors (authorization, fencing, security) at once.
// - join: between JoinGroup/SyncGroup rounds of a group consumer: 50 ms growing to 2 s.
// - poll: a group consumer's poll failed with a retriable error (broker unreachable, rebalance):
//   200 ms growing to 5 s, for as long as it lasts (the archiver).
// - commitConnection: a stream thread's commit aborted because the broker is unreachable or
//   slow: 100 ms growing to 10 s, for as long as it lasts.
// - producerReplacement: a replacement producer's InitProducerId, 10 retries, 200 ms to 10 s.
// - threadReplacement: between a stream thread's death and its replacement: 200 ms to 30 s.
// - topicVisible: a topic just created is not yet in the answering broker's metadata: 50 ms to 1 s
//   (bounded by a deadline, lib/platform-topics.ts).
// Backoffs are cockatiel's ExponentialBackoff (exponent 2, decorrelated jitter). This module does
// not load the Kafka client (the embedded log and the engine use it too): which Kafka errors are
// retriable is log/kafka/kafka-errors.ts's, applied by log/kafka/kafka-retry.ts.
import { ExponentialBackoff, handleWhen, retry, type RetryPolicy } from 'cockatiel'
import { isRewardsError } from '../errors.ts'

export const KAFKA_POLICY = Object.freeze({
  request: { attempts: 8, initialDelayMs: 50, maxDelayMs: 2000 },
  join: { initialDelayMs: 50, maxDelayMs: 2000 },
  poll: { initialDelayMs: 200, maxDelayMs: 5000 },
  commitConnection: { initialDelayMs: 100, maxDelayMs: 10_000 },
  producerReplacement: { retries: 10, initialDelayMs: 200, maxDelayMs: 10_000 },
  threadReplacement: { initialDelayMs: 200, maxDelayMs: 30_000 },
  topicVisible: { initialDelayMs: 50, maxDelayMs: 1000 }
})

const backoff = (s: { initialDelayMs: number, maxDelayMs: number }): ExponentialBackoff<unknown> =>
  new ExponentialBackoff({ initialDelay: s.initialDelayMs, maxDelay: s.maxDelayMs })

export interface RequestRetryOptions {
  /** Which errors a later attempt can cure. */
  readonly isRetriable: (error: unknown) => boolean
  /** Attempts in all (first call included); default KAFKA_POLICY.request.attempts. */
  readonly attempts?: number
  readonly initialDelayMs?: number
  readonly maxDelayMs?: number
  /** Called before each retry (e.g. to forget a cached coordinator). */
  readonly onRetry?: (error: unknown, attempt: number) => void
  /** True once the client is closed: no more retries. */
  readonly isClosed?: () => boolean
}

/** The retry policy of one Kafka request. */
export function kafkaRequestPolicy (options: RequestRetryOptions): RetryPolicy {
  const s = KAFKA_POLICY.request
  const policy = retry(handleWhen(error => options.isRetriable(error) && options.isClosed?.() !== true), {
    maxAttempts: (options.attempts ?? s.attempts) - 1,
    backoff: backoff({ initialDelayMs: options.initialDelayMs ?? s.initialDelayMs, maxDelayMs: options.maxDelayMs ?? s.maxDelayMs })
  })
  const onRetry = options.onRetry
  if (onRetry !== undefined) policy.onRetry(event => { if ('error' in event) onRetry(event.error, event.attempt) })
  return policy
}

export const kafkaPolicy = Object.freeze({
  joinBackoff: backoff(KAFKA_POLICY.join),
  pollBackoff: backoff(KAFKA_POLICY.poll),
  commitConnectionBackoff: backoff(KAFKA_POLICY.commitConnection),
  threadReplacementBackoff: backoff(KAFKA_POLICY.threadReplacement),
  topicVisibleBackoff: backoff(KAFKA_POLICY.topicVisible),
  /** Retriable RewardsErrors only (LOG_CONNECTION, …): a fenced or refused producer is not. */
  producerReplacement: retry(handleWhen(error => isRewardsError(error) && error.retriable), {
    maxAttempts: KAFKA_POLICY.producerReplacement.retries,
    backoff: backoff(KAFKA_POLICY.producerReplacement)
  })
})
