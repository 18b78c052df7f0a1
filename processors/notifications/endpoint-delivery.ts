// Delivery to one endpoint: bounded concurrency, retries with exponential backoff and jitter, and a
// circuit breaker of its own, composed from cockatiel policies:
//
//   bulkhead(concurrency, maxQueued) → retry(maxAttempts, exponential backoff, decorrelated
//   jitter) → circuit breaker (breakerFailureThreshold consecutive failures open it for
//   breakerOpenMs, then one trial call) → one HTTP call (webhook-client.ts, timeoutMs)
//
// A delivery holds its concurrency slot through its retries. An attempt refused by the open
// circuit makes no HTTP call but counts against maxAttempts, so a dead endpoint's records reach
// the DLQ after the retry schedule (about the sum of the backoffs) instead of holding the role
// forever. Responses that retrying cannot fix (4xx but 408/429) settle at once as dead letters
// and do not count as breaker failures (the endpoint is up and answering).
import { BrokenCircuitError, bulkhead, circuitBreaker, CircuitState, ConsecutiveBreaker, ExponentialBackoff, handleWhen, retry, type BulkheadPolicy, type CircuitBreakerPolicy, type RetryPolicy } from 'cockatiel'
import type { Logger } from '../../lib/logger.ts'
import type { Headers } from '../../log/log-port.ts'
import type { EndpointConfig } from './notifications-config.ts'
import type { NotificationsMetrics } from './notifications-metrics.ts'
import { callWebhook, DeliveryError } from './webhook-client.ts'

export type BreakerStateName = 'CLOSED' | 'HALF_OPEN' | 'OPEN'

export interface DeliveryJob {
  readonly kind: string
  readonly idempotencyKey: string
  readonly body: Buffer
  readonly recordHeaders: Headers
  /** Aborted when the record is no longer ours (partition revoked) or the role stops. */
  readonly signal: AbortSignal
}

export type DeliveryOutcome =
  | { readonly result: 'delivered', readonly attempts: number, readonly status: number }
  | { readonly result: 'failed', readonly attempts: number, readonly calls: number, readonly error: string, readonly status: number | null }
  | { readonly result: 'aborted' }

const STATE_NAMES: Record<CircuitState, BreakerStateName> = {
  [CircuitState.Closed]: 'CLOSED',
  [CircuitState.HalfOpen]: 'HALF_OPEN',
  [CircuitState.Open]: 'OPEN',
  [CircuitState.Isolated]: 'OPEN'
}
const STATE_GAUGE: Record<BreakerStateName, number> = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 }

const retriable = (error: unknown): boolean => error instanceof DeliveryError && error.retriable

function outcomeLabel (error: DeliveryError): string {
  if (error.status !== null) return 'http_error'
  return error.message.startsWith('timed out') ? 'timeout' : 'network_error'
}

export class EndpointDelivery {
  readonly endpoint: EndpointConfig
  readonly #metrics: NotificationsMetrics
  readonly #logger: Logger | undefined
  readonly #bulkhead: BulkheadPolicy
  readonly #breaker: CircuitBreakerPolicy
  readonly #retry: RetryPolicy
  #active = 0

