// Ingestion over HTTP; the API only produces to the topics, the topology does the rest.
//
//   POST /v1/events               (events:write)       one event or an array of up to 1000;
//                                                       202 once all are durable in reward-events
//   POST /v1/redemptions          (redemptions:write)  publishes to redeem-events and waits
//                                                       (bounded) for the decision: 200 with it,
//                                                       or 202 with the status URL
//   GET  /v1/redemptions/{id}[?memberId=…]  (redemptions:write or balances:read)
//                                                       the decision; without memberId every
//                                                       instance is asked (by-id index), with it
//                                                       only the member's owner (fast path)
//
// Events are validated by the topology's own validator (processors/rewards/validation.ts), so a
// body the API accepts is never dead-lettered for its shape. A batch is all or nothing.
// `Idempotency-Key` (per client, 24 h): a repeat with the same body gets the first answer again;
// with another body, 422. Each produce is a PRODUCER span, child of the request's (incoming
// `traceparent`), whose context travels in the Kafka record headers (lib/tracing/produce-span.ts).
import { createHash } from 'node:crypto'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Headers, LogProducer, ProducerRecord } from '../../log/log-port.ts'
import type { RedeemConfirmed } from '../../processors/rewards/schemas.ts'
import type { RewardsTopics } from '../../processors/rewards/topics.ts'
import { validateRedeemEvent, validateRewardEvent } from '../../processors/rewards/validation.ts'
import { isRewardsError } from '../../lib/errors.ts'
import { requestContext } from '../../lib/tracing/http-tracing.ts'
import { sendTraced } from '../../lib/tracing/produce-span.ts'
import { sendApiError } from '../api-errors.ts'
import type { ScopeGuard } from '../auth/require-scope.ts'
import type { SharedCache } from '../cache/shared-cache.ts'
import type { MemberQueries } from '../query/member-queries.ts'
import { COMMON_ERRORS, MemberParams, ref } from '../schemas.ts'
import { answer, balanceCacheKey, callContext } from './member-routes.ts'

export const MAX_BATCH = 1000

export interface IngestRoutesOptions {
  readonly producer: () => Promise<LogProducer>
  readonly topics: RewardsTopics
  readonly queries: MemberQueries
  readonly guard: ScopeGuard
  readonly cache: SharedCache
  /** Default wait for a redemption decision; a client may ask for less or more (up to
   *  maxRedemptionWaitMs) with `Prefer: wait=<seconds>` (RFC 7240). */
  readonly redemptionWaitMs: number
  readonly maxRedemptionWaitMs: number
  readonly idempotencyTtlMs?: number
}

interface StoredResponse {
  readonly hash: string
  readonly status: number
  readonly body: unknown
}

function recordHeaders (request: FastifyRequest): Headers {
  return { 'x-request-id': Buffer.from(request.id) }
}

