// Trace ids on log lines. Every line logged inside an active span (a request's handler, a
// record's processing, a produce) gets `trace_id` and `span_id` through the pino mixin; request
// loggers get them bound once (bindTrace) because Fastify runs some hooks (body parsing,
// onResponse) outside the request's async context. A bound logger is marked so the mixin does
// not add the same fields twice.
import { context, isSpanContextValid, trace, type SpanContext } from '@opentelemetry/api'

/** pino's Logger or Fastify's FastifyBaseLogger. */
interface ChildLogger { child (bindings: Record<string, unknown>): unknown }

const TRACE_BOUND = Symbol('rewards.traceBound')

interface Marked { [TRACE_BOUND]?: true }

/** pino `mixin`: the active span's ids, unless the logger has them bound. Must return a new
 *  object each call (pino merges into it). */
export function traceMixin (_object: object, _level: number, logger: unknown): Record<string, string> {
  if ((logger as Marked | undefined)?.[TRACE_BOUND] === true) return {}
  const spanContext = trace.getSpanContext(context.active())
  return spanContext !== undefined && isSpanContextValid(spanContext) ? { trace_id: spanContext.traceId, span_id: spanContext.spanId } : {}
}

/** A child logger with the span's ids bound (and marked so the mixin leaves them alone). */
export function bindTrace<L extends ChildLogger> (logger: L, spanContext: SpanContext): L {
  const child = logger.child({ trace_id: spanContext.traceId, span_id: spanContext.spanId }) as L & Marked
  child[TRACE_BOUND] = true
  return child
}
