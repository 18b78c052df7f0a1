// Reconciliation (docs/contract.md "Earning rules" and "Balances and redemptions", computed in SQL from the archive):
//
// - archiveBalances(): every member's balance from the archived decisions: the latest
//   reward-confirmed record per (memberId, eventId) and the latest redeem-confirmed per
//   (memberId, redemptionId) — "latest" because a rebuild re-emits the confirmations, which the
//   archive keeps as new records. earned = Σ EARN points, reversed = −Σ REVERSAL points,
//   redeemed = Σ CONFIRMED redemption points, available and qualifyingPoints derived, tier from the
//   rule set's thresholds, events = accepted reward events, lastActivityAt = latest event time of
//   accepted reward events and confirmed redemptions.
// - ruleViolations(): each decision checked against the rules and the archived inputs: an EARN's
//   points = floor(amountCents × rate × tier multiplier / 10^9) with the input's amount and source
//   (not checked for events a promotion may apply to: rule sets with promotions); the tier applied
//   = the tier of the member's qualifying points before the event (running sum over the member's
//   confirmations in processing order, i.e. offset order in its partition); a REVERSAL takes back
//   exactly its original's points; a CONFIRMED redemption leaves available ≥ 0 and a REJECTED one
//   had available < points.
// - unprocessedInputs(): distinct input events with neither a confirmation nor a dead letter
//   (the processor or the archiver is behind).
// - compareBalances(): archive vs store, field by field.
import type { Queryable } from '../../lib/db/database.ts'
import type { RuleSet } from '../rewards/rules-engine.ts'
import type { Balance } from '../rewards/schemas.ts'
import type { RewardsTopics } from '../rewards/topics.ts'

const LATEST_REWARD_CONFIRMED = `
  SELECT DISTINCT ON (member_id, event_id) member_id, event_id, event_type, points, event_time, tier, source, "offset"
  FROM archive_records
  WHERE topic = $1 AND member_id IS NOT NULL AND event_id IS NOT NULL AND points IS NOT NULL
  ORDER BY member_id, event_id, id DESC`

const LATEST_REDEEM_CONFIRMED = `
  SELECT DISTINCT ON (member_id, redemption_id) member_id, redemption_id, status, points, event_time,
    (value_json->'balance'->>'available')::bigint AS available_after
  FROM archive_records
  WHERE topic = $2 AND member_id IS NOT NULL AND redemption_id IS NOT NULL AND status IS NOT NULL
  ORDER BY member_id, redemption_id, id DESC`

const toIso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(v as string | Date).toISOString())

export async function archiveBalances (db: Queryable, topics: RewardsTopics, rules: RuleSet): Promise<Map<string, Balance>> {
  const sql = `
  WITH rc AS (${LATEST_REWARD_CONFIRMED}),
  rd AS (${LATEST_REDEEM_CONFIRMED}),
  totals AS (
    SELECT member_id, sum(earned) AS earned, sum(reversed) AS reversed, sum(redeemed) AS redeemed, sum(events) AS events, max(last_at) AS last_at
    FROM (
      SELECT member_id,
        coalesce(sum(points) FILTER (WHERE event_type = 'EARN'), 0) AS earned,
        coalesce(-sum(points) FILTER (WHERE event_type = 'REVERSAL'), 0) AS reversed,
        0 AS redeemed, count(*) AS events, max(event_time) AS last_at
      FROM rc GROUP BY member_id
      UNION ALL
      SELECT member_id, 0, 0, sum(points), 0, max(event_time) FROM rd WHERE status = 'CONFIRMED' GROUP BY member_id
    ) u GROUP BY member_id
  )
  SELECT member_id, earned::text AS earned, reversed::text AS reversed, redeemed::text AS redeemed,
    (SELECT name FROM unnest($3::text[], $4::bigint[]) AS t(name, min_points) WHERE min_points <= earned - reversed ORDER BY min_points DESC LIMIT 1) AS tier,
    events::text AS events, last_at
  FROM totals ORDER BY member_id`
  const result = await db.query<{ member_id: string, earned: string, reversed: string, redeemed: string, tier: string, events: string, last_at: unknown }>(sql, [
    topics.rewardConfirmed, topics.redeemConfirmed, rules.tiers.map(t => t.name), rules.tiers.map(t => String(t.minQualifyingPoints))
  ])
  const out = new Map<string, Balance>()
  for (const r of result.rows) {
    const earned = Number(r.earned)
    const reversed = Number(r.reversed)
    const redeemed = Number(r.redeemed)
    out.set(r.member_id, {
      memberId: r.member_id,
      earned,
      reversed,
      redeemed,
      available: earned - reversed - redeemed,
      qualifyingPoints: earned - reversed,
      tier: r.tier,
      lastActivityAt: toIso(r.last_at),
      events: Number(r.events)
    })
  }
  return out
}

export interface RuleViolation {
  readonly memberId: string
  /** eventId or redemptionId. */
  readonly id: string
  readonly problem: string
}

