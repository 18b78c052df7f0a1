// The independent reference model of the chaos checks, written from docs/rewards.md (earning rules,
// balances, redemptions, dead-letter codes: the product's contract), NOT from the product's rules engine: it reads the input topics back
// (what really landed, in partition order, whoever sent it) and says what must come out.
//
// What is deterministic, and so checked exactly: each member's reward events are in one
// partition and taken in offset order, and tiers depend on qualifying points only, so every
// reward confirmation (points, tier, earned, reversed, events) and every dead letter is fixed by
// the inputs. Which reward events a redemption sees depends on how the task interleaved the two
// input partitions, which docs/rewards.md (event time and order) fixes by event time only for records present at that moment;
// so a redemption's decision is checked against the reward history it reports (a prefix of the
// member's accepted events, never going back) and the member's earlier decisions, which proves no
// overspend and no decision made on a wrong balance (checks.ts).

const RATES: Record<string, bigint> = { HOTEL: 10_000n, DINING: 5_000n, CASINO: 100n }
const TIERS: Array<{ name: string, min: number, multiplier: bigint }> = [
  { name: 'PLATINUM', min: 150_000, multiplier: 20_000n },
  { name: 'GOLD', min: 50_000, multiplier: 15_000n },
  { name: 'SILVER', min: 10_000, multiplier: 12_500n },
  { name: 'MEMBER', min: 0, multiplier: 10_000n }
]

export function tierOf (qualifyingPoints: number): { name: string, multiplier: bigint } {
  return TIERS.find(t => qualifyingPoints >= t.min) ?? TIERS[TIERS.length - 1]!
}

export interface InputRecord {
  readonly partition: number
  readonly offset: number
  readonly key: string | null
  readonly value: Buffer | null
}

export interface RewardState { readonly earned: number, readonly reversed: number, readonly events: number }

export interface ExpectedConfirmation extends RewardState {
  readonly memberId: string
  readonly eventId: string
  readonly type: 'EARN' | 'REVERSAL'
  readonly points: number
  /** Tier before the event. */
  readonly tier: string
}

export interface ExpectedRedemption {
  readonly memberId: string
  readonly redemptionId: string
  readonly points: number
  readonly requestedAtMs: number
}

export interface MemberModel {
  readonly memberId: string
  /** history[k]: the totals after the member's k-th accepted reward event (history[0]: none). */
  readonly history: RewardState[]
  /** Accepted redemption requests in partition order. */
  readonly redemptions: ExpectedRedemption[]
  lastRewardAtMs: number | null
  readonly earns: Map<string, { points: number, reversedBy: string | undefined }>
  readonly accepted: Set<string>
}

export interface Model {
  /** `memberId:eventId` → the one confirmation it must produce. */
  readonly confirmations: Map<string, ExpectedConfirmation>
  /** `memberId:redemptionId` → the one decision it must produce. */
  readonly redemptions: Map<string, ExpectedRedemption>
  /** `reward|redeem:partition:offset` → the dead-letter code of that input record. */
  readonly deadLetters: Map<string, string>
  readonly members: Map<string, MemberModel>
  duplicates: number
}

export type Validation = { ok: true, value: Record<string, unknown> } | { ok: false, code: string }

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/
const MEMBER_ID = /^[A-Za-z0-9_-]{1,64}$/
const isString = (v: unknown, max: number): v is string => typeof v === 'string' && v.length >= 1 && v.length <= max
const isInt = (v: unknown, min: number, max: number): v is number => Number.isInteger(v) && (v as number) >= min && (v as number) <= max
// 1970-01-01T00:00:00Z to the end of 9999 (Kafka timestamps are not negative).
const isTime = (v: unknown): v is string => typeof v === 'string' && RFC3339.test(v) && Date.parse(v) >= 0 && Date.parse(v) <= Date.UTC(9999, 11, 31, 23, 59, 59, 999)
/** No lone surrogate and no control character in any string value or field name. */
const safeText = (o: Record<string, unknown>): boolean => Object.entries(o).every(([k, v]) =>
  [k, v].every(s => typeof s !== 'string' || (s.isWellFormed() && ![...s].some(c => c.codePointAt(0)! < 0x20 || (c.codePointAt(0)! >= 0x7f && c.codePointAt(0)! < 0xa0)))))

function parse (value: Buffer | null): Record<string, unknown> | undefined {
  if (value === null) return undefined
  try {
    const json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(value)) as unknown
    return typeof json === 'object' && json !== null && !Array.isArray(json) ? json as Record<string, unknown> : {}
  } catch {
    return undefined
  }
}

function exactFields (o: Record<string, unknown>, fields: string[]): boolean {
  const keys = Object.keys(o)
  return keys.length === fields.length && fields.every(f => f in o)
}

