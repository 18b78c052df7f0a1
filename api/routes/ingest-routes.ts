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
// Bodies are validated by the topology's own validator (processors/rewards/validation.ts, through
// ./ingest-validation.ts), so a body the API accepts is never dead-lettered for its shape; the
// request validator of the server leaves these bodies to it (checkedByRoute) and checks the rest.
// A batch is all or nothing.
// An id already accepted with other content is 409 (conflicts.ts); `Idempotency-Key` on both
// POSTs (idempotency.ts). Each produce is a PRODUCER span, child of the request's (incoming
// `traceparent`), whose context travels in the Kafka record headers (lib/tracing/produce-span.ts).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Headers, LogProducer, ProducerRecord } from '../../topology/index.ts'
import type { RedeemConfirmed, RedeemEvent } from '../../processors/rewards/schemas.ts'
import type { RewardsTopics } from '../../processors/rewards/topics.ts'
import { isRewardsError } from '../../lib/errors.ts'
import { requestContext } from '../../lib/tracing/http-tracing.ts'
import { sendTraced } from '../../lib/tracing/produce-span.ts'
import { sendApiError } from '../api-errors.ts'
import type { ScopeGuard } from '../auth/require-scope.ts'
import type { SharedCache } from '../cache/shared-cache.ts'
import type { MemberQueries } from '../query/member-queries.ts'
import { COMMON_ERRORS, MemberParams, ref } from '../schemas.ts'
import { checkedByRoute, NO_QUERY } from '../strict-validation.ts'
import { checkEventsBody, checkRedemptionBody, MAX_BATCH } from './ingest-validation.ts'
import { checkEvents, checkRedemption } from './conflicts.ts'
import { withIdempotency, type RouteAnswer } from './idempotency.ts'
import { pollUntil } from '../../lib/resilience/poll-until.ts'
import { answer, balanceCacheKey, callContext } from './member-routes.ts'

export { MAX_BATCH }
const BY_TOPOLOGY_VALIDATOR = 'processors/rewards/validation.ts'

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
  /** How long the digests of accepted ids are remembered for the conflict check; default 24 h. */
  readonly acceptedDigestTtlMs?: number
}

const IDEMPOTENCY_KEY_HEADER = { type: 'string', maxLength: 257, description: 'draft-ietf-httpapi-idempotency-key-header: a Structured Field string ("…") or a bare token' }

function recordHeaders (request: FastifyRequest): Headers {
  return { 'x-request-id': Buffer.from(request.id) }
}

function preferWaitMs (request: FastifyRequest, fallback: number, max: number): number {
  const prefer = request.headers.prefer
  const m = typeof prefer === 'string' ? /(?:^|[,;\s])wait=(\d{1,5})(?:$|[,;\s])/.exec(prefer) : null
  return m === null ? fallback : Math.min(Number(m[1]) * 1000, max)
}

/** The wait for a redemption's decision asks its member's store again from 5 ms, doubling to
 *  100 ms: exactly-once commits every 100 ms, so a decision normally arrives in 100–300 ms. */
const DECISION_POLL = Object.freeze({ initialDelayMs: 5, maxDelayMs: 100 })