  constructor (endpoint: EndpointConfig, metrics: NotificationsMetrics, logger?: Logger) {
    this.endpoint = endpoint
    this.#metrics = metrics
    this.#logger = logger
    this.#bulkhead = bulkhead(endpoint.concurrency, endpoint.maxQueued)
    this.#breaker = circuitBreaker(handleWhen(retriable), {
      halfOpenAfter: endpoint.breakerOpenMs,
      breaker: new ConsecutiveBreaker(endpoint.breakerFailureThreshold)
    })
    // Backoff timers must not keep a stopping process alive (the delivery is aborted then).
    this.#retry = retry(handleWhen(error => retriable(error) || error instanceof BrokenCircuitError), {
      maxAttempts: endpoint.maxAttempts - 1, // cockatiel counts retries; ours counts attempts
      backoff: new ExponentialBackoff({ initialDelay: endpoint.backoffInitialMs, maxDelay: endpoint.backoffMaxMs })
    }).dangerouslyUnref()
    const labels = { endpoint: endpoint.id }
    metrics.circuitState.set(labels, 0)
    metrics.inFlight.set(labels, 0)
    metrics.queued.set(labels, 0)
    this.#breaker.onStateChange(state => {
      const name = STATE_NAMES[state]
      metrics.circuitState.set(labels, STATE_GAUGE[name])
      logger?.[name === 'OPEN' ? 'warn' : 'info']({ endpoint: endpoint.id, state: name }, `webhook ${endpoint.id}: circuit ${name}`)
    })
    this.#retry.onRetry(event => {
      metrics.retries.inc(labels)
      const error = 'error' in event ? event.error : undefined
      logger?.debug({ endpoint: endpoint.id, attempt: event.attempt, delayMs: Math.round(event.delay), error: (error as Error | undefined)?.message }, `webhook ${endpoint.id}: retry in ${Math.round(event.delay)} ms`)
    })
  }

  get breakerState (): BreakerStateName {
    return STATE_NAMES[this.#breaker.state]
  }

  /** Deliveries this endpoint can still take without refusing one (free slots + queue room). */
  get room (): number {
    return this.#bulkhead.executionSlots + this.#bulkhead.queueSlots
  }

  /** Deliveries held (running or queued). */
  get held (): number {
    return this.#active + (this.endpoint.maxQueued - this.#bulkhead.queueSlots)
  }

  /** Delivers one notification; never rejects. Callers keep room > 0 (see `room`). */
  async deliver (job: DeliveryJob): Promise<DeliveryOutcome> {
    const labels = { endpoint: this.endpoint.id }
    let attempts = 0
    let calls = 0
    let lastError = ''
    /** Status of the last HTTP response (null: none, or no response). */
    let lastStatus: number | null = null
    const run = async (): Promise<number> => {
      this.#active++
      this.#updateGauges()
      try {
        return await this.#retry.execute(async ({ attempt }) => {
          if (job.signal.aborted) throw new DeliveryError('aborted', null, false)
          attempts = attempt + 1
          try {
            return await this.#breaker.execute(async () => {
              calls++
              const end = this.#metrics.attemptSeconds.startTimer()
              try {
                const status = await callWebhook({
                  endpointId: this.endpoint.id,
                  url: this.endpoint.url,
                  secret: this.endpoint.secret.reveal(),
                  body: job.body,
                  idempotencyKey: job.idempotencyKey,
                  kind: job.kind,
                  attempt: attempts,
                  timeoutMs: this.endpoint.timeoutMs,
                  recordHeaders: job.recordHeaders,
                  signal: job.signal
                })
                end({ outcome: 'success' })
                return status
              } catch (error) {
                if (error instanceof DeliveryError && !job.signal.aborted) end({ outcome: outcomeLabel(error) })
                throw error
              }
            }, job.signal)
          } catch (error) {
            if (error instanceof BrokenCircuitError) {
              this.#metrics.shortCircuited.inc(labels)
              lastError = 'circuit open (endpoint failing)'
            } else if (error instanceof DeliveryError) {
              lastError = error.message
              lastStatus = error.status
            }
            throw error
          }
        }, job.signal)
      } finally {
        this.#active--
        this.#updateGauges()
      }
    }
    try {
      const queued = this.#bulkhead.execute(run, job.signal)
      this.#updateGauges()
      const status = await queued
      return { result: 'delivered', attempts, status }
    } catch (error) {
      if (job.signal.aborted) return { result: 'aborted' }
      const message = lastError === '' ? (error as Error).message : lastError
      this.#logger?.warn({ endpoint: this.endpoint.id, attempts, calls, status: lastStatus, error: message }, `webhook ${this.endpoint.id}: giving up after ${attempts} attempt(s): ${message}`)
      return { result: 'failed', attempts, calls, error: message, status: lastStatus }
    } finally {
      this.#updateGauges()
    }
  }

  #updateGauges (): void {
    const labels = { endpoint: this.endpoint.id }
    this.#metrics.inFlight.set(labels, this.#active)
    this.#metrics.queued.set(labels, this.endpoint.maxQueued - this.#bulkhead.queueSlots)
  }
}
