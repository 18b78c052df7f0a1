// Instance-to-instance query routes, served by every instance that runs the stream application:
// the target of a forwarded query (api/query/member-queries.ts). They answer only from this
// instance's stores and never forward again (no loops): a key owned elsewhere, or a task
// restoring, is 503 + Retry-After and the caller retries. They check the forwarded bearer token
// and scope like the public routes. Not part of the public contract (hidden from OpenAPI).
//
//   GET /internal/v1/members/{memberId}/balance | /activity | /redemptions/{redemptionId}
//   GET /internal/v1/redemptions/{redemptionId}   this instance's share of a lookup by id
//   POST /internal/v1/members/{memberId}/event-digests  digests of accepted events (conflicts)
//   GET /internal/v1/properties/{propertyId}/points     a property's points windows
//
// With `?maxStalenessRecords=N` (a forward that looks for a standby, api/query/standby-fallback.ts)
// the balance and activity routes answer from this instance's standby copy when its active cannot,
// if that copy is at most N records behind, marked with x-rewards-served-by: standby and
// x-rewards-staleness-records.
//
// The redemption routes name the accepted request's digest in `rewards-content-digest` (absent
// for entries older than digests), for the conflict check of POST /v1/redemptions.
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import type { Balance } from '../../processors/rewards/schemas.ts'
import { isRewardsError, RewardsError } from '../../lib/errors.ts'
import { sendApiError } from '../api-errors.ts'
import type { ScopeGuard } from '../auth/require-scope.ts'
import { FlatJsonMemo } from '../query/flat-json-memo.ts'
import { installInternalBalanceLane } from './internal-balance-lane.ts'
import { decodeCursor, type LocalReader, type StandbyAnswer } from '../query/local-reader.ts'
import { MemberParams } from '../schemas.ts'
import { MAX_STALENESS_PARAM, RESTORE_LAG_HEADER, SERVED_BY_HEADER, STALENESS_HEADER } from '../query/standby-fallback.ts'
import { restoreLagOf } from '../query/standby-reads.ts'
import { activityLimit, ActivityQuerySchema, type ActivityQuery } from './member-routes.ts'
import type { PointsQuery } from '../query/points-windows-query.ts'
import { pointsQuery, PointsQuerySchema, PropertyParams } from './property-routes.ts'
import { REPORTS_SCOPE } from './report-routes.ts'

/** Response header carrying the accepted request's contentDigest (docs/api.md#conflicts). */
export const CONTENT_DIGEST_HEADER = 'rewards-content-digest'

export interface InternalRoutesOptions {
  readonly reader: LocalReader
  readonly guard: ScopeGuard
  /** The balance route's fast lane (api/routes/internal-balance-lane.ts); default on. */
  readonly fastLane?: boolean
}

function localOnly<T> (read: () => T): T {
  try {
    return read()
  } catch (error) {
    if (isRewardsError(error, 'KEY_OWNED_ELSEWHERE')) throw new RewardsError('STORE_NOT_READY', 'this instance does not own the member (ownership is moving)')
    throw error
  }
}

/** The staleness bound a forward looking for a standby sends (absent: the active only). */
const StalenessBound = { type: 'string', pattern: '^[0-9]{1,12}$' } as const
interface StalenessQuery { readonly maxStalenessRecords?: string }

