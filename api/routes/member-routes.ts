// Public member queries (scope balances:read):
//
//   GET /v1/members/{memberId}/balance                   the balance (docs/contract.md "Balances and redemptions")
//   GET /v1/members/{memberId}/activity?limit&cursor     newest first, paginated
//
// Answered from the stores through interactive queries (local, or forwarded to the owner; see
// api/query/member-queries.ts). Balances go through the hot-balance cache: an entry lives
// `balanceCacheTtlMs` at most, so an answer is never older than the store's committed state by
// more than that bound (docs/api.md); this API's own writes for a member delete its entry. Both
// reads carry a strong ETag and answer If-None-Match with 304 (api/routes/conditional-get.ts).
// While the member's active copy is restoring or unreachable, a standby copy within the staleness
// bound answers instead, marked x-rewards-served-by: standby and x-rewards-staleness-records
// (api/query/standby-fallback.ts); such answers are never put in the balance cache.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { sendApiError } from '../api-errors.ts'
import type { ScopeGuard } from '../auth/require-scope.ts'
import type { SharedCache } from '../cache/shared-cache.ts'
import { decodeCursor } from '../query/local-reader.ts'
import { OwnerUnavailable, type CallContext, type MemberQueries } from '../query/member-queries.ts'
import { SERVED_BY_HEADER, STALENESS_HEADER } from '../query/standby-fallback.ts'
import { COMMON_ERRORS, MemberParams, ref } from '../schemas.ts'
import { NO_QUERY } from '../strict-validation.ts'
import { takeHandedOver } from './balance-handoff.ts'
import { sendConditional } from './conditional-get.ts'

export interface MemberRoutesOptions {
  readonly queries: MemberQueries
  readonly guard: ScopeGuard
  readonly cache: SharedCache
  /** 0 disables the balance cache. */
  readonly balanceCacheTtlMs: number
}

/** Query parameters arrive as text and are checked as text (never coerced): `limit` 1–100. */
export const ActivityQuerySchema = {
  type: 'object',
  properties: {
    limit: { type: 'string', pattern: '^(100|[1-9][0-9]?)$', description: 'page size, 1 to 100 (default 20)' },
    cursor: { type: 'string', maxLength: 64, description: 'nextCursor of the previous page' }
  },
  additionalProperties: false
} as const

export interface ActivityQuery { readonly limit?: string, readonly cursor?: string }

export const DEFAULT_ACTIVITY_LIMIT = 20

export function activityLimit (query: ActivityQuery): number {
  return query.limit === undefined ? DEFAULT_ACTIVITY_LIMIT : Number(query.limit)
}

export function balanceCacheKey (memberId: string): string {
  return `balance:${memberId}`
}

export function callContext (request: FastifyRequest): CallContext {
  return { authorization: request.headers.authorization, requestId: request.id }
}

/** callContext for a member read: an answer from a standby copy marks the reply so. */
function readContext (request: FastifyRequest, reply: FastifyReply): CallContext {
  return {
    authorization: request.headers.authorization,
    requestId: request.id,
    servedByStandby: served => { void reply.header(SERVED_BY_HEADER, 'standby').header(STALENESS_HEADER, String(served.lagRecords)) }
  }
}

/** Runs a query; an unreachable owner becomes 503 OWNER_UNAVAILABLE (other errors go to the
 *  error handler: STORE_NOT_READY → 503 + Retry-After). */
export async function answer<T> (reply: FastifyReply, run: () => Promise<T>): Promise<T | FastifyReply> {
  try {
    return await run()
  } catch (error) {
    if (error instanceof OwnerUnavailable) {
      reply.request.log.warn({ owner: error.host, err: error.cause }, 'forwarded query failed')
      return sendApiError(reply, 'OWNER_UNAVAILABLE')
    }
    throw error
  }
}

