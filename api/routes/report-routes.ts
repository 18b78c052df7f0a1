// Reports over the archive (scope reports:read), one route per report so each has its own
// response schema in the OpenAPI document:
//
//   GET /v1/reports/points-issued?from&to&source&property&limit
//   GET /v1/reports/points-redeemed?from&to&source&limit        (source = channel)
//   GET /v1/reports/top-members?from&to&source&property&limit
//   GET /v1/reports/dlq-codes?from&to&limit
//
// The same parameters and SQL as `rewards report` (processors/reports, docs/reports.md). Bad
// parameters answer 400 in the one error shape: VALIDATION_FAILED for what the schema refuses
// (format, a parameter the report does not take — refused with its name by the server's request
// validator, never silently dropped), INVALID_REPORT_PARAMS for the rest (not a calendar day,
// from after to, a range too long, a limit over MAX_LIMIT). No archive
// database in this instance → 503 REPORTS_UNAVAILABLE (docs/reports.md says when that happens).
import type { FastifyPluginAsync } from 'fastify'
import Type, { type TSchema } from 'typebox'
import type { Registry } from 'prom-client'
import type { Queryable } from '../../lib/db/database.ts'
import type { RewardsTopics } from '../../processors/rewards/topics.ts'
import { MAX_LIMIT, REPORTS, ReportParamsError, reportMetrics, runReport, type RawReportParams, type ReportDefinition } from '../../processors/reports/index.ts'
import { sendApiError } from '../api-errors.ts'
import type { ScopeGuard } from '../auth/require-scope.ts'
import { COMMON_ERRORS } from '../schemas.ts'

export const REPORTS_SCOPE = 'reports:read'

export interface ReportRoutesOptions {
  readonly guard: ScopeGuard
  /** The archive to report from; undefined while (or where) this instance has none. */
  readonly db: () => Queryable | undefined
  readonly topics: RewardsTopics
  readonly registry?: Registry
}

const Day = (description: string): TSchema => Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description })

export function reportQuerySchema (report: ReportDefinition<object>): TSchema {
  return Type.Object({
    from: Type.Optional(Day('first UTC day included, YYYY-MM-DD (default: 29 days before `to`)')),
    to: Type.Optional(Day('last UTC day included, YYYY-MM-DD (default: today)')),
    ...(report.filters.includes('source') ? { source: Type.Optional(Type.String({ enum: [...(report.sources ?? [])], description: report.name === 'points-redeemed' ? 'channel' : 'source' })) } : {}),
    ...(report.filters.includes('property') ? { property: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) } : {}),
    // Text, as every query value (never coerced); the bounds are checked by reportParams.
    limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,4}$', description: `at most this many rows, 1 to ${MAX_LIMIT} (default ${report.defaultLimit})` }))
  }, { additionalProperties: false })
}

export function reportResponseSchema (report: ReportDefinition<object>): TSchema {
  const Nullable = (s: TSchema): TSchema => Type.Union([s, Type.Null()])
  return Type.Object({
    report: Type.Literal(report.name),
    params: Type.Object({
      from: Type.String(), to: Type.String(), source: Nullable(Type.String()), property: Nullable(Type.String()), limit: Type.Integer()
    }),
    columns: Type.Array(Type.Object({ name: Type.String(), type: Type.Union([Type.Literal('text'), Type.Literal('integer')]) })),
    rows: Type.Array(report.rowSchema),
    truncated: Type.Boolean({ description: 'more rows matched than `limit`' })
  })
}

export const reportRoutes: FastifyPluginAsync<ReportRoutesOptions> = async (app, options) => {
  // Registered now, so /metrics lists the histogram before the first report is asked for.
  if (options.registry !== undefined) reportMetrics(options.registry)
  for (const report of REPORTS.values()) {
    app.get<{ Querystring: RawReportParams }>(`/v1/reports/${report.name}`, {
      schema: {
        tags: ['reports'],
        summary: report.description,
        security: [{ oauth2: [REPORTS_SCOPE] }],
        querystring: reportQuerySchema(report),
        response: { 200: reportResponseSchema(report), ...COMMON_ERRORS }
      },
      preHandler: options.guard(REPORTS_SCOPE)
    }, async (request, reply) => {
      const db = options.db()
      if (db === undefined) return sendApiError(reply, 'REPORTS_UNAVAILABLE')
      try {
        return await runReport({ db, topics: options.topics, ...(options.registry !== undefined ? { registry: options.registry } : {}) }, report.name, request.query)
      } catch (error) {
        if (error instanceof ReportParamsError) return sendApiError(reply, 'INVALID_REPORT_PARAMS', { message: error.message })
        throw error
      }
    })
  }
}
