// Public member queries (scope balances:read):
//
//   GET /v1/members/{memberId}/balance                   the balance (SPEC §4)
//   GET /v1/members/{memberId}/activity?limit&cursor     newest first, paginated
//
// Answered from the stores through interactive queries (local, or forwarded to the owner; see
// api/query/member-queries.ts). Balances go through the hot-balance cache: an entry lives
// `balanceCacheTtlMs` at most, so an answer is never older than the store's committed state by
// more than that bound (docs/api.md); this API's own writes for a member delete its entry.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Balance } from '../../processors/rewards/schemas.ts'
import { sendApiError } from '../api-errors.ts'
import type { ScopeGuard } from '../auth/require-scope.ts'
import type { SharedCache } from '../cache/shared-cache.ts'
import { decodeCursor } from '../query/local-reader.ts'
import { OwnerUnavailable, type CallContext, type MemberQueries } from '../query/member-queries.ts'
import { COMMON_ERRORS, MemberParams, ref } from '../schemas.ts'

export interface MemberRoutesOptions {
  readonly queries: MemberQueries
  readonly guard: ScopeGuard
  readonly cache: SharedCache
  /** 0 disables the balance cache. */
  readonly balanceCacheTtlMs: number
}

export function balanceCacheKey (memberId: string): string {
  return `balance:${memberId}`
}

export function callContext (request: FastifyRequest): CallContext {
  return { authorization: request.headers.authorization, requestId: request.id }
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
      response: { 200: ref('Balance'), 404: ref('Error'), ...COMMON_ERRORS }
    },
    preHandler: guard('balances:read')
  }, async (request, reply) => {
    const { memberId } = request.params
    const key = balanceCacheKey(memberId)
    if (options.balanceCacheTtlMs > 0) {
      const cached = await cache.get(key)
      if (cached !== null) {
        queries.countCacheHit('balance')
        return reply.header('x-cache', 'hit').type('application/json; charset=utf-8').send(cached)
      }
      queries.countCacheMiss('balance')
    }
    return await answer(reply, async () => {
      const balance = await queries.balance(memberId, callContext(request))
      if (balance === undefined) return sendApiError(reply, 'MEMBER_NOT_FOUND', { message: `No member ${memberId}` })
      if (options.balanceCacheTtlMs > 0) await cache.set(key, JSON.stringify(balance), options.balanceCacheTtlMs)
      return reply.header('x-cache', 'miss').send(balance satisfies Balance)
    })
  })

  app.get<{ Params: { memberId: string }, Querystring: { limit: number, cursor?: string } }>('/v1/members/:memberId/activity', {
    schema: {
      tags: ['members'],
      summary: "A member's accepted events and redemption decisions, newest first",
      security: [{ oauth2: ['balances:read'] }],
      params: MemberParams,
      querystring: {
        type: 'object',
        properties: {
          limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
          cursor: { type: 'string', maxLength: 64, description: 'nextCursor of the previous page' }
        },
        additionalProperties: false
      },
      response: { 200: ref('ActivityPage'), 404: ref('Error'), ...COMMON_ERRORS }
    },
    preHandler: guard('balances:read')
  }, async (request, reply) => {
    const { memberId } = request.params
    const { limit, cursor } = request.query
    const seq = cursor === undefined ? undefined : decodeCursor(cursor)
    if (cursor !== undefined && seq === undefined) return sendApiError(reply, 'INVALID_CURSOR')
    return await answer(reply, async () => {
      const page = await queries.activity(memberId, limit, cursor === undefined ? undefined : { text: cursor, seq: seq! }, callContext(request))
      return page === undefined ? sendApiError(reply, 'MEMBER_NOT_FOUND', { message: `No member ${memberId}` }) : page
    })
  })
}
