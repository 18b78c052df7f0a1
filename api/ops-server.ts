// The HTTP server of every role: a Fastify instance with the platform-wide behaviour installed on
// the root (x-request-id on every response, one error shape from api/http-errors.ts, one request
// validator that never mutates from api/strict-validation.ts, HTTP metrics by route and status,
// JSON logs) and the operations routes registered as a plugin.
// Other parts of the platform add their routes as plugins before listen():
//
//   const server = buildServer({ readiness, registry, logger, topology })
//   server.register(balanceRoutes, { app })   // inherits request ids, errors, metrics
//   await server.listen({ host, port })
//
// Resources the routes use belong to the caller; server.close() closes only the listener.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, Server } from 'node:http'
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import type { Histogram, Registry } from 'prom-client'
import type { Logger } from '../lib/logger.ts'
import { installHttpTracing } from '../lib/tracing/http-tracing.ts'
import { answerFrameworkError, installErrorHandling } from './http-errors.ts'
import { formatRequestIssues, strictValidatorFactory } from './strict-validation.ts'
import { RequestHistogram } from './request-histogram.ts'
import { opsRoutes, type TopologyView } from './health/ops-routes.ts'
import type { Liveness } from './health/liveness.ts'
import type { Readiness } from './health/readiness.ts'

export interface OpsServerDeps {
  readonly readiness: Readiness
  /** /health/live fails while one of these fails (default: none). */
  readonly liveness?: Liveness
  /** Metrics served by /metrics; the HTTP histogram is registered on it too. */
  readonly registry: Registry
  readonly logger?: Logger
  readonly topology?: () => TopologyView
  /** Serve GET /metrics on this server (default true). */
  readonly serveMetrics?: boolean
  /** Serve the health routes (default true). */
  readonly serveHealth?: boolean
}

const REQUEST_ID = /^[A-Za-z0-9._:/+=-]{1,128}$/

/** A request's id: a well-formed incoming x-request-id echoed, otherwise a new one. */
export function requestIdOf (request: IncomingMessage): string {
  const given = request.headers['x-request-id']
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
}

// `route` is the route template (/v1/members/:memberId/balance), never the raw URL: bounded series.
// A RequestHistogram: the same exported metric as prom-client's Histogram, without its label
// validation and hashing on every request (api/request-histogram.ts). Servers sharing a registry
// share it.
export type Observe = (method: string, route: string, statusCode: number, seconds: number) => void

/** The HTTP histogram's observe of each server built here, for what answers a request without
 *  Fastify (api/routes/balance-fast-lane.ts): its requests are counted in the same series. */
const durations = new WeakMap<Server, Observe>()
export function requestDurationOf (server: Server): Observe | undefined {
  return durations.get(server)
}
function httpDuration (registry: Registry): Observe {
  const name = 'rewards_http_request_duration_seconds'
  const existing = registry.getSingleMetric(name)
  if (existing !== undefined && !(existing instanceof RequestHistogram)) {
    const histogram = existing as Histogram<'method' | 'route' | 'status_code'>
    return (method, route, statusCode, seconds) => { histogram.observe({ method, route, status_code: String(statusCode) }, seconds) }
  }
  const histogram = existing ?? new RequestHistogram({
    name,
    help: 'HTTP request latency by method, route template and status code',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry]
  })
  return (method, route, statusCode, seconds) => { histogram.observe(method, route, statusCode, seconds) }
}

/** The longest path parameter the router takes (longer: 414 URI_TOO_LONG, docs/api.md "Routes"):
 *  128 characters, each one or two UTF-16 code units. */
export const MAX_PATH_PARAM_LENGTH = 256

export function buildServer (deps: OpsServerDeps): FastifyInstance {
  const app = Fastify({
    ...(deps.logger !== undefined ? { loggerInstance: deps.logger } : { logger: false }),
    // Health probes every few seconds would drown the log; one line per response at debug below.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    // Echo a well-formed incoming x-request-id, otherwise generate one.
    requestIdHeader: false,
    genReqId: requestIdOf,
    // Bounded bodies: the largest legitimate body is a batch of 1000 events.
    bodyLimit: 4 * 1024 * 1024,
    // Plugins open what the routes need before the server listens: the embedded PGlite database
    // (WebAssembly) takes seconds to start, many more on a loaded machine; Fastify's default of
    // 10 s failed start-up under load.
    pluginTimeout: 120_000,
    // A path parameter holds an id of up to 128 characters (redemptionId, docs/contract.md), up
    // to 256 UTF-16 code units once decoded (the router measures the decoded value); Fastify's
    // default of 100 answered 414 to the status URL of a valid 101–128-character redemptionId.
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    // Errors before routing (bad URL encoding 400, path parameter over 256 characters 414) are
    // problems like every other error (api/http-errors.ts).
    frameworkErrors: answerFrameworkError,
    // A closing instance (SIGTERM: its roles closed first, then the listeners) still answers the
    // requests that reach it on open connections: the API routes them to the instances that now
    // own the members (docs/engine.md "Interactive queries", no 503 in a rolling restart).
    return503OnClosing: false,
    // Every route's body, query, params and headers are checked by one validator that never
    // coerces, strips or fills in (not Fastify's default AJV, which does all three).
    schemaController: { compilersFactory: { buildValidator: strictValidatorFactory as never } },
    schemaErrorFormatter: formatRequestIssues
    // The instance is typed with Fastify's default logger type (FastifyBaseLogger), which every
    // plugin of the project is written against; with loggerInstance Fastify infers pino's own
    // Logger type instead, which its typings do not accept where FastifyInstance is expected.
  }) as unknown as FastifyInstance
  const observeDuration = httpDuration(deps.registry)
  durations.set(app.server, observeDuration)
  // A server span per request (no-op without an OpenTelemetry SDK); before any route is added.
  installHttpTracing(app)

  // Callback hooks, not async ones: every request runs them, and a promise per hook shows in the
  // balance query's cost (docs/benchmarks.md "API balance query").
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id)
    done()
  })
  app.addHook('onResponse', (request, reply, done) => {
    observeDuration(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
    if (request.log.level === 'debug' || request.log.level === 'trace') {
      request.log.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request')
    }
    done()
  })
  installErrorHandling(app)
  // JSON bodies only: Fastify's default text/plain parser would let a text body reach the routes;
  // without it any non-JSON body is 415 UNSUPPORTED_MEDIA_TYPE (the token endpoint adds its form parser).
  app.removeContentTypeParser('text/plain')

  void app.register(opsRoutes, {
    readiness: deps.readiness,
    ...(deps.liveness !== undefined ? { liveness: deps.liveness } : {}),
    registry: deps.registry,
    ...(deps.topology !== undefined ? { topology: deps.topology } : {}),
    health: deps.serveHealth !== false,
    metrics: deps.serveMetrics !== false
  })
  return app
}