export async function ruleViolations (db: Queryable, topics: RewardsTopics, rules: RuleSet, limit = 1000): Promise<RuleViolation[]> {
  const checkEarnPoints = rules.promotions.length === 0
  const sources = Object.keys(rules.baseRates)
  const rewards = await db.query<{ member_id: string, event_id: string, event_type: string, points: string, tier: string, expected_tier: string | null, expected_points: string | null }>(`
  WITH rc AS (${LATEST_REWARD_CONFIRMED}),
  inp AS (
    SELECT DISTINCT ON (member_id, event_id) member_id, event_id, amount_cents, source, original_event_id
    FROM archive_records WHERE topic = $2 AND member_id IS NOT NULL AND event_id IS NOT NULL
    ORDER BY member_id, event_id, id
  ),
  rates AS (SELECT * FROM unnest($3::text[], $4::bigint[]) AS r(source, rate)),
  tiers AS (SELECT * FROM unnest($5::text[], $6::bigint[], $7::bigint[]) AS t(name, min_points, multiplier)),
  seq AS (
    SELECT rc.*, coalesce(sum(points) OVER (PARTITION BY member_id ORDER BY "offset" ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS qualifying_before
    FROM rc
  ),
  checked AS (
    SELECT s.member_id, s.event_id, s.event_type, s.points, s.tier,
      (SELECT name FROM tiers WHERE min_points <= s.qualifying_before ORDER BY min_points DESC LIMIT 1) AS expected_tier,
      CASE
        WHEN s.event_type = 'EARN' AND $8::boolean THEN floor(i.amount_cents::numeric * r.rate * t.multiplier / 1000000000)
        WHEN s.event_type = 'EARN' THEN s.points::numeric
        ELSE -(SELECT o.points FROM rc o WHERE o.member_id = s.member_id AND o.event_id = i.original_event_id AND o.event_type = 'EARN')
      END AS expected_points
    FROM seq s
    LEFT JOIN inp i ON i.member_id = s.member_id AND i.event_id = s.event_id
    LEFT JOIN rates r ON r.source = i.source
    LEFT JOIN tiers t ON t.name = s.tier
  )
  SELECT member_id, event_id, event_type, points::text AS points, tier, expected_tier, expected_points::text AS expected_points
  FROM checked
  WHERE tier IS DISTINCT FROM expected_tier OR points::numeric IS DISTINCT FROM expected_points
  ORDER BY member_id, event_id LIMIT ${Math.floor(limit)}`, [
    topics.rewardConfirmed, topics.rewardEvents, sources, sources.map(s => String(rules.baseRates[s as keyof typeof rules.baseRates])),
    rules.tiers.map(t => t.name), rules.tiers.map(t => String(t.minQualifyingPoints)), rules.tiers.map(t => String(t.multiplierBasisPoints)), checkEarnPoints
  ])
  const out: RuleViolation[] = rewards.rows.map(r => ({
    memberId: r.member_id,
    id: r.event_id,
    problem: r.expected_points === null
      ? `${r.event_type} ${r.points} points: its input event${r.event_type === 'REVERSAL' ? ' or original EARN' : ''} is not in the archive`
      : [
          r.tier !== r.expected_tier ? `tier ${r.tier} applied, ${r.expected_tier} expected from the qualifying points before it` : '',
          r.points !== r.expected_points ? `${r.event_type} points ${r.points}, ${r.expected_points} expected` : ''
        ].filter(Boolean).join('; ')
  }))
  const redemptions = await db.query<{ member_id: string, redemption_id: string, status: string, points: string, available_after: string | null }>(`
  WITH rd AS (${LATEST_REDEEM_CONFIRMED.replace('$2', '$1')})
  SELECT member_id, redemption_id, status, points::text AS points, available_after::text AS available_after FROM rd
  WHERE (status = 'CONFIRMED' AND (available_after IS NULL OR available_after < 0))
     OR (status = 'REJECTED' AND (available_after IS NULL OR available_after >= points))
  ORDER BY member_id, redemption_id LIMIT ${Math.floor(limit)}`, [topics.redeemConfirmed])
  for (const r of redemptions.rows) {
    out.push({
      memberId: r.member_id,
      id: r.redemption_id,
      problem: r.status === 'CONFIRMED'
        ? `CONFIRMED redemption of ${r.points} left available at ${r.available_after} (a redemption must never overspend)`
        : `REJECTED redemption of ${r.points} although ${r.available_after} points were available`
    })
  }
  return out
}

/** Distinct input events (reward and redeem) with neither a confirmation nor a dead letter. */
export async function unprocessedInputs (db: Queryable, topics: RewardsTopics): Promise<number> {
  const result = await db.query<{ n: string }>(`
  SELECT (
    SELECT count(*) FROM (SELECT DISTINCT member_id, event_id FROM archive_records WHERE topic = $1 AND member_id IS NOT NULL AND event_id IS NOT NULL) i
    WHERE NOT EXISTS (SELECT 1 FROM archive_records c WHERE c.event_id = i.event_id AND c.member_id = i.member_id AND c.topic IN ($3, $5))
  ) + (
    SELECT count(*) FROM (SELECT DISTINCT member_id, redemption_id FROM archive_records WHERE topic = $2 AND member_id IS NOT NULL AND redemption_id IS NOT NULL) i
    WHERE NOT EXISTS (SELECT 1 FROM archive_records c WHERE c.redemption_id = i.redemption_id AND c.member_id = i.member_id AND c.topic IN ($4, $6))
  ) AS n`, [topics.rewardEvents, topics.redeemEvents, topics.rewardConfirmed, topics.redeemConfirmed, topics.rewardEventsDlq, topics.redeemEventsDlq])
  return Number(result.rows[0]?.n ?? 0)
}

export const BALANCE_FIELDS = ['earned', 'reversed', 'redeemed', 'available', 'qualifyingPoints', 'tier', 'events', 'lastActivityAt'] as const

export interface BalanceDrift {
  readonly memberId: string
  /** null: missing on that side. */
  readonly archive: Balance | null
  readonly store: Balance | null
  readonly fields: string[]
}

export function compareBalance (memberId: string, archive: Balance | null, store: Balance | null): BalanceDrift | undefined {
  if (archive === null && store === null) return undefined
  if (archive === null || store === null) return { memberId, archive, store, fields: [archive === null ? 'missing in the archive' : 'missing in the store'] }
  const fields = BALANCE_FIELDS.filter(f => archive[f] !== store[f])
  return fields.length === 0 ? undefined : { memberId, archive, store, fields: [...fields] }
}