function preferWaitMs (request: FastifyRequest, fallback: number, max: number): number {
  const prefer = request.headers.prefer
  const m = typeof prefer === 'string' ? /(?:^|[,;\s])wait=(\d{1,5})(?:$|[,;\s])/.exec(prefer) : null
  return m === null ? fallback : Math.min(Number(m[1]) * 1000, max)
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

export const ingestRoutes: FastifyPluginAsync<IngestRoutesOptions> = async (app, options) => {
  const { guard, cache, topics } = options
  const idempotencyTtlMs = options.idempotencyTtlMs ?? 24 * 60 * 60 * 1000

  /** Replays a stored answer for the same Idempotency-Key and body; 422 for another body. */
  const idempotent = async (request: FastifyRequest, reply: FastifyReply, scope: string, run: () => Promise<{ status: number, body: unknown }>): Promise<FastifyReply> => {
    const key = request.headers['idempotency-key']
    if (key === undefined) {
      const result = await run()
      return reply.code(result.status).send(result.body)
    }
    if (typeof key !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(key)) return sendError400(reply, 'Idempotency-Key must be 1–255 visible ASCII characters')
    const cacheKey = `idem:${scope}:${request.principal!.clientId}:${key}`
    const hash = createHash('sha256').update(JSON.stringify(request.body)).digest('base64url')
    const prior = await cache.get(cacheKey)
    if (prior !== null) {
      const stored = JSON.parse(prior) as StoredResponse
      if (stored.hash !== hash) return sendApiError(reply, 'IDEMPOTENCY_KEY_REUSED')
      return reply.code(stored.status).header('idempotent-replayed', 'true').send(stored.body)
    }
    const result = await run()
    if (result.status < 300) await cache.set(cacheKey, JSON.stringify({ hash, ...result } satisfies StoredResponse), idempotencyTtlMs)
    return reply.code(result.status).send(result.body)
  }

  app.post('/v1/events', {
    schema: {
      tags: ['ingestion'],
      summary: 'Publish one reward event or a batch (array of up to 1000) to reward-events; all or nothing',
      security: [{ oauth2: ['events:write'] }],
      headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', maxLength: 255 } } },
      body: { oneOf: [ref('RewardEvent'), { type: 'array', minItems: 1, maxItems: MAX_BATCH, items: ref('RewardEvent') }] },
      response: { 202: ref('EventsAccepted'), 422: ref('Error'), ...COMMON_ERRORS }
    },
    // The schema documents the contract; the topology's validator decides (its messages and
    // per-item indexes), so Fastify's own body validation result is set aside.
    attachValidation: true,
    preHandler: guard('events:write')
  }, async (request, reply) => {
    const body = request.body
    const items = Array.isArray(body) ? body : [body]
    if (items.length === 0 || items.length > MAX_BATCH) {
      return sendApiError(reply, 'INVALID_EVENTS', { message: `A batch holds 1 to ${MAX_BATCH} events; got ${items.length}` })
    }
    const errors: Array<{ index: number, code: string, message: string }> = []
    const events = items.map((item, index) => {
      const result = validateRewardEvent(item)
      if (!result.ok) errors.push({ index, code: result.code, message: result.message })
      return result.ok ? result.value : undefined
    })
    if (errors.length > 0) return sendApiError(reply, 'INVALID_EVENTS', { details: { errors } })
    return await idempotent(request, reply, 'events', async () => {
      const headers = recordHeaders(request)
      const records: ProducerRecord[] = events.map(event => ({ topic: topics.rewardEvents, key: Buffer.from(event!.memberId), value: Buffer.from(JSON.stringify(event)), headers }))
      await sendTraced(await options.producer(), records, requestContext(request))
      await cache.del([...new Set(events.map(e => balanceCacheKey(e!.memberId)))])
      return { status: 202, body: { accepted: events.length, eventIds: events.map(e => e!.eventId) } }
    })
  })

  app.post('/v1/redemptions', {
    schema: {
      tags: ['redemptions'],
      summary: 'Request a redemption: published to redeem-events; waits (bounded) for the decision',
      description: 'Answers 200 with the decision (CONFIRMED or REJECTED) when it arrives within the wait (default, or `Prefer: wait=<seconds>`), otherwise 202 with the status URL (also in Location).',
      security: [{ oauth2: ['redemptions:write'] }],
      headers: { type: 'object', properties: { prefer: { type: 'string' } } },
      body: ref('RedeemRequest'),
      response: { 200: ref('RedeemDecision'), 202: ref('RedemptionPending'), ...COMMON_ERRORS }
    },
    attachValidation: true,
    preHandler: guard('redemptions:write')
  }, async (request, reply) => {
    const result = validateRedeemEvent(request.body)
    if (!result.ok) return sendApiError(reply, 'INVALID_REDEMPTION', { message: result.message, details: { code: result.code } })
    const event = result.value
    await sendTraced(await options.producer(), [{ topic: topics.redeemEvents, key: Buffer.from(event.memberId), value: Buffer.from(JSON.stringify(event)), headers: recordHeaders(request) }], requestContext(request))
    await cache.del([balanceCacheKey(event.memberId)])
    const deadline = Date.now() + preferWaitMs(request, options.redemptionWaitMs, options.maxRedemptionWaitMs)
    let pause = 5
    while (true) {
      let decision: RedeemConfirmed | undefined
      try {
        decision = await options.queries.redemption(event.memberId, event.redemptionId, callContext(request))
      } catch (error) {
        // Restoring, rebalancing, owner briefly unreachable: keep waiting within the bound.
        if (!isRewardsError(error, 'STORE_NOT_READY') && (error as Error).name !== 'OwnerUnavailable') throw error
      }
      if (decision !== undefined) {
        await cache.del([balanceCacheKey(event.memberId)])
        return reply.code(200).send(decision)
      }
      if (Date.now() + pause > deadline) break
      await sleep(pause)
      pause = Math.min(pause * 2, 100)
    }
    const statusUrl = `/v1/redemptions/${encodeURIComponent(event.redemptionId)}`
    return reply.code(202).header('location', statusUrl).send({ redemptionId: event.redemptionId, memberId: event.memberId, status: 'PENDING', statusUrl })
  })

  app.get<{ Params: { redemptionId: string }, Querystring: { memberId?: string } }>('/v1/redemptions/:redemptionId', {
    schema: {
      tags: ['redemptions'],
      summary: 'The decision of a redemption (404 while unknown or not decided yet)',
      description: 'Found by id from any instance. `memberId` is optional: with it only the owner of that member is asked (one store read, no fan-out).',
      security: [{ oauth2: ['redemptions:write'] }, { oauth2: ['balances:read'] }],
      params: { type: 'object', required: ['redemptionId'], properties: { redemptionId: { type: 'string', minLength: 1, maxLength: 128 } } },
      querystring: { type: 'object', properties: { memberId: MemberParams.properties.memberId }, additionalProperties: false },
      response: { 200: ref('RedeemDecision'), 404: ref('Error'), ...COMMON_ERRORS }
    },
    preHandler: guard('redemptions:write', 'balances:read')
  }, async (request, reply) => {
    const { redemptionId } = request.params
    const { memberId } = request.query
    return await answer(reply, async () => {
      if (memberId !== undefined) {
        const decision = await options.queries.redemption(memberId, redemptionId, callContext(request))
        return decision === undefined ? sendApiError(reply, 'REDEMPTION_NOT_FOUND', { message: `No decision for redemption ${redemptionId} of member ${memberId} (unknown, or not decided yet)` }) : decision
      }
      const decision = await options.queries.redemptionById(redemptionId, callContext(request))
      return decision === undefined ? sendApiError(reply, 'REDEMPTION_NOT_FOUND', { message: `No decision for redemption ${redemptionId} (unknown, or not decided yet)` }) : decision
    })
  })
}

function sendError400 (reply: FastifyReply, message: string): FastifyReply {
  return reply.code(400).send({ error: { code: 'BAD_REQUEST', message } })
}
