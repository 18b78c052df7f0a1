// A small reference model of docs/contract.md, written plainly from the spec and sharing no code with
// the processor (only the output types). It takes the input records of one task-order history
// (per member, in processing order) and says what the platform must produce: balances, the
// confirmations and the dead-letter codes. Rule set: the default 2026-1, hard-coded here from the
// spec text. Dedupe retention is not modelled: histories given to it span far less than it.
import type { Balance, RedeemConfirmed, RewardConfirmed } from '../../../processors/rewards/schemas.ts'

export interface ModelInput {
  readonly topic: 'reward-events' | 'redeem-events'
  readonly key: string | null
  readonly value: string | null
}

export type ModelOutcome =
  | { kind: 'reward', memberId: string, eventId: string, type: 'EARN' | 'REVERSAL', points: number, tier: string, balance: Balance }
  | { kind: 'redeem', memberId: string, redemptionId: string, status: 'CONFIRMED' | 'REJECTED', balance: Balance }
  | { kind: 'dlq', topic: string, code: string }
  | { kind: 'duplicate' }

const RATES: Record<string, bigint> = { HOTEL: 10000n, DINING: 5000n, CASINO: 100n }
const TIERS: Array<[string, number, bigint]> = [
  // name, qualifying points from, multiplier in basis points
  ['PLATINUM', 150_000, 20000n],
  ['GOLD', 50_000, 15000n],
  ['SILVER', 10_000, 12500n],
  ['MEMBER', 0, 10000n]
]

