// Points issued per property (scope reports:read: property-level figures for finance and
// operations, the same figures as the points-issued report, not a member's own data):
//
//   GET /v1/properties/{propertyId}/points?from&to&window=hour|day
//
// Answered from the points window stores (docs/rewards.md, "Points issued per property") of the
// instance owning the property's partition — here, or forwarded to it as balances are
// (api/query/member-queries.ts). Bad parameters answer 400: VALIDATION_FAILED for what the schema
// refuses (a missing or unknown parameter, not an RFC 3339 shape, a window other than hour/day),
// INVALID_WINDOW_QUERY for the rest (not a real instant, from not before to, too many windows).
// A restoring or moving task: 503 STORE_NOT_READY + Retry-After; an unreachable owner: 503
// OWNER_UNAVAILABLE. A property without decisions (or unknown) has no windows: 200, empty list.
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import Type from 'typebox'
import { sendApiError } from '../api-errors.ts'
import type { ScopeGuard } from '../auth/require-scope.ts'
import { type CallContext, type MemberQueries } from '../query/member-queries.ts'
import { MAX_WINDOWS, pointsParams, PointsQueryError, POINTS_WINDOW_SIZES, type PointsParams, type PointsQuery } from '../query/points-windows-query.ts'
import { COMMON_ERRORS } from '../schemas.ts'
import { answer } from './member-routes.ts'
import { REPORTS_SCOPE } from './report-routes.ts'

export interface PropertyRoutesOptions {
  readonly queries: MemberQueries
  readonly guard: ScopeGuard
}

const RFC3339_SHAPE = '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$'

export const PropertyParams = Type.Object({ propertyId: Type.String({ minLength: 1, maxLength: 64 }) })

export const PointsQuerySchema = Type.Object({
  from: Type.String({ pattern: RFC3339_SHAPE, description: 'RFC 3339 date-time: windows starting at or after it' }),
  to: Type.String({ pattern: RFC3339_SHAPE, description: 'RFC 3339 date-time, after `from`: windows starting before it' }),
  window: Type.String({ enum: [...POINTS_WINDOW_SIZES], description: `hour or day; at most ${MAX_WINDOWS.hour} hours or ${MAX_WINDOWS.day} days per query` })
}, { additionalProperties: false })

export const PointsWindowSchema = Type.Object({
  start: Type.String({ format: 'date-time' }),
  end: Type.String({ format: 'date-time', description: 'exclusive' }),
  points: Type.Integer({ description: 'net points issued: earnedPoints − reversedPoints (the report’s netPoints)' }),
  earnedPoints: Type.Integer({ description: 'Σ points of accepted EARN events' }),
  reversedPoints: Type.Integer({ description: 'points taken back by accepted reversals (positive)' }),
  earnEvents: Type.Integer(),
  reversalEvents: Type.Integer(),
  closed: Type.Boolean({ description: 'stream time has passed end + grace: the figures are final' })
}, { additionalProperties: false })

export const PointsAnswerSchema = Type.Object({
  propertyId: Type.String(),
  window: Type.String({ enum: [...POINTS_WINDOW_SIZES] }),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  graceSeconds: Type.Integer({ description: 'how late a decision may arrive and still be counted in its window' }),
  retainedFrom: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'windows starting before this are no longer kept (null: none yet)' }),
  windows: Type.Array(PointsWindowSchema, { description: 'windows with at least one decision, oldest first' })
}, { additionalProperties: false })

/** The checked parameters, or the 400 already sent. */
export function pointsQuery (reply: FastifyReply, query: PointsQuery): PointsParams | FastifyReply {
  try {
    return pointsParams(query)
  } catch (error) {
    if (error instanceof PointsQueryError) return sendApiError(reply, 'INVALID_WINDOW_QUERY', { message: error.message })
    throw error
  }
}

export const propertyRoutes: FastifyPluginAsync<PropertyRoutesOptions> = async (app, { queries, guard }) => {
  app.get<{ Params: { propertyId: string }, Querystring: PointsQuery }>('/v1/properties/:propertyId/points', {
    schema: {
      tags: ['properties'],
      summary: 'Points issued by a property per hour or day, from the windowed aggregations (local or forwarded to the owning instance)',
      security: [{ oauth2: [REPORTS_SCOPE] }],
      params: PropertyParams,
      querystring: PointsQuerySchema,
      response: { 200: PointsAnswerSchema, ...COMMON_ERRORS }
    },
    preHandler: guard(REPORTS_SCOPE)
  }, async (request, reply) => {
    const params = pointsQuery(reply, request.query)
    if (!('fromMs' in params)) return params
    const call: CallContext = { authorization: request.headers.authorization, requestId: request.id }
    return await answer(reply, () => queries.pointsWindows(request.params.propertyId, params, call))
  })
}
