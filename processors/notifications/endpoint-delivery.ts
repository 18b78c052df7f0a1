// Delivery to one endpoint: bounded concurrency, retries with exponential backoff and jitter, a
// circuit breaker of its own, and a time budget per delivery:
//
//   bulkhead(concurrency, maxQueued) → attempts (maxAttempts, exponential backoff with
//   decorrelated jitter between them) → circuit breaker (breakerFailureThreshold consecutive
//   failures open it for breakerOpenMs, then one trial call) → one HTTP call (webhook-client.ts,
//   timeoutMs); the whole bounded by maxDeliveryMs.
//
// Bulkhead, breaker and backoff are cockatiel's; the attempt loop is ours so that every wait in it
// (open circuit, backoff) can be cut short by the time budget or by an abort.
//
// maxAttempts counts HTTP calls: while the circuit is open a delivery makes no call and spends no
// attempt, it waits for the circuit to half-open (then one trial call goes out; the others wait for
// its verdict). So a partner down for a maintenance window shorter than the budget loses nothing,
// as long as the failed trial calls (each spends an attempt of the delivery making it) leave the
// deliveries attempts to spare (docs/notifications.md: maxAttempts ≥ threshold + W / breakerOpenMs).
//
// The time budget bounds what a dead partner costs: a delivery is dead-lettered (DELIVERY_TIMEOUT)
// once it is still undelivered maxDeliveryMs after it was handed over, or after the endpoint's
// current run of failed calls began (`failingSince`) if that is earlier: deadline =
// min(handed over, failingSince) + maxDeliveryMs. So once an endpoint has failed for longer than
// the budget, a new delivery gets one chance (a call, if the circuit lets one through without
// waiting: closed, or the trial) and is dead-lettered at once otherwise, instead of filling the
// buffer and pausing the consumer for everyone. One successful call ends the run of failures.
// A call in flight is never cut by the budget (it has its own timeoutMs).
//
// Responses that retrying cannot fix (4xx but 408/429) settle at once as dead letters (REFUSED)
// and do not count as breaker failures (the endpoint is up and answering).
import { BrokenCircuitError, bulkhead, circuitBreaker, CircuitState, ConsecutiveBreaker, ExponentialBackoff, handleWhen, type BulkheadPolicy, type CircuitBreakerPolicy, type IBackoff } from 'cockatiel'
import type { Logger } from '../../lib/logger.ts'
import type { Headers } from '../../topology/index.ts'
import type { EndpointConfig } from '../../lib/notifications-config.ts'
import type { NotificationsMetrics } from './notifications-metrics.ts'
import { callWebhook, DeliveryError } from './webhook-client.ts'

export type BreakerStateName = 'CLOSED' | 'HALF_OPEN' | 'OPEN'

/** Why a delivery gave up (the DLQ's `notification.reason` header). */
export type FailureReason = 'RETRIES_EXHAUSTED' | 'REFUSED' | 'DELIVERY_TIMEOUT'

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
  | {
    readonly result: 'failed'
    readonly reason: FailureReason
    readonly attempts: number
    readonly calls: number
    readonly error: string
    readonly status: number | null
    /** The circuit's state when the delivery gave up. */
    readonly circuit: BreakerStateName
    /** From hand-over to giving up. */
    readonly elapsedMs: number
  }
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