function tierOf (qualifyingPoints: number): [string, bigint] {
  for (const [name, from, multiplier] of TIERS) if (qualifyingPoints >= from) return [name, multiplier]
  return ['MEMBER', 10000n]
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

/** ms since the epoch, or NaN when not an RFC 3339 date-time. */
function timeOf (text: unknown): number {
  if (typeof text !== 'string') return NaN
  const m = TIMESTAMP.exec(text)
  if (!m) return NaN
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[]
  // Round-trip the calendar fields to reject 2026-02-30 and friends.
  const probe = new Date(Date.UTC(2000, mo! - 1, d!))
  probe.setUTCFullYear(y!)
  if (probe.getUTCMonth() !== mo! - 1 || probe.getUTCDate() !== d!) return NaN
  if (h! > 23 || mi! > 59 || s! > 60) return NaN
  const offset = m[8]!.toUpperCase() === 'Z' ? 0 : (m[8]![0] === '-' ? -1 : 1) * (Number(m[8]!.slice(1, 3)) * 60 + Number(m[8]!.slice(4, 6)))
  if (Math.abs(offset) >= 24 * 60 || Number(m[8]!.slice(4, 6) || 0) > 59) return NaN
  if (s === 60) {
    const utcMinute = ((h! * 60 + mi! - offset) % 1440 + 1440) % 1440
    if (utcMinute !== 1439) return NaN
  }
  const ms = m[7] ? Number(m[7].slice(1, 4).padEnd(3, '0')) : 0
  probe.setUTCHours(h!, mi!, Math.min(s!, 59), ms)
  return probe.getTime() + (s === 60 ? 1000 : 0) - offset * 60_000
}

/** Event times the platform takes: 1970-01-01T00:00:00Z (Kafka timestamps are not negative) to the
 *  last millisecond of 9999. */
const inRange = (ms: number): boolean => ms >= 0 && ms <= Date.UTC(9999, 11, 31, 23, 59, 59, 999)
/** Every string of the record (and every field name) well-formed and free of control characters. */
const safeText = (o: Record<string, unknown>): boolean => Object.entries(o).every(([k, v]) =>
  [k, v].every(s => typeof s !== 'string' || (s.isWellFormed() && ![...s].some(c => c.codePointAt(0)! < 0x20 || (c.codePointAt(0)! >= 0x7f && c.codePointAt(0)! < 0xa0)))))
const isString = (v: unknown, min: number, max: number): boolean => typeof v === 'string' && v.length >= min && v.length <= max
const isInt = (v: unknown, min: number, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
const MEMBER = /^[A-Za-z0-9_-]{1,64}$/

function onlyFields (o: Record<string, unknown>, allowed: string[]): boolean {
  return Object.keys(o).every(k => allowed.includes(k)) && allowed.every(k => k in o)
}

interface Earned { points: number, reversed: boolean }

export class ReferenceModel {
  readonly balances = new Map<string, Balance>()
  /** member → eventId → accepted EARN (points) / REVERSAL (null). */
  readonly #events = new Map<string, Map<string, Earned | null>>()
  readonly #redemptions = new Map<string, Set<string>>()
  readonly outcomes: ModelOutcome[] = []

  balanceOf (memberId: string): Balance {
    return this.balances.get(memberId) ?? { memberId, earned: 0, reversed: 0, redeemed: 0, available: 0, qualifyingPoints: 0, tier: 'MEMBER', lastActivityAt: null, events: 0 }
  }

  apply (input: ModelInput): ModelOutcome {
    const outcome = input.topic === 'reward-events' ? this.#reward(input) : this.#redeem(input)
    this.outcomes.push(outcome)
    return outcome
  }

  #parse (input: ModelInput): Record<string, unknown> | 'MALFORMED_JSON' | 'SCHEMA_VIOLATION' {
    if (input.value === null) return 'MALFORMED_JSON'
    let v: unknown
    try { v = JSON.parse(input.value) } catch { return 'MALFORMED_JSON' }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'SCHEMA_VIOLATION'
    return v as Record<string, unknown>
  }

  #reward (input: ModelInput): ModelOutcome {
    const dlq = (code: string): ModelOutcome => ({ kind: 'dlq', topic: input.topic, code })
    const e = this.#parse(input)
    if (typeof e === 'string') return dlq(e)
    const common = ['eventId', 'memberId', 'source', 'type', 'amountCents', 'currency', 'occurredAt', 'propertyId']
    const fields = e.type === 'REVERSAL' ? [...common, 'originalEventId'] : common
    const valid = onlyFields(e, fields) &&
      isString(e.eventId, 1, 128) && typeof e.memberId === 'string' && MEMBER.test(e.memberId) &&
      ['HOTEL', 'CASINO', 'DINING'].includes(e.source as string) && ['EARN', 'REVERSAL'].includes(e.type as string) &&
      isInt(e.amountCents, 0, 1e12) && typeof e.currency === 'string' && /^[A-Z]{3}$/.test(e.currency) &&
      inRange(timeOf(e.occurredAt)) && isString(e.propertyId, 1, 64) && safeText(e) &&
      (e.type !== 'REVERSAL' || isString(e.originalEventId, 1, 128))
    if (!valid) return dlq('SCHEMA_VIOLATION')
    const memberId = e.memberId as string
    if (input.key !== memberId) return dlq('KEY_MISMATCH')
    if (e.currency !== 'USD') return dlq('UNSUPPORTED_CURRENCY')

    const events = this.#events.get(memberId) ?? new Map<string, Earned | null>()
    this.#events.set(memberId, events)
    const eventId = e.eventId as string
    if (events.has(eventId)) return { kind: 'duplicate' }
    const before = this.balanceOf(memberId)
    const [tier, multiplier] = tierOf(before.qualifyingPoints)
    let points: number
    if (e.type === 'EARN') {
      points = Number(BigInt(e.amountCents as number) * RATES[e.source as string]! * multiplier / 1_000_000_000n)
      events.set(eventId, { points, reversed: false })
    } else {
      const original = events.get(e.originalEventId as string)
      if (original === undefined || original === null) return dlq('ORIGINAL_NOT_FOUND')
      if (original.reversed) return dlq('ALREADY_REVERSED')
      original.reversed = true
      points = -original.points
      events.set(eventId, null)
    }
    const earned = before.earned + Math.max(points, 0)
    const reversed = before.reversed + Math.max(-points, 0)
    const time = timeOf(e.occurredAt)
    const last = before.lastActivityAt === null || Date.parse(before.lastActivityAt) < time ? new Date(time).toISOString() : before.lastActivityAt
    const after: Balance = {
      memberId,
      earned,
      reversed,
      redeemed: before.redeemed,
      available: earned - reversed - before.redeemed,
      qualifyingPoints: earned - reversed,
      tier: tierOf(earned - reversed)[0],
      lastActivityAt: last,
      events: before.events + 1
    }
    this.balances.set(memberId, after)
    return { kind: 'reward', memberId, eventId, type: e.type as 'EARN' | 'REVERSAL', points, tier, balance: after }
  }

  #redeem (input: ModelInput): ModelOutcome {
    const dlq = (code: string): ModelOutcome => ({ kind: 'dlq', topic: input.topic, code })
    const r = this.#parse(input)
    if (typeof r === 'string') return dlq(r)
    const valid = onlyFields(r, ['redemptionId', 'memberId', 'points', 'rewardCode', 'channel', 'requestedAt']) &&
      isString(r.redemptionId, 1, 128) && typeof r.memberId === 'string' && MEMBER.test(r.memberId) &&
      isInt(r.points, 1, 1e9) && isString(r.rewardCode, 1, 64) &&
      ['HOTEL', 'CASINO', 'DINING', 'ONLINE'].includes(r.channel as string) && inRange(timeOf(r.requestedAt)) && safeText(r)
    if (!valid) return dlq('SCHEMA_VIOLATION')
    const memberId = r.memberId as string
    if (input.key !== memberId) return dlq('KEY_MISMATCH')
    const seen = this.#redemptions.get(memberId) ?? new Set<string>()
    this.#redemptions.set(memberId, seen)
    const redemptionId = r.redemptionId as string
    if (seen.has(redemptionId)) return { kind: 'duplicate' }
    seen.add(redemptionId)
    const before = this.balanceOf(memberId)
    const points = r.points as number
    if (before.available < points) return { kind: 'redeem', memberId, redemptionId, status: 'REJECTED', balance: before }
    const time = timeOf(r.requestedAt)
    const after: Balance = {
      ...before,
      redeemed: before.redeemed + points,
      available: before.available - points,
      lastActivityAt: before.lastActivityAt === null || Date.parse(before.lastActivityAt) < time ? new Date(time).toISOString() : before.lastActivityAt
    }
    this.balances.set(memberId, after)
    return { kind: 'redeem', memberId, redemptionId, status: 'CONFIRMED', balance: after }
  }
}

/** The parts of an actual output that the model predicts. */
export function canonical (balance: Balance): string {
  return JSON.stringify(balance, Object.keys(balance).sort())
}

export function rewardSummary (o: Pick<RewardConfirmed, 'memberId' | 'eventId' | 'type' | 'points' | 'tier' | 'balance'>): string {
  return `${o.memberId}/${o.eventId}/${o.type}/${o.points}/${o.tier}/${canonical(o.balance)}`
}

export function redeemSummary (o: Pick<RedeemConfirmed, 'memberId' | 'redemptionId' | 'status' | 'balance'>): string {
  return `${o.memberId}/${o.redemptionId}/${o.status}/${canonical(o.balance)}`
}
