// W3C Trace Context (`traceparent`, `tracestate`) in and out of Kafka record headers and HTTP
// request headers. Always W3C, with or without an SDK: a caller's `traceparent` travels on into
// the records (and so into the archive's trace_id) even when this process records no span.
import { isSpanContextValid, ROOT_CONTEXT, trace, type Context, type SpanContext, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import type { Headers } from '../../log/log-port.ts'

const w3c = new W3CTraceContextPropagator()

/** Header values as Kafka records (Buffer), archive rows (string) or HTTP requests carry them. */
export type HeaderCarrier = Readonly<Record<string, Buffer | string | string[] | undefined>>

const getter: TextMapGetter<HeaderCarrier> = {
  keys: carrier => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key]
    return Buffer.isBuffer(value) ? value.toString('latin1') : value
  }
}

const setter: TextMapSetter<Record<string, Buffer>> = {
  set: (carrier, key, value) => { carrier[key] = Buffer.from(value, 'latin1') }
}

/** `base` with the remote span context of the carrier's `traceparent` (base itself when absent
 *  or malformed). */
export function extractContext (carrier: HeaderCarrier, base: Context = ROOT_CONTEXT): Context {
  return carrier.traceparent === undefined ? base : w3c.extract(base, carrier, getter)
}

/** The remote span context of the carrier's `traceparent`, if valid. */
export function remoteSpanContext (carrier: HeaderCarrier): SpanContext | undefined {
  return carrier.traceparent === undefined ? undefined : trace.getSpanContext(w3c.extract(ROOT_CONTEXT, carrier, getter))
}

/** A copy of `headers` whose `traceparent`/`tracestate` are the span context of `ctx` (any older
 *  ones replaced; unchanged when ctx holds no valid span context). */
export function headersWithContext (headers: Headers | undefined, ctx: Context): Headers {
  const out: Record<string, Buffer> = { ...headers }
  const spanContext = trace.getSpanContext(ctx)
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return out
  delete out.traceparent
  delete out.tracestate
  w3c.inject(ctx, out, setter)
  return out
}
