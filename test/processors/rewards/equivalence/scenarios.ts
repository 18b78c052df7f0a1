// Deterministic inputs for the output-equivalence test of the rewards topology
// (dsl-equivalence.test.ts): every kind of record the topology meets — EARN of each source,
// REVERSAL (valid, of an unknown original, a second one of the same EARN, of a REVERSAL), exact
// re-sends of both inputs, redemptions of exactly the balance and over it, every dead-letter code
// (MALFORMED_JSON with null / non-UTF-8 / broken JSON, SCHEMA_VIOLATION, KEY_MISMATCH,
// UNSUPPORTED_CURRENCY, ORIGINAL_NOT_FOUND, ALREADY_REVERSED, POINTS_OVERFLOW), null keys, input
// headers, far-future event times, wall-clock moves, and — in the second scenario — a dedupe
// retention short enough that the purge runs, in small batches, and expired ids are accepted again.
import { defaultRuleSet, parseRuleSet, type RewardsTopologyOptions, type RuleSet } from '../../../../processors/rewards/index.ts'
import { DemoGenerator, seededRandom } from '../../../../processors/rewards/demo/index.ts'
import type { Headers } from '../../../../topology/index.ts'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export interface InputStep {
  readonly topic: 'reward-events' | 'redeem-events'
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly timestamp: number
  readonly headers: Headers
  /** Moves the driver's wall clock by this much before the record (processedAt, clock cap). */
  readonly advanceWallMs: number
}

export interface Scenario {
  readonly name: string
  readonly partitions: number
  readonly startTimeMs: number
  readonly options: Omit<RewardsTopologyOptions, 'storeKind' | 'metrics'>
  readonly steps: InputStep[]
}

const START_MS = Date.parse('2026-03-01T00:00:00Z')
const HOUR_MS = 3_600_000
const RULES_FILE = fileURLToPath(new URL('../../../../rules/2026-1.json', import.meta.url))

