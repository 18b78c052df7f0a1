// One webhook call: POST the body with its signature, idempotency key and trace context, bounded
// by the endpoint's timeout. A 2xx is delivered; anything else throws a DeliveryError that says
// whether retrying can help (network errors, timeouts, 408, 429 and 5xx can; other 4xx cannot:
// the receiver looked at the request and refused it). Each call is a client span (OpenTelemetry
// API only: a no-op unless the process installs an SDK), a child of the trace in the record's
// `traceparent` header; without an SDK the record's `traceparent` is passed on as it is.
import { context, propagation, SpanKind, trace } from '@opentelemetry/api'
import { markSpanFailed } from '../../lib/tracing/tracer.ts'
import type { Headers } from '../../topology/index.ts'
import { signatureHeader, WEBHOOK_HEADERS } from './webhook-signature.ts'

const tracer = trace.getTracer('rewards-notifications')

export class DeliveryError extends Error {
  /** HTTP status, or null when no response came (timeout, connection refused, reset). */
  readonly status: number | null
  readonly retriable: boolean
  constructor (message: string, status: number | null, retriable: boolean, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'DeliveryError'
    this.status = status
    this.retriable = retriable
  }
}

export interface WebhookCall {
  readonly endpointId: string
  readonly url: string
  readonly secret: string
  readonly body: Buffer
  readonly idempotencyKey: string
  readonly kind: string
  readonly attempt: number
  readonly timeoutMs: number
  /** The record's headers (trace context). */
  readonly recordHeaders: Headers
  /** Aborts the call (shutdown, partition revoked). */
  readonly signal?: AbortSignal
  readonly now?: () => number
}

function isRetriableStatus (status: number): boolean {
  return status === 408 || status === 429 || status >= 500
}

/** Sends one attempt; resolves with the status on 2xx, throws DeliveryError otherwise. */
export async function callWebhook (call: WebhookCall): Promise<number> {
  const carrier: Record<string, string> = {}
  for (const name of ['traceparent', 'tracestate']) {
    const value = call.recordHeaders[name]
    if (value !== undefined) carrier[name] = value.toString('utf8')
  }
  const parent = propagation.extract(context.active(), carrier)
  const span = tracer.startSpan(`POST webhook ${call.endpointId}`, {
    kind: SpanKind.CLIENT,
    attributes: { 'http.request.method': 'POST', 'url.full': call.url, 'rewards.webhook.endpoint': call.endpointId, 'rewards.webhook.attempt': call.attempt }
  }, parent)
  const outgoing: Record<string, string> = {}
  propagation.inject(trace.setSpan(parent, span), outgoing)
  if (outgoing.traceparent === undefined && carrier.traceparent !== undefined) {
    outgoing.traceparent = carrier.traceparent
    if (carrier.tracestate !== undefined) outgoing.tracestate = carrier.tracestate
  }
  const timestampS = Math.floor((call.now ?? Date.now)() / 1000)
  const timeout = AbortSignal.timeout(call.timeoutMs)
  const signal = call.signal === undefined ? timeout : AbortSignal.any([call.signal, timeout])
  try {
    let response: Response
    try {
      response = await fetch(call.url, {
        method: 'POST',
        body: call.body,
        redirect: 'error',
        signal,
        headers: {
          ...outgoing,
          'content-type': 'application/json',
          'user-agent': 'rewards-notifications/1',
          [WEBHOOK_HEADERS.idempotencyKey]: call.idempotencyKey,
          [WEBHOOK_HEADERS.timestamp]: String(timestampS),
          [WEBHOOK_HEADERS.signature]: signatureHeader(call.secret, timestampS, call.body),
          [WEBHOOK_HEADERS.kind]: call.kind,
          [WEBHOOK_HEADERS.attempt]: String(call.attempt)
        }
      })
      // The body is not needed; reading it frees the connection for keep-alive. Bounded by the
      // same timeout.
      await response.arrayBuffer()
    } catch (error) {
      if (timeout.aborted) throw new DeliveryError(`timed out after ${call.timeoutMs} ms`, null, true, { cause: error })
      if (call.signal?.aborted === true) throw new DeliveryError('aborted', null, false, { cause: error })
      const cause = (error as { cause?: { code?: string, message?: string } }).cause
      throw new DeliveryError(`request failed: ${cause?.code ?? cause?.message ?? (error as Error).message}`, null, true, { cause: error })
    }
    span.setAttribute('http.response.status_code', response.status)
    if (response.status >= 200 && response.status < 300) return response.status
    throw new DeliveryError(`HTTP ${response.status}`, response.status, isRetriableStatus(response.status))
  } catch (error) {
    markSpanFailed(span, error)
    throw error
  } finally {
    span.end()
  }
}