export const ingestRoutes: FastifyPluginAsync<IngestRoutesOptions> = async (app, options) => {
  const { guard, cache, topics } = options
  const idempotencyTtlMs = options.idempotencyTtlMs ?? 24 * 60 * 60 * 1000

  const idempotency = { cache, ttlMs: idempotencyTtlMs, inFlightTtlMs: options.maxRedemptionWaitMs + 60_000 }
  const conflicts = { cache, queries: options.queries, ttlMs: options.acceptedDigestTtlMs ?? 24 * 60 * 60 * 1000 }

  app.post('/v1/events', {
    schema: {
      tags: ['ingestion'],
      summary: 'Publish one reward event or a batch (array of up to 1000) to reward-events; all or nothing',
      security: [{ oauth2: ['events:write'] }],
      headers: { type: 'object', properties: { 'idempotency-key': IDEMPOTENCY_KEY_HEADER } },
      querystring: NO_QUERY,
      body: checkedByRoute({ oneOf: [ref('RewardEvent'), { type: 'array', minItems: 1, maxItems: MAX_BATCH, items: ref('RewardEvent') }] }, BY_TOPOLOGY_VALIDATOR),
      response: { 202: ref('EventsAccepted'), 409: ref('Error'), ...COMMON_ERRORS }
    },
    preHandler: guard('events:write')
  }, async (request, reply) => {
    const checked = checkEventsBody(request.body)
    if (!checked.ok) return sendApiError(reply, 'INVALID_EVENTS', { ...(checked.message !== undefined ? { message: checked.message } : {}), details: { errors: checked.errors } })
    const events = checked.values
    return await withIdempotency(request, reply, idempotency, 'events', async () => {
      const check = await checkEvents(conflicts, events, callContext(request))
      if (!check.ok) return { sent: sendApiError(reply, 'EVENT_ID_CONFLICT', { details: { conflicts: check.conflicts } }) }
      const headers = recordHeaders(request)
      const records: ProducerRecord[] = events.map(event => ({ topic: topics.rewardEvents, key: Buffer.from(event.memberId), value: Buffer.from(JSON.stringify(event)), headers }))
      await sendTraced(await options.producer(), records, requestContext(request)).catch(async (error: unknown) => { await check.claim.release(); throw error })
      await cache.del([...new Set(events.map(e => balanceCacheKey(e.memberId)))])
      return { status: 202, body: { accepted: events.length, eventIds: events.map(e => e.eventId) } }
    })
  })

  app.post('/v1/redemptions', {
    schema: {
      tags: ['redemptions'],
      summary: 'Request a redemption: published to redeem-events; waits (bounded) for the decision',
      description: 'Answers 200 with the decision (CONFIRMED or REJECTED) when it arrives within the wait (default, or `Prefer: wait=<seconds>`), otherwise 202 with the status URL (also in Location).',
      security: [{ oauth2: ['redemptions:write'] }],
      headers: { type: 'object', properties: { prefer: { type: 'string' }, 'idempotency-key': IDEMPOTENCY_KEY_HEADER } },
      querystring: NO_QUERY,
      body: checkedByRoute(ref('RedeemRequest'), BY_TOPOLOGY_VALIDATOR),
      response: { 200: ref('RedeemDecision'), 202: ref('RedemptionPending'), 409: ref('Error'), ...COMMON_ERRORS }
    },
    preHandler: guard('redemptions:write')
  }, async (request, reply) => {
    const checked = checkRedemptionBody(request.body)
    if (!checked.ok) return sendApiError(reply, 'INVALID_REDEMPTION', { message: checked.errors.map(e => e.message).join('; '), details: { code: checked.errors[0]!.code, errors: checked.errors } })
    const event = checked.values[0]!
    return await withIdempotency(request, reply, idempotency, 'redemptions', () => redeem(request, reply, event))
  })

  /** Publishes a redemption (unless its id is taken) and waits, bounded, for its decision. */
  const redeem = async (request: FastifyRequest, reply: FastifyReply, event: RedeemEvent): Promise<RouteAnswer | { sent: FastifyReply }> => {
    const check = await checkRedemption(conflicts, event, callContext(request))
    if (check.kind === 'conflict') {
      return { sent: sendApiError(reply, 'REDEMPTION_ID_CONFLICT', { details: { redemptionId: event.redemptionId, acceptedDigest: check.acceptedDigest, sentDigest: check.sentDigest } }) }
    }
    if (check.kind === 'decided') return { status: 200, body: check.decision }
    await sendTraced(await options.producer(), [{ topic: topics.redeemEvents, key: Buffer.from(event.memberId), value: Buffer.from(JSON.stringify(event)), headers: recordHeaders(request) }], requestContext(request))
      .catch(async (error: unknown) => { await check.claim.release(); throw error })
    await cache.del([balanceCacheKey(event.memberId)])
    // Restoring, rebalancing, owner briefly unreachable: not an answer yet, keep waiting.
    const decision = await pollUntil(async (): Promise<RedeemConfirmed | undefined> => {
      try {
        return await options.queries.redemption(event.memberId, event.redemptionId, callContext(request))
      } catch (error) {
        if (isRewardsError(error, 'STORE_NOT_READY') || (error as Error).name === 'OwnerUnavailable') return undefined
        throw error
      }
    }, { waitMs: preferWaitMs(request, options.redemptionWaitMs, options.maxRedemptionWaitMs), ...DECISION_POLL })
    if (decision !== undefined) {
      await cache.del([balanceCacheKey(event.memberId)])
      return { status: 200, body: decision }
    }
    const statusUrl = `/v1/redemptions/${encodeURIComponent(event.redemptionId)}`
    return { status: 202, headers: { location: statusUrl }, body: { redemptionId: event.redemptionId, memberId: event.memberId, status: 'PENDING', statusUrl } }
  }

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