export const internalRoutes: FastifyPluginAsync<InternalRoutesOptions> = async (app, { reader, guard, fastLane }) => {
  // Balances as JSON.stringify writes them, made again only when one changed (as the public route).
  const balanceText = new FlatJsonMemo()
  const hide = { hide: true, tags: ['internal'] }
  // One hook for the route and its lane: an on-demand guard admits at once only once it opened.
  const balanceGuard = guard('balances:read')

  /** The local active's answer, or with a bound, the local standby's when the active cannot.
   *  The active restoring and no copy answering: the 503 says how many records the restore still
   *  has to apply (RESTORE_LAG_HEADER; the forwarding instance then does not wait for a long one,
   *  api/query/standby-reads.ts). */
  async function activeOrStandby<T> (reply: FastifyReply, bound: string | undefined, active: () => T, standby: (maxLagRecords: number) => Promise<StandbyAnswer<T>>): Promise<T> {
    try {
      return localOnly(active)
    } catch (error) {
      if (!isRewardsError(error, 'STORE_NOT_READY')) throw error
      let answer: StandbyAnswer<T>
      try {
        // No bound: only the restore's remainder is asked (the restoring active is a copy too).
        answer = await standby(bound === undefined ? Number.MAX_SAFE_INTEGER : Number(bound))
      } catch (refused) {
        const lag = (refused as { details?: { lagRecords?: unknown } }).details?.lagRecords
        if (restoreLagOf(error) !== undefined && typeof lag === 'number') void reply.header(RESTORE_LAG_HEADER, String(lag))
        throw error // no copy within the bound here: the active's reason stands
      }
      if (bound === undefined) {
        if (restoreLagOf(error) !== undefined) void reply.header(RESTORE_LAG_HEADER, String(answer.lagRecords))
        throw error
      }
      void reply.header(SERVED_BY_HEADER, 'standby').header(STALENESS_HEADER, String(answer.lagRecords))
      return answer.value as T
    }
  }

  app.get<{ Params: { memberId: string }, Querystring: StalenessQuery }>('/internal/v1/members/:memberId/balance', {
    schema: { ...hide, params: MemberParams, querystring: { type: 'object', properties: { [MAX_STALENESS_PARAM]: StalenessBound }, additionalProperties: false } },
    preHandler: balanceGuard
  }, (request, reply) => {
    const { memberId } = request.params
    const bound = request.query.maxStalenessRecords
    const send = (balance: Balance | undefined): FastifyReply => balance === undefined ? sendApiError(reply, 'MEMBER_NOT_FOUND') : reply.type('application/json; charset=utf-8').send(balanceText.text(memberId, balance))
    // Synchronous, serialized as the public route serializes a local read (the forwarding
    // instance passes this text on as is: api/query/member-queries.ts balanceJson).
    if (bound === undefined) {
      let balance: Balance | undefined
      try {
        balance = localOnly(() => reader.balance(memberId))
      } catch {
        return activeOrStandby(reply, bound, () => reader.balance(memberId), maxLag => reader.standbyBalance(memberId, maxLag)).then(send)
      }
      return send(balance)
    }
    return activeOrStandby(reply, bound, () => reader.balance(memberId), maxLag => reader.standbyBalance(memberId, maxLag)).then(send)
  })
  // The owner's half of a forwarded balance query without Fastify's per-request machinery, when it
  // answers exactly as the route above (docs/benchmarks.md "API balance query, sixth pass on the
  // forwarded path").
  if (fastLane !== false) installInternalBalanceLane(app, { reader, guard: balanceGuard, balanceText })

  app.get<{ Params: { memberId: string }, Querystring: ActivityQuery & StalenessQuery }>('/internal/v1/members/:memberId/activity', {
    schema: { ...hide, params: MemberParams, querystring: { ...ActivityQuerySchema, properties: { ...ActivityQuerySchema.properties, [MAX_STALENESS_PARAM]: StalenessBound } } },
    preHandler: guard('balances:read')
  }, async (request, reply) => {
    const { memberId } = request.params
    const seq = request.query.cursor === undefined ? undefined : decodeCursor(request.query.cursor)
    if (request.query.cursor !== undefined && seq === undefined) return sendApiError(reply, 'INVALID_CURSOR')
    const limit = activityLimit(request.query)
    const page = await activeOrStandby(reply, request.query.maxStalenessRecords, () => {
      const found = reader.activity(memberId, limit, seq)
      return found.items.length === 0 && seq === undefined && reader.balance(memberId) === undefined ? undefined : found
    }, maxLag => reader.standbyActivity(memberId, limit, seq, maxLag))
    return page === undefined ? sendApiError(reply, 'MEMBER_NOT_FOUND') : page
  })

  app.get<{ Params: { memberId: string, redemptionId: string } }>('/internal/v1/members/:memberId/redemptions/:redemptionId', {
    schema: { ...hide, params: { type: 'object', required: ['memberId', 'redemptionId'], properties: { ...MemberParams.properties, redemptionId: { type: 'string', minLength: 1, maxLength: 128 } } } },
    preHandler: guard('redemptions:write', 'balances:read')
  }, async (request, reply) => {
    const found = localOnly(() => reader.redemptionRecord(request.params.memberId, request.params.redemptionId))
    if (found === undefined) return sendApiError(reply, 'REDEMPTION_NOT_FOUND')
    if (found.digest !== null) void reply.header(CONTENT_DIGEST_HEADER, found.digest)
    return found.decision
  })

  // Which of these events the member's task has accepted, and their digests (null: an entry
  // older than digests). A POST because a batch names up to 1000 ids.
  app.post<{ Params: { memberId: string }, Body: { eventIds: string[] } }>('/internal/v1/members/:memberId/event-digests', {
    schema: {
      ...hide,
      params: MemberParams,
      body: { type: 'object', required: ['eventIds'], additionalProperties: false, properties: { eventIds: { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string', minLength: 1, maxLength: 128 } } } }
    },
    preHandler: guard('events:write')
  }, async request => {
    const digests = localOnly(() => reader.eventDigests(request.params.memberId, request.body.eventIds))
    return { digests: Object.fromEntries(digests) }
  })

  app.get<{ Params: { propertyId: string }, Querystring: PointsQuery }>('/internal/v1/properties/:propertyId/points', {
    schema: { ...hide, params: PropertyParams, querystring: PointsQuerySchema },
    preHandler: guard(REPORTS_SCOPE)
  }, async (request, reply) => {
    const params = pointsQuery(reply, request.query)
    if (!('fromMs' in params)) return params
    return localOnly(() => reader.pointsWindows(request.params.propertyId, params))
  })

  // A redemption by id alone, from this instance's tasks (api/query/redemption-lookup.ts asks
  // every instance). 404 lists the tasks searched (all READY), so the caller knows whether every
  // task of the topology was covered.
  app.get<{ Params: { redemptionId: string } }>('/internal/v1/redemptions/:redemptionId', {
    schema: { ...hide, params: { type: 'object', required: ['redemptionId'], properties: { redemptionId: { type: 'string', minLength: 1, maxLength: 128 } } } },
    preHandler: guard('redemptions:write', 'balances:read')
  }, async (request, reply) => {
    const search = localOnly(() => reader.redemptionById(request.params.redemptionId))
    if (search.decision === undefined) return sendApiError(reply, 'REDEMPTION_NOT_FOUND', { details: { tasks: search.tasks } })
    if (typeof search.digest === 'string') void reply.header(CONTENT_DIGEST_HEADER, search.digest)
    return search.decision
  })
}
