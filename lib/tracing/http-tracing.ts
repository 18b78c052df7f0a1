// A SERVER span per HTTP request, installed on the root Fastify instance by api/ops-server.ts.
//
// - The incoming `traceparent`/`tracestate` (W3C) is the span's parent; without an SDK the
//   extracted remote context is kept as the request's context all the same, so a produce made
//   for the request still carries the caller's trace (trace-headers.ts).
// - Name `METHOD /route/pattern`; attributes http.request.method, http.route, url.path,
//   rewards.request_id, http.response.status_code (status ERROR on 5xx).
// - Route handlers run inside the span's context (onRoute wrapper), so spans they start (produce)
//   and lines they log are the request's; the request's logger gets trace_id/span_id bound.
// - Health probes and /metrics get no span (scraped every few seconds: noise, not traces).
import { context, isSpanContextValid, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api'
import type { ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyRequest, RouteHandlerMethod } from 'fastify'
import { bindTrace } from './log-trace-fields.ts'
import { extractContext } from './trace-headers.ts'
import { ATTR, tracer, tracingActive } from './tracer.ts'

const UNTRACED_ROUTES = new Set(['/health/live', '/health/ready', '/metrics'])

const contexts = new WeakMap<FastifyRequest, Context>()

/** The context a request's work runs in: its server span's, or the caller's remote context, or
 *  the root context. */
export function requestContext (request: FastifyRequest): Context {
  return contexts.get(request) ?? ROOT_CONTEXT
}

/** Ends a request's span when its response closes: with the status once the response was
 *  sent, as aborted by the client when the connection closed first. */
function endSpanOnClose (response: ServerResponse, span: Span): void {
  response.once('close', () => {
    if (response.writableFinished) {
      span.setAttribute(ATTR.httpStatus, response.statusCode)
      if (response.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
    } else {
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'request aborted by the client' })
    }
    span.end()
  })
}

export function installHttpTracing (app: FastifyInstance): void {
  // Callback hooks (no promise per request), and nothing at all to do for a request without a
  // `traceparent` while no SDK is registered: its context is the root context (requestContext's
  // default) and its handler runs as is (docs/benchmarks.md "API balance query"). A started span
  // ends on its response's `close` (a listener on that request only), not in onResponse and
  // onRequestAbort hooks: Fastify runs those, and adds a `close` listener for the latter, on
  // every request of every route.
  app.addHook('onRequest', (request, reply, done) => {
    const active = tracingActive()
    if (!active && request.headers.traceparent === undefined) { done(); return }
    const parent = extractContext(request.headers)
    const route = request.routeOptions.url
    if (!active || (route !== undefined && UNTRACED_ROUTES.has(route))) {
      contexts.set(request, parent)
      done()
      return
    }
    const span = tracer().startSpan(route === undefined ? request.method : `${request.method} ${route}`, { kind: SpanKind.SERVER }, parent)
    if (span.isRecording()) {
      span.setAttributes({ [ATTR.httpMethod]: request.method, [ATTR.httpRoute]: route ?? '', [ATTR.urlPath]: request.url.split('?', 1)[0]!, [ATTR.requestId]: request.id })
    }
    contexts.set(request, trace.setSpan(parent, span))
    endSpanOnClose(reply.raw, span)
    const spanContext = span.spanContext()
    if (isSpanContextValid(spanContext)) {
      // The reply holds its own reference to the logger (Fastify's error handler logs through it).
      request.log = reply.log = bindTrace(request.log, spanContext)
    }
    done()
  })
  app.addHook('onRoute', routeOptions => {
    const handler = routeOptions.handler
    const traced: RouteHandlerMethod = function (this: FastifyInstance, request, reply) {
      const ctx = contexts.get(request)
      return ctx === undefined ? handler.call(this, request, reply) : context.with(ctx, handler, this, request, reply)
    }
    routeOptions.handler = traced as typeof routeOptions.handler
  })
}