/** CASINO at the highest base rate: a large coin-in overflows 2^53 − 1 points (POINTS_OVERFLOW). */
function overflowRules (): RuleSet {
  const file = JSON.parse(readFileSync(RULES_FILE, 'utf8')) as { version: string, baseRates: { CASINO: number } }
  file.version = '2026-overflow'
  file.baseRates.CASINO = 1_000_000_000
  return parseRuleSet(file)
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8')

/** Demo records, then hand-made ones woven in at random places. */
function build (seed: number, count: number, members: number, meanGapMs: number, extrasEvery: number): InputStep[] {
  const random = seededRandom(seed * 7919)
  const demo = new DemoGenerator({ seed, members, startTimeMs: START_MS, meanGapMs, badRecordRate: 0.04, duplicateRate: 0.05 }).take(count)
  const steps: InputStep[] = []
  const earns: Array<{ memberId: string, eventId: string, value: string }> = []
  const redeems: string[] = []
  const reversed: string[] = []
  let n = 0
  for (const r of demo) {
    const topic = r.topic.endsWith('redeem-events') ? 'redeem-events' as const : 'reward-events' as const
    const headers: Headers = random() < 0.1 ? { traceparent: utf8(`00-${String(n).padStart(32, '0')}-00f067aa0ba902b7-01`), 'x-origin': utf8('pos') } : {}
    steps.push({ topic, key: utf8(r.key), value: utf8(r.value), timestamp: r.timestamp, headers, advanceWallMs: random() < 0.05 ? Math.floor(random() * HOUR_MS) : 0 })
    if (topic === 'reward-events' && r.value.includes('"EARN"')) {
      try {
        const e = JSON.parse(r.value) as { memberId: string, eventId: string }
        earns.push({ memberId: e.memberId, eventId: e.eventId, value: r.value })
      } catch { /* a malformed demo record: not an EARN to reverse or re-send */ }
    }
    if (topic === 'redeem-events') redeems.push(r.value)
    if (++n % extrasEvery !== 0) continue
    const at = new Date(r.timestamp + 1000).toISOString()
    const some = <T>(xs: T[]): T | undefined => xs.length === 0 ? undefined : xs[Math.floor(random() * xs.length)]
    const earn = some(earns)
    const extra = (topic: InputStep['topic'], key: string | null, value: string | Buffer | null, headers: Headers = {}): void => {
      steps.push({ topic, key: key === null ? null : utf8(key), value: value === null ? null : typeof value === 'string' ? utf8(value) : value, timestamp: r.timestamp + 1000, headers, advanceWallMs: 0 })
    }
    switch (Math.floor(random() * 12)) {
      case 0: // a first reversal of a known EARN, or a second one (ALREADY_REVERSED)
      case 1: {
        if (earn === undefined) break
        const again = reversed.length > 0 && random() < 0.4 ? reversed[Math.floor(random() * reversed.length)]! : earn.eventId
        const memberOf = earns.find(e => e.eventId === again)?.memberId ?? earn.memberId
        extra('reward-events', memberOf, JSON.stringify({ eventId: `rev-${seed}-${n}`, memberId: memberOf, source: 'HOTEL', type: 'REVERSAL', amountCents: 1, currency: 'USD', occurredAt: at, propertyId: 'LV-SUNSET-PALMS', originalEventId: again }))
        reversed.push(again)
        break
      }
      case 2: // a reversal of nothing, and one of a reversal (ORIGINAL_NOT_FOUND both)
        extra('reward-events', 'M000001', JSON.stringify({ eventId: `revx-${seed}-${n}`, memberId: 'M000001', source: 'DINING', type: 'REVERSAL', amountCents: 0, currency: 'USD', occurredAt: at, propertyId: 'P', originalEventId: random() < 0.5 ? 'never' : `rev-${seed}-${n - extrasEvery}` }))
        break
      case 3: // exact re-send of an old EARN (a duplicate while retained, accepted again after)
        if (earn !== undefined) extra('reward-events', earn.memberId, earn.value)
        break
      case 4: { // exact re-send of an old redemption
        const v = some(redeems)
        if (v !== undefined) extra('redeem-events', (JSON.parse(v) as { memberId: string }).memberId, v)
        break
      }
      case 5: // a big spender: maybe over the balance, maybe a POINTS_OVERFLOW earn (overflow rules)
        extra('reward-events', 'M000002', JSON.stringify({ eventId: `big-${seed}-${n}`, memberId: 'M000002', source: 'CASINO', type: 'EARN', amountCents: 1_000_000_000_000, currency: 'USD', occurredAt: at, propertyId: 'LV-NEON-GARDEN' }))
        extra('redeem-events', 'M000002', JSON.stringify({ redemptionId: `bigr-${seed}-${n}`, memberId: 'M000002', points: 1_000_000_000, rewardCode: 'SUITE', channel: 'ONLINE', requestedAt: at }))
        break
      case 6: // null key, null value, non-UTF-8 bytes, broken JSON
        extra('reward-events', null, JSON.stringify({ eventId: `nk-${n}`, memberId: 'M000003', source: 'HOTEL', type: 'EARN', amountCents: 100, currency: 'USD', occurredAt: at, propertyId: 'P' }))
        extra('redeem-events', 'M000003', null, { 'x-why': utf8('tombstone') })
        extra('reward-events', 'M000003', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))
        extra('redeem-events', 'M000003', '{"redemptionId": "r",')
        break
      case 7: // key mismatch, unsupported currency
        extra('reward-events', 'M000004', JSON.stringify({ eventId: `km-${n}`, memberId: 'M000005', source: 'HOTEL', type: 'EARN', amountCents: 100, currency: 'USD', occurredAt: at, propertyId: 'P' }))
        extra('reward-events', 'M000004', JSON.stringify({ eventId: `cur-${n}`, memberId: 'M000004', source: 'HOTEL', type: 'EARN', amountCents: 100, currency: 'EUR', occurredAt: at, propertyId: 'P' }))
        break
      case 8: // far in the future: the dedupe clock is capped at wall clock + maxEventTimeAheadMs
        extra('reward-events', 'M000006', JSON.stringify({ eventId: `fut-${n}`, memberId: 'M000006', source: 'DINING', type: 'EARN', amountCents: 5000, currency: 'USD', occurredAt: '2031-01-01T00:00:00Z', propertyId: 'P' }))
        break
      case 9: { // a redemption of exactly what a fresh member has
        const m = `X${String(n).padStart(6, '0')}`
        extra('reward-events', m, JSON.stringify({ eventId: `x-${n}`, memberId: m, source: 'HOTEL', type: 'EARN', amountCents: 12_345, currency: 'USD', occurredAt: at, propertyId: 'P' }))
        extra('redeem-events', m, JSON.stringify({ redemptionId: `xr-${n}`, memberId: m, points: 123, rewardCode: 'EXACT', channel: 'HOTEL', requestedAt: at }))
        extra('redeem-events', m, JSON.stringify({ redemptionId: `xr2-${n}`, memberId: m, points: 1, rewardCode: 'ONE-MORE', channel: 'HOTEL', requestedAt: at }))
        break
      }
      default: // schema violations of both inputs
        extra('redeem-events', 'M000007', JSON.stringify({ redemptionId: `sv-${n}`, memberId: 'M000007', points: 0, rewardCode: 'X', channel: 'ONLINE', requestedAt: at }))
        extra('reward-events', 'M000007', JSON.stringify({ eventId: `sv-${n}`, memberId: 'M000007', source: 'GOLF', type: 'EARN', amountCents: 1, currency: 'USD', occurredAt: at, propertyId: 'P' }))
    }
  }
  return steps
}

export function scenarios (): Scenario[] {
  return [
    {
      name: 'default rules, 90-day retention, 3 partitions',
      partitions: 3,
      startTimeMs: Date.parse('2026-04-01T12:00:00Z'),
      options: { rules: defaultRuleSet() },
      steps: build(11, 2500, 40, 60_000, 7)
    },
    {
      name: 'overflow rules, 3-hour retention purged 3 at a time, 2 partitions',
      partitions: 2,
      startTimeMs: Date.parse('2026-03-02T00:00:00Z'),
      options: { rules: overflowRules(), dedupeRetentionMs: 3 * HOUR_MS, purgeIntervalMs: 10 * 60_000, maxPurgePerPunctuation: 3, activityLimitPerMember: 5, maxEventTimeAheadMs: HOUR_MS },
      steps: build(12, 1500, 15, 5 * 60_000, 5)
    }
  ]
}

/** The outputs recorded from the hand-written processor the DSL topology replaced (record.ts). */
export const RECORDED_OUTPUTS_FILE = fileURLToPath(new URL('recorded-outputs.txt.gz', import.meta.url))