/** docs/rewards.md "Validation and dead-letter codes", in its order, for reward-events. */
export function validateReward (key: string | null, value: Buffer | null): Validation {
  const o = parse(value)
  if (o === undefined) return { ok: false, code: 'MALFORMED_JSON' }
  const base = ['eventId', 'memberId', 'source', 'type', 'amountCents', 'currency', 'occurredAt', 'propertyId']
  const shaped = (o.type === 'EARN' && exactFields(o, base)) || (o.type === 'REVERSAL' && exactFields(o, [...base, 'originalEventId']) && isString(o.originalEventId, 128))
  if (!shaped || !isString(o.eventId, 128) || typeof o.memberId !== 'string' || !MEMBER_ID.test(o.memberId) || typeof o.source !== 'string' || !(o.source in RATES) ||
    !isInt(o.amountCents, 0, 1e12) || typeof o.currency !== 'string' || !/^[A-Z]{3}$/.test(o.currency) || !isTime(o.occurredAt) || !isString(o.propertyId, 64) || !safeText(o)) {
    return { ok: false, code: 'SCHEMA_VIOLATION' }
  }
  if (key !== o.memberId) return { ok: false, code: 'KEY_MISMATCH' }
  if (o.currency !== 'USD') return { ok: false, code: 'UNSUPPORTED_CURRENCY' }
  return { ok: true, value: o }
}

export function validateRedeem (key: string | null, value: Buffer | null): Validation {
  const o = parse(value)
  if (o === undefined) return { ok: false, code: 'MALFORMED_JSON' }
  if (!exactFields(o, ['redemptionId', 'memberId', 'points', 'rewardCode', 'channel', 'requestedAt']) || !isString(o.redemptionId, 128) ||
    typeof o.memberId !== 'string' || !MEMBER_ID.test(o.memberId) || !isInt(o.points, 1, 1e9) || !isString(o.rewardCode, 64) ||
    !['HOTEL', 'CASINO', 'DINING', 'ONLINE'].includes(o.channel as string) || !isTime(o.requestedAt) || !safeText(o)) {
    return { ok: false, code: 'SCHEMA_VIOLATION' }
  }
  if (key !== o.memberId) return { ok: false, code: 'KEY_MISMATCH' }
  return { ok: true, value: o }
}

function member (model: Model, memberId: string): MemberModel {
  let m = model.members.get(memberId)
  if (m === undefined) {
    m = { memberId, history: [{ earned: 0, reversed: 0, events: 0 }], redemptions: [], lastRewardAtMs: null, earns: new Map(), accepted: new Set() }
    model.members.set(memberId, m)
  }
  return m
}

function applyReward (model: Model, record: InputRecord): void {
  const checked = validateReward(record.key, record.value)
  const where = `reward:${record.partition}:${record.offset}`
  if (!checked.ok) { model.deadLetters.set(where, checked.code); return }
  const e = checked.value as { eventId: string, memberId: string, source: string, type: 'EARN' | 'REVERSAL', amountCents: number, occurredAt: string, originalEventId?: string }
  const m = member(model, e.memberId)
  if (m.accepted.has(e.eventId)) { model.duplicates++; return }
  const before = m.history[m.history.length - 1]!
  const tier = tierOf(before.earned - before.reversed)
  let points: number
  if (e.type === 'EARN') {
    points = Number(BigInt(e.amountCents) * RATES[e.source]! * tier.multiplier / 1_000_000_000n)
    m.earns.set(e.eventId, { points, reversedBy: undefined })
  } else {
    const original = m.earns.get(e.originalEventId!)
    if (original === undefined) { model.deadLetters.set(where, 'ORIGINAL_NOT_FOUND'); return }
    if (original.reversedBy !== undefined) { model.deadLetters.set(where, 'ALREADY_REVERSED'); return }
    original.reversedBy = e.eventId
    points = -original.points
  }
  m.accepted.add(e.eventId)
  const after = { earned: before.earned + Math.max(points, 0), reversed: before.reversed + Math.max(-points, 0), events: before.events + 1 }
  m.history.push(after)
  m.lastRewardAtMs = Math.max(m.lastRewardAtMs ?? -Infinity, Date.parse(e.occurredAt))
  model.confirmations.set(`${e.memberId}:${e.eventId}`, { memberId: e.memberId, eventId: e.eventId, type: e.type, points, tier: tier.name, ...after })
}

function applyRedeem (model: Model, record: InputRecord, seen: Set<string>): void {
  const checked = validateRedeem(record.key, record.value)
  if (!checked.ok) { model.deadLetters.set(`redeem:${record.partition}:${record.offset}`, checked.code); return }
  const r = checked.value as { redemptionId: string, memberId: string, points: number, requestedAt: string }
  const id = `${r.memberId}:${r.redemptionId}`
  if (seen.has(id)) { model.duplicates++; return }
  seen.add(id)
  const expected = { memberId: r.memberId, redemptionId: r.redemptionId, points: r.points, requestedAtMs: Date.parse(r.requestedAt) }
  model.redemptions.set(id, expected)
  // Strangers (no reward event ever) get a member model too: REJECTED on an all-zero balance.
  member(model, r.memberId).redemptions.push(expected)
}

/** Builds the model from the input topics' records (each sorted by partition, then offset). */
export function buildModel (rewardEvents: InputRecord[], redeemEvents: InputRecord[]): Model {
  const model: Model = { confirmations: new Map(), redemptions: new Map(), deadLetters: new Map(), members: new Map(), duplicates: 0 }
  for (const record of rewardEvents) applyReward(model, record)
  const seen = new Set<string>()
  for (const record of redeemEvents) applyRedeem(model, record, seen)
  return model
}
