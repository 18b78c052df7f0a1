// Shared JSON schemas of the public API, registered once by `$id` and referenced by the routes
// (`{ $ref: 'Balance#' }`). The event and balance schemas are the topology's own (one contract,
// processors/rewards/schemas.ts); the API only adds ids and its envelopes. The OpenAPI document
// (api/openapi.ts) publishes them under components.schemas.
import type { FastifyInstance } from 'fastify'
import {
  BalanceSchema, RedeemConfirmedSchema, RedeemEventSchema, RewardEventSchema, MEMBER_ID_PATTERN
} from '../processors/rewards/schemas.ts'

export const ref = (id: string): { $ref: string } => ({ $ref: `${id}#` })

export const SHARED_SCHEMAS = Object.freeze([
  {
    $id: 'Error',
    title: 'Problem',
    description: 'RFC 9457 problem details (`application/problem+json`): every error of the API but the token endpoint\'s OAuth errors. `type` is stable per `code` (docs/api.md "Errors"); `error` is the pre-RFC 9457 shape, deprecated, kept for existing clients',
    type: 'object',
    required: ['type', 'title', 'status', 'detail', 'instance', 'code', 'error'],
    properties: {
      type: { type: 'string', description: 'urn:rewards:problem:<code in kebab case>' },
      title: { type: 'string', description: 'the same for every problem of this type' },
      status: { type: 'integer', minimum: 400, maximum: 599 },
      detail: { type: 'string', description: 'this occurrence, in words' },
      instance: { type: 'string', description: 'the request path' },
      code: { type: 'string', description: 'the stable error code' },
      errors: { type: 'array', description: 'validation errors: each invalid field or item', items: {} },
      error: {
        type: 'object',
        deprecated: true,
        description: 'deprecated: use code and detail',
        required: ['code', 'message'],
        properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} }
      }
    }
  },
  { $id: 'Balance', description: 'A member balance (docs/contract.md "Balances and redemptions"); points are JSON integers', ...BalanceSchema },
  { $id: 'RewardEvent', description: 'A record of reward-events (docs/contract.md "reward-events")', ...RewardEventSchema },
  { $id: 'RedeemRequest', description: 'A record of redeem-events (docs/contract.md "redeem-events")', ...RedeemEventSchema },
  { $id: 'RedeemDecision', description: 'A record of redeem-confirmed (docs/contract.md "Outputs")', ...RedeemConfirmedSchema },
  {
    $id: 'ActivityEntry',
    description: 'One accepted reward event or redemption decision, with the available points after it',
    type: 'object',
    required: ['seq', 'kind', 'available'],
    properties: {
      seq: { type: 'integer', description: "the member's activity sequence number (1 = oldest)" },
      kind: { type: 'string', enum: ['REWARD', 'REDEMPTION'] },
      available: { type: 'integer' }
    },
    additionalProperties: true
  },
  {
    $id: 'ActivityPage',
    type: 'object',
    required: ['memberId', 'items', 'nextCursor'],
    properties: {
      memberId: { type: 'string' },
      items: { type: 'array', items: ref('ActivityEntry') },
      nextCursor: { type: ['string', 'null'], description: 'pass as ?cursor= for the next (older) page; null on the last page' }
    }
  },
  {
    $id: 'EventsAccepted',
    type: 'object',
    required: ['accepted', 'eventIds'],
    properties: {
      accepted: { type: 'integer' },
      eventIds: { type: 'array', items: { type: 'string' } }
    }
  },
  {
    $id: 'RedemptionPending',
    type: 'object',
    required: ['redemptionId', 'memberId', 'status', 'statusUrl'],
    properties: {
      redemptionId: { type: 'string' },
      memberId: { type: 'string' },
      status: { type: 'string', enum: ['PENDING'] },
      statusUrl: { type: 'string' }
    }
  }
])

export const MemberParams = {
  type: 'object',
  required: ['memberId'],
  properties: { memberId: { type: 'string', pattern: MEMBER_ID_PATTERN } }
} as const

/** Error responses every authenticated route can give (api/openapi.ts adds the HTTP-level ones:
 *  405, 406, 413, 414, 415, 429). */
export const COMMON_ERRORS = Object.freeze({ 400: ref('Error'), 401: ref('Error'), 403: ref('Error'), 503: ref('Error') })

export function addSharedSchemas (app: FastifyInstance): void {
  for (const schema of SHARED_SCHEMAS) if (app.getSchema(schema.$id) === undefined) app.addSchema(schema)
}
