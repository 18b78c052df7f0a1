// Instance-to-instance query routes, served by every instance that runs the stream application:
// the target of a forwarded query (api/query/member-queries.ts). They answer only from this
// instance's stores and never forward again (no loops): a key owned elsewhere, or a task
// restoring, is 503 + Retry-After and the caller retries. They check the forwarded bearer token
// and scope like the public routes. Not part of the public contract (hidden from OpenAPI).
//
//   GET /internal/v1/members/{memberId}/balance | /activity | /redemptions/{redemptionId}
//   GET /internal/v1/redemptions/{redemptionId}   this instance's share of a lookup by id
import type { FastifyPluginAsync } from 'fastify'
import { isRewardsError, RewardsError } from '../../lib/errors.ts'
import { sendApiError } from '../api-errors.ts'
import type { ScopeGuard } from '../auth/require-scope.ts'
import { decodeCursor, type LocalReader } from '../query/local-reader.ts'
import { MemberParams } from '../schemas.ts'

export interface InternalRoutesOptions {
  readonly reader: LocalReader
  readonly guard: ScopeGuard
}

function localOnly<T> (read: () => T): T {
  try {
    return read()
  } catch (error) {
    if (isRewardsError(error, 'KEY_OWNED_ELSEWHERE')) throw new RewardsError('STORE_NOT_READY', 'this instance does not own the member (ownership is moving)')
    throw error
  }
}

export const internalRoutes: FastifyPluginAsync<InternalRoutesOptions> = async (app, { reader, guard }) => {
  const hide = { hide: true, tags: ['internal'] }
  app.get<{ Params: { memberId: string } }>('/internal/v1/members/:memberId/balance', {
    schema: { ...hide, params: MemberParams },
    preHandler: guard('balances:read')
  }, async (request, reply) => {
    const balance = localOnly(() => reader.balance(request.params.memberId))
    return balance === undefined ? sendApiError(reply, 'MEMBER_NOT_FOUND') : balance
  })

  app.get<{ Params: { memberId: string }, Querystring: { limit: number, cursor?: string } }>('/internal/v1/members/:memberId/activity', {
    schema: {
      ...hide,
      params: MemberParams,
      querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 }, cursor: { type: 'string', maxLength: 64 } } }
    },
    preHandler: guard('balances:read')
  }, async (request, reply) => {
    const { memberId } = request.params
    const seq = request.query.cursor === undefined ? undefined : decodeCursor(request.query.cursor)
    if (request.query.cursor !== undefined && seq === undefined) return sendApiError(reply, 'INVALID_CURSOR')
    const page = localOnly(() => reader.activity(memberId, request.query.limit, seq))
    if (page.items.length === 0 && seq === undefined && reader.balance(memberId) === undefined) return sendApiError(reply, 'MEMBER_NOT_FOUND')
    return page
  })

  app.get<{ Params: { memberId: string, redemptionId: string } }>('/internal/v1/members/:memberId/redemptions/:redemptionId', {
    schema: { ...hide, params: { type: 'object', required: ['memberId', 'redemptionId'], properties: { ...MemberParams.properties, redemptionId: { type: 'string', minLength: 1, maxLength: 128 } } } },
    preHandler: guard('redemptions:write', 'balances:read')
  }, async (request, reply) => {
    const decision = localOnly(() => reader.redemption(request.params.memberId, request.params.redemptionId))
    return decision === undefined ? sendApiError(reply, 'REDEMPTION_NOT_FOUND') : decision
  })

  // A redemption by id alone, from this instance's tasks (api/query/redemption-lookup.ts asks
  // every instance). 404 lists the tasks searched (all READY), so the caller knows whether every
  // task of the topology was covered.
  app.get<{ Params: { redemptionId: string } }>('/internal/v1/redemptions/:redemptionId', {
    schema: { ...hide, params: { type: 'object', required: ['redemptionId'], properties: { redemptionId: { type: 'string', minLength: 1, maxLength: 128 } } } },
    preHandler: guard('redemptions:write', 'balances:read')
  }, async (request, reply) => {
    const search = localOnly(() => reader.redemptionById(request.params.redemptionId))
    return search.decision ?? sendApiError(reply, 'REDEMPTION_NOT_FOUND', { details: { tasks: search.tasks } })
  })
}
