// Operations routes, as a Fastify plugin: liveness, readiness, Prometheus metrics and the
// topology description. Registered by buildServer(); the public API's plugins sit beside it.
//
//   GET /health/live    200 while the process runs (the event loop answers) and every liveness
//                       check passes (processor role: a stream thread runs); 503 otherwise
//   GET /health/ready   200 when every role is ready (stream application RUNNING and every local
//                       store READY) and every required dependency is up (Kafka); 503 otherwise,
//                       and from the moment shutdown begins. The body has a check per role and per
//                       dependency (kafka, database, redis) and lists the degraded ones: a database
//                       or Redis outage leaves the instance ready but degraded
//                       (docs/runbooks/dependency-outage.md)
//   GET /metrics        Prometheus text: the engine's metrics, HTTP metrics, process metrics
//   GET /v1/topology    { description, text, mermaid }; ?format=text|mermaid for the plain text
import type { FastifyPluginAsync } from 'fastify'
import type { Registry } from 'prom-client'
import type { TopologyDescription } from '../../topology/index.ts'
import { HTTP_CODES, RETRY_AFTER_SECONDS, sendError } from '../http-errors.ts'
import type { Liveness } from './liveness.ts'
import type { Readiness } from './readiness.ts'

export interface TopologyView {
  readonly description: TopologyDescription
  readonly text: string
  readonly mermaid: string
}

export interface OpsRoutesOptions {
  readonly readiness: Readiness
  /** Liveness checks; absent: live while the process answers. */
  readonly liveness?: Liveness
  readonly registry: Registry
  /** The topology served by /v1/topology; absent: the route is not registered. */
  readonly topology?: () => TopologyView
  /** Health routes (default true). */
  readonly health?: boolean
  /** GET /metrics (default true; false when a separate metrics listener serves it). */
  readonly metrics?: boolean
}

export const opsRoutes: FastifyPluginAsync<OpsRoutesOptions> = async (app, options) => {
  if (options.health !== false) {
    app.get('/health/live', async (_request, reply) => {
      const report = options.liveness?.report()
      if (report === undefined || report.live) return { status: 'live' }
      const why = Object.entries(report.checks).filter(([, c]) => !c.ready).map(([name, c]) => `${name}: ${c.detail}`).join('; ')
      return sendError(reply, { status: 503, body: { error: { code: HTTP_CODES.NOT_LIVE, message: `not live: ${why}`, details: { checks: report.checks } } } })
    })

    app.get('/health/ready', async (_request, reply) => {
      const report = options.readiness.report()
      if (report.ready) return { status: 'ready', degraded: report.degraded, checks: report.checks }
      const why = report.shuttingDown
        ? 'shutting down'
        : Object.entries(report.checks).filter(([, c]) => !c.ready).map(([name, c]) => `${name}: ${c.detail}`).join('; ') || 'nothing to serve'
      void reply.header('retry-after', String(RETRY_AFTER_SECONDS))
      // The one error shape, with the checks beside it for operators.
      return sendError(reply, { status: 503, body: { error: { code: HTTP_CODES.NOT_READY, message: `not ready: ${why}`, details: { shuttingDown: report.shuttingDown, degraded: report.degraded, checks: report.checks } } } })
    })
  }

  if (options.metrics !== false) {
    app.get('/metrics', async (_request, reply) => {
      const text = await options.registry.metrics()
      return reply.type(options.registry.contentType).send(text)
    })
  }

  const topology = options.topology
  if (topology !== undefined) {
    app.get<{ Querystring: { format?: 'json' | 'text' | 'mermaid' } }>('/v1/topology', {
      schema: {
        querystring: {
          type: 'object',
          properties: { format: { type: 'string', enum: ['json', 'text', 'mermaid'] } },
          additionalProperties: false
        }
      }
    }, async (request, reply) => {
      const view = topology()
      const format = request.query.format ?? 'json'
      if (format === 'text') return reply.type('text/plain; charset=utf-8').send(view.text)
      if (format === 'mermaid') return reply.type('text/plain; charset=utf-8').send(view.mermaid)
      return view
    })
  }
}
