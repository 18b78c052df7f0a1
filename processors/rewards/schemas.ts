// The wire contract of docs/contract.md "Topics and events" and "Balances and redemptions", once: TypeBox schemas give both the TypeScript types and
// the runtime validation (and are plain JSON Schema, so the HTTP API can publish and reuse them).
//
// Schemas carry no `$id` so that they can be nested and registered freely; the API adds its own
// ids when it registers them. Unknown properties are rejected: the contract is closed, a typo in a
// field name ("originalEventID") must not silently turn into a missing optional field.
import Type, { type Static } from 'typebox'

export const MEMBER_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$'
export const MAX_AMOUNT_CENTS = 1_000_000_000_000
export const MAX_REDEEM_POINTS = 1_000_000_000

export const SOURCES = ['HOTEL', 'CASINO', 'DINING'] as const
export const CHANNELS = ['HOTEL', 'CASINO', 'DINING', 'ONLINE'] as const
export const SUPPORTED_CURRENCIES = ['USD'] as const

export const MemberIdSchema = Type.String({ minLength: 1, maxLength: 64, pattern: MEMBER_ID_PATTERN, description: 'Member id; equals the record key' })
export const EventTimeSchema = Type.String({ format: 'date-time', description: 'RFC 3339 timestamp with offset' })
export const SourceSchema = Type.Union([Type.Literal('HOTEL'), Type.Literal('CASINO'), Type.Literal('DINING')])
export const ChannelSchema = Type.Union([Type.Literal('HOTEL'), Type.Literal('CASINO'), Type.Literal('DINING'), Type.Literal('ONLINE')])
/** Any ISO 4217-looking code passes the schema; only SUPPORTED_CURRENCIES are accepted (UNSUPPORTED_CURRENCY). */
export const CurrencySchema = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code; only USD is accepted for now' })

const rewardEventFields = {
  eventId: Type.String({ minLength: 1, maxLength: 128 }),
  memberId: MemberIdSchema,
  source: SourceSchema,
  amountCents: Type.Integer({ minimum: 0, maximum: MAX_AMOUNT_CENTS }),
  currency: CurrencySchema,
  occurredAt: EventTimeSchema,
  propertyId: Type.String({ minLength: 1, maxLength: 64 })
}

export const EarnEventSchema = Type.Object({
  ...rewardEventFields,
  type: Type.Literal('EARN')
}, { additionalProperties: false })

export const ReversalEventSchema = Type.Object({
  ...rewardEventFields,
  type: Type.Literal('REVERSAL'),
  originalEventId: Type.String({ minLength: 1, maxLength: 128, description: 'eventId of the EARN this reverses' })
}, { additionalProperties: false })

/** A record of `reward-events` (docs/contract.md "reward-events"). */
export const RewardEventSchema = Type.Union([EarnEventSchema, ReversalEventSchema])

/** A record of `redeem-events` (docs/contract.md "redeem-events"). */
export const RedeemEventSchema = Type.Object({
  redemptionId: Type.String({ minLength: 1, maxLength: 128 }),
  memberId: MemberIdSchema,
  points: Type.Integer({ minimum: 1, maximum: MAX_REDEEM_POINTS }),
  rewardCode: Type.String({ minLength: 1, maxLength: 64 }),
  channel: ChannelSchema,
  requestedAt: EventTimeSchema
}, { additionalProperties: false })

const Points = Type.Integer({ description: 'points (JSON integer)' })

/** A member's balance (docs/contract.md "Balances and redemptions"): the `balances` store value and every API answer. */
export const BalanceSchema = Type.Object({
  memberId: MemberIdSchema,
  earned: Points,
  reversed: Points,
  redeemed: Points,
  available: Type.Integer({ description: 'earned − reversed − redeemed; negative only after a reversal of spent points' }),
  qualifyingPoints: Type.Integer({ description: 'earned − reversed; decides the tier' }),
  tier: Type.String({ description: 'tier name of the rule set (MEMBER, SILVER, GOLD, PLATINUM)' }),
  lastActivityAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'latest event time (UTC) among accepted reward events and confirmed redemptions; null if none' }),
  events: Type.Integer({ minimum: 0, description: 'count of accepted reward events (EARN and REVERSAL)' })
}, { additionalProperties: false })

/** A record of `reward-confirmed` (docs/contract.md "Outputs"). */
export const RewardConfirmedSchema = Type.Object({
  eventId: Type.String(),
  memberId: MemberIdSchema,
  source: SourceSchema,
  type: Type.Union([Type.Literal('EARN'), Type.Literal('REVERSAL')]),
  points: Type.Integer({ description: 'signed: negative for a reversal' }),
  tier: Type.String({ description: "the member's tier before this event" }),
  ruleVersion: Type.String(),
  balance: BalanceSchema,
  occurredAt: Type.String(),
  processedAt: Type.String({ format: 'date-time' })
}, { additionalProperties: false })

export const RedeemStatusSchema = Type.Union([Type.Literal('CONFIRMED'), Type.Literal('REJECTED')])

/** A record of `redeem-confirmed` (docs/contract.md "Outputs"). `reason` is present only when REJECTED. */
export const RedeemConfirmedSchema = Type.Object({
  redemptionId: Type.String(),
  memberId: MemberIdSchema,
  points: Type.Integer(),
  rewardCode: Type.String(),
  status: RedeemStatusSchema,
  reason: Type.Optional(Type.Literal('INSUFFICIENT_POINTS')),
  balance: BalanceSchema,
  requestedAt: Type.String(),
  processedAt: Type.String({ format: 'date-time' })
}, { additionalProperties: false })

export type Source = typeof SOURCES[number]
export type Channel = typeof CHANNELS[number]
export type Currency = typeof SUPPORTED_CURRENCIES[number]
type WithCurrency<T> = Omit<T, 'currency'> & { currency: Currency }
export type EarnEvent = WithCurrency<Static<typeof EarnEventSchema>>
export type ReversalEvent = WithCurrency<Static<typeof ReversalEventSchema>>
/** A validated reward event (currency narrowed to the supported ones). */
export type RewardEvent = EarnEvent | ReversalEvent
export type RedeemEvent = Static<typeof RedeemEventSchema>
export type Balance = Static<typeof BalanceSchema>
export type RewardConfirmed = Static<typeof RewardConfirmedSchema>
export type RedeemConfirmed = Static<typeof RedeemConfirmedSchema>
export type RedeemStatus = Static<typeof RedeemStatusSchema>