export const memberRoutes: FastifyPluginAsync<MemberRoutesOptions> = async (app, options) => {
  const { queries, guard, cache } = options

  app.get<{ Params: { memberId: string } }>('/v1/members/:memberId/balance', {
    schema: {
      tags: ['members'],
      summary: "A member's balance, from the stores (local or forwarded to the owning instance)",
      security: [{ oauth2: ['balances:read'] }],
      params: MemberParams,
      querystring: NO_QUERY,
      response: { 200: ref('Balance'), 404: ref('Error'), ...COMMON_ERRORS }
    },
    preHandler: guard('balances:read')
  }, (request, reply) => {
    const { memberId } = request.params
    if (options.balanceCacheTtlMs > 0) return cachedBalance(request, reply, memberId)
    // Cache off: a member this instance owns is read and answered without a promise (the
    // balance query's cost, docs/benchmarks.md "API balance query"); a forwarded one waits for
    // its owner.
    // A forward the balance fast lane made and handed over (api/routes/balance-handoff.ts): its outcome.
    const context = readContext(request, reply)
    const json = takeHandedOver(request.raw, context) ?? queries.balanceJson(memberId, context)
    if (!(json instanceof Promise)) return sendBalance(request, reply, memberId, json, false)
    return answer(reply, async () => sendBalance(request, reply, memberId, await json, false))
  })

  /** The balance through the hot-balance cache (balanceCacheTtlMs > 0). */
  async function cachedBalance (request: FastifyRequest, reply: FastifyReply, memberId: string): Promise<FastifyReply> {
    const key = balanceCacheKey(memberId)
    const cached = await cache.get(key)
    if (cached !== null) {
      queries.countCacheHit('balance')
      return sendConditional(request, reply.header('x-cache', 'hit'), cached)
    }
    queries.countCacheMiss('balance')
    return await answer(reply, async () => {
      // A forward the balance fast lane made and handed over (api/routes/balance-handoff.ts): its outcome.
      const context = readContext(request, reply)
      const json = await (takeHandedOver(request.raw, context) ?? queries.balanceJson(memberId, context))
      // A standby's answer is not cached: the next read should try the active again.
      if (json !== undefined && !reply.hasHeader(SERVED_BY_HEADER)) await cache.set(key, json, options.balanceCacheTtlMs)
      return sendBalance(request, reply, memberId, json, false)
    })
  }

  function sendBalance (request: FastifyRequest, reply: FastifyReply, memberId: string, json: string | undefined, hit: boolean): FastifyReply {
    if (json === undefined) return sendApiError(reply, 'MEMBER_NOT_FOUND', { message: `No member ${memberId}` })
    return sendConditional(request, reply.header('x-cache', hit ? 'hit' : 'miss'), json)
  }

  app.get<{ Params: { memberId: string }, Querystring: ActivityQuery }>('/v1/members/:memberId/activity', {
    schema: {
      tags: ['members'],
      summary: "A member's accepted events and redemption decisions, newest first",
      security: [{ oauth2: ['balances:read'] }],
      params: MemberParams,
      querystring: ActivityQuerySchema,
      response: { 200: ref('ActivityPage'), 404: ref('Error'), ...COMMON_ERRORS }
    },
    preHandler: guard('balances:read')
  }, async (request, reply) => {
    const { memberId } = request.params
    const { cursor } = request.query
    const limit = activityLimit(request.query)
    const seq = cursor === undefined ? undefined : decodeCursor(cursor)
    if (cursor !== undefined && seq === undefined) return sendApiError(reply, 'INVALID_CURSOR')
    return await answer(reply, async () => {
      const page = await queries.activity(memberId, limit, cursor === undefined ? undefined : { text: cursor, seq: seq! }, readContext(request, reply))
      return page === undefined ? sendApiError(reply, 'MEMBER_NOT_FOUND', { message: `No member ${memberId}` }) : sendConditional(request, reply, JSON.stringify(page))
    })
  })
}