/** Thrown inside a delivery to end it: the reason, or an abort. */
class GiveUp extends Error {
  readonly reason: FailureReason | 'aborted'
  constructor (reason: FailureReason | 'aborted') {
    super(reason)
    this.reason = reason
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (so a stopping process does not wait). */
function wait (ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise<void>(resolve => {
    const timer = setTimeout(done, ms)
    function done (): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

export class EndpointDelivery {
  readonly endpoint: EndpointConfig
  readonly #metrics: NotificationsMetrics
  readonly #logger: Logger | undefined
  readonly #bulkhead: BulkheadPolicy
  readonly #breaker: CircuitBreakerPolicy
  readonly #backoff: ExponentialBackoff<unknown>
  #active = 0
  /** When the circuit last opened (ms since the epoch). */
  #openedAt = 0
  /** When the current run of failed calls began; null after a call the endpoint answered. */
  #failingSince: number | null = null
  /** A warning was logged for this run of failures' first expired delivery. */
  #expiryLogged = false
  #lastError: string | null = null

  constructor (endpoint: EndpointConfig, metrics: NotificationsMetrics, logger?: Logger) {
    this.endpoint = endpoint
    this.#metrics = metrics
    this.#logger = logger
    this.#bulkhead = bulkhead(endpoint.concurrency, endpoint.maxQueued)
    this.#breaker = circuitBreaker(handleWhen(retriable), {
      halfOpenAfter: endpoint.breakerOpenMs,
      breaker: new ConsecutiveBreaker(endpoint.breakerFailureThreshold)
    })
    this.#backoff = new ExponentialBackoff({ initialDelay: endpoint.backoffInitialMs, maxDelay: endpoint.backoffMaxMs })
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
  }

  get breakerState (): BreakerStateName {
    return STATE_NAMES[this.#breaker.state]
  }

  /** The last failed call's error (`HTTP 500`, `timed out after …`), or null. */
  get lastError (): string | null {
    return this.#lastError
  }

  /** Calls `listener` on every circuit state change; returns a function that stops it. */
  onCircuitChange (listener: (state: BreakerStateName) => void): () => void {
    const subscription = this.#breaker.onStateChange(state => listener(STATE_NAMES[state]))
    return () => subscription.dispose()
  }

  /** Deliveries this endpoint can still take without refusing one (free slots + queue room). */
  get room (): number {
    return this.#bulkhead.executionSlots + this.#bulkhead.queueSlots
  }

  /** Delivers one notification; never rejects. Callers keep room > 0 (see `room`). */
  async deliver (job: DeliveryJob): Promise<DeliveryOutcome> {
    const labels = { endpoint: this.endpoint.id }
    const handedOverAt = Date.now()
    let attempts = 0
    let calls = 0
    let lastError = ''
    /** Status of the last HTTP response (null: none, or no response). */
    let lastStatus: number | null = null

    // The time budget: `expired` aborts at the deadline, re-armed while the deadline moves later
    // (it only can: failingSince is reset, or set to a time after the hand-over).
    const expired = new AbortController()
    const deadline = (): number => Math.min(handedOverAt, this.#failingSince ?? Infinity) + this.endpoint.maxDeliveryMs
    let timer: NodeJS.Timeout | undefined
    const arm = (): void => {
      const ms = deadline() - Date.now()
      if (ms <= 0) { expired.abort(); return }
      timer = setTimeout(arm, Math.min(ms, 2 ** 31 - 1))
      timer.unref()
    }
    arm()
    /** Waits end at the deadline, on abort, or when the role stops. */
    const waits = AbortSignal.any([job.signal, expired.signal])
    const checkWaited = (): void => {
      if (job.signal.aborted) throw new GiveUp('aborted')
      if (expired.signal.aborted) throw new GiveUp('DELIVERY_TIMEOUT')
    }

    const run = async (): Promise<number> => {
      this.#active++
      this.#updateGauges()
      let backoff: IBackoff<unknown> | undefined
      try {
        for (let first = true; ; first = false) {
          // The first call is tried even past the deadline (one chance, and the trial call that
          // can close the circuit again); later ones only while the budget lasts.
          if (job.signal.aborted) throw new GiveUp('aborted')
          if (!first && expired.signal.aborted) throw new GiveUp('DELIVERY_TIMEOUT')
          try {
            return await this.#call(job, attempts + 1, () => { attempts++; calls++ })
          } catch (error) {
            if (job.signal.aborted) throw new GiveUp('aborted')
            if (error instanceof BrokenCircuitError) {
              // Open circuit: no call made, no attempt spent; wait for the trial (within budget).
              this.#metrics.shortCircuited.inc(labels)
              if (expired.signal.aborted) throw new GiveUp('DELIVERY_TIMEOUT')
              await this.#untilHalfOpen(waits)
              checkWaited()
              continue
            }
            if (!(error instanceof DeliveryError)) throw error
            lastError = error.message
            lastStatus = error.status
            if (!error.retriable) throw new GiveUp('REFUSED')
            if (attempts >= this.endpoint.maxAttempts) throw new GiveUp('RETRIES_EXHAUSTED')
            if (expired.signal.aborted) throw new GiveUp('DELIVERY_TIMEOUT')
            backoff = backoff === undefined ? this.#backoff.next() : backoff.next(undefined)
            const delayMs = Math.round(backoff.duration)
            this.#metrics.retries.inc(labels)
            this.#logger?.debug({ endpoint: this.endpoint.id, attempt: attempts, delayMs, error: error.message }, `webhook ${this.endpoint.id}: retry in ${delayMs} ms`)
            await wait(delayMs, waits)
            checkWaited()
          }
        }
      } finally {
        this.#active--
        this.#updateGauges()
      }
    }

    try {
      // Queued behind the endpoint's concurrency: not cut by the budget (the deliveries ahead of
      // it end by their own, earlier, deadlines), so each gets its one chance.
      const queued = this.#bulkhead.execute(run, job.signal)
      this.#updateGauges()
      const status = await queued
      return { result: 'delivered', attempts, status }
    } catch (error) {
      if (job.signal.aborted || (error instanceof GiveUp && error.reason === 'aborted')) return { result: 'aborted' }
      const reason: FailureReason = error instanceof GiveUp && error.reason !== 'aborted' ? error.reason : 'RETRIES_EXHAUSTED'
      const circuit = this.breakerState
      const message = lastError !== ''
        ? lastError
        : reason === 'DELIVERY_TIMEOUT' ? `no call made: circuit ${circuit.toLowerCase()}${this.#failingSince === null ? '' : ` (endpoint failing since ${new Date(this.#failingSince).toISOString()})`}` : (error as Error).message
      const elapsedMs = Date.now() - handedOverAt
      this.#logGiveUp(reason, { attempts, calls, status: lastStatus, error: message, circuit, elapsedMs })
      return { result: 'failed', reason, attempts, calls, error: message, status: lastStatus, circuit, elapsedMs }
    } finally {
      clearTimeout(timer)
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
        this.#answered()
        return status
      } catch (error) {
        if (error instanceof DeliveryError && !job.signal.aborted) {
          end({ outcome: outcomeLabel(error) })
          this.#lastError = error.message
          if (error.retriable) this.#failingSince ??= Date.now()
          else this.#answered()
        }
        throw error
      }
    }, job.signal)
  }

  /** The endpoint answered (2xx, or a refusal): its run of failures is over. */
  #answered (): void {
    this.#failingSince = null
    this.#expiryLogged = false
  }

  #logGiveUp (reason: FailureReason, fields: { attempts: number, calls: number, status: number | null, error: string, circuit: BreakerStateName, elapsedMs: number }): void {
    const id = this.endpoint.id
    const data = { endpoint: id, reason, ...fields }
    if (reason !== 'DELIVERY_TIMEOUT') {
      this.#logger?.warn(data, `webhook ${id}: giving up after ${fields.attempts} attempt(s) (${reason}): ${fields.error}`)
    } else if (!this.#expiryLogged) {
      // Once per run of failures: past the budget a dead endpoint dead-letters every record.
      this.#expiryLogged = true
      this.#logger?.warn(data, `webhook ${id}: undelivered after maxDeliveryMs (${this.endpoint.maxDeliveryMs} ms): dead-lettering (circuit ${fields.circuit}; further ones of this outage are logged at debug level)`)
    } else {
      this.#logger?.debug(data, `webhook ${id}: undelivered after maxDeliveryMs, dead-lettered`)
    }
  }

  /** Resolves when the open circuit may half-open (a trial call may go), or on abort. */
  async #untilHalfOpen (signal: AbortSignal): Promise<void> {
    // A little jitter so the waiters do not all knock at the same millisecond.
    const waitMs = Math.max(10, this.#openedAt + this.endpoint.breakerOpenMs - Date.now()) + Math.floor(Math.random() * 20)
    await wait(waitMs, signal)
  }

  #updateGauges (): void {
    const labels = { endpoint: this.endpoint.id }
    this.#metrics.inFlight.set(labels, this.#active)
    this.#metrics.queued.set(labels, this.endpoint.maxQueued - this.#bulkhead.queueSlots)
  }
}
