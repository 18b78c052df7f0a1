// Delivery to one endpoint: bounded concurrency, retries with exponential backoff and jitter, and a
// circuit breaker of its own, composed from cockatiel policies:
//
//   bulkhead(concurrency, maxQueued) → retry(maxAttempts, exponential backoff, decorrelated
//   jitter) → circuit breaker (breakerFailureThreshold consecutive failures open it for
//   breakerOpenMs, then one trial call) → one HTTP call (webhook-client.ts, timeoutMs)
//
// A delivery holds its concurrency slot through its retries. maxAttempts counts HTTP calls: while
// the circuit is open a delivery makes no call and spends no attempt, it waits for the circuit to
// half-open (then one trial call goes out; the others wait for its verdict). So the DLQ gets
// exactly the records the endpoint really failed maxAttempts times, and a partner down for an
// hour loses nothing: its deliveries wait (bounded by concurrency + maxQueued, see notifier.ts).
// Responses that retrying cannot fix (4xx but 408/429) settle at once as dead letters and do not
// count as breaker failures (the endpoint is up and answering).
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
  /** When the circuit last opened (ms since the epoch). */
  #openedAt = 0

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
    this.#retry = retry(handleWhen(retriable), {
      maxAttempts: endpoint.maxAttempts - 1, // cockatiel counts retries; ours counts attempts
      backoff: new ExponentialBackoff({ initialDelay: endpoint.backoffInitialMs, maxDelay: endpoint.backoffMaxMs })
    }).dangerouslyUnref()
    const labels = { endpoint: endpoint.id }
    metrics.circuitState.set(labels, 0)
    metrics.inFlight.set(labels, 0)
    metrics.queued.set(labels, 0)
    this.#breaker.onStateChange(state => {
      const name = STATE_NAMES[state]
      if (name === 'OPEN') this.#openedAt = Date.now()
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
          attempts = attempt + 1
          for (;;) {
            if (job.signal.aborted) throw new DeliveryError('aborted', null, false)
            try {
              return await this.#call(job, attempts, () => { calls++ })
            } catch (error) {
              if (!(error instanceof BrokenCircuitError)) {
                if (error instanceof DeliveryError) {
                  lastError = error.message
                  lastStatus = error.status
                }
                throw error
              }
              // Open circuit: no call made, no attempt spent; wait for the trial.
              this.#metrics.shortCircuited.inc(labels)
              await this.#untilHalfOpen(job.signal)
            }
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

  /** One HTTP call through the circuit breaker. */
  #call (job: DeliveryJob, attempt: number, counted: () => void): Promise<number> {
    return this.#breaker.execute(async () => {
      counted()
      const end = this.#metrics.attemptSeconds.startTimer({ endpoint: this.endpoint.id })
      try {
        const status = await callWebhook({
          endpointId: this.endpoint.id,
          url: this.endpoint.url,
          secret: this.endpoint.secret.reveal(),
          body: job.body,
          idempotencyKey: job.idempotencyKey,
          kind: job.kind,
          attempt,
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
  }

  /** Resolves when the open circuit may half-open (a trial call may go), or on abort. */
  async #untilHalfOpen (signal: AbortSignal): Promise<void> {
    // A little jitter so the waiters do not all knock at the same millisecond.
    const waitMs = Math.max(10, this.#openedAt + this.endpoint.breakerOpenMs - Date.now()) + Math.floor(Math.random() * 20)
    await new Promise<void>(resolve => {
      const timer = setTimeout(done, waitMs)
      function done (): void {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        resolve()
      }
      signal.addEventListener('abort', done, { once: true })
    })
  }

  #updateGauges (): void {
    const labels = { endpoint: this.endpoint.id }
    this.#metrics.inFlight.set(labels, this.#active)
    this.#metrics.queued.set(labels, this.endpoint.maxQueued - this.#bulkhead.queueSlots)
  }
}
