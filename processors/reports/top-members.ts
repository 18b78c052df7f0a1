// top-members: the members who earned the most in the period, with their current balance.
//
//   earnedPoints, reversedPoints, netPoints, events   in the period (as points-issued: accepted
//                                                     decisions, latest copy per eventId, UTC days
//                                                     of occurredAt, source/property filters)
//   qualifyingPoints, availablePoints                 now, over the whole archive: Σ signed
//                                                     reward points, minus CONFIRMED redemptions
//                                                     (as reconcile computes the balance)
//
// Ranked by netPoints, then memberId; `limit` (default 10) members.
import Type from 'typebox'
import { SOURCES } from '../rewards/schemas.ts'
import { ISSUED_DECISIONS } from './points-issued.ts'
import { integer, timeRange, type ReportDefinition } from './report.ts'

export const TopMemberRow = Type.Object({
  rank: Type.Integer({ minimum: 1 }),
  memberId: Type.String(),
  earnedPoints: Type.Integer({ description: 'in the period: Σ points of accepted EARN events' }),
  reversedPoints: Type.Integer({ description: 'in the period: points taken back by reversals (positive)' }),
  netPoints: Type.Integer({ description: 'in the period: earnedPoints − reversedPoints (the ranking)' }),
  events: Type.Integer({ description: 'accepted reward events in the period' }),
  qualifyingPoints: Type.Integer({ description: 'now: earned − reversed over the whole archive' }),
  availablePoints: Type.Integer({ description: 'now: qualifyingPoints − confirmed redemptions' })
}, { additionalProperties: false })

export interface TopMember {
  rank: number
  memberId: string
  earnedPoints: number
  reversedPoints: number
  netPoints: number
  events: number
  qualifyingPoints: number
  availablePoints: number
}

export const topMembers: ReportDefinition<TopMember> = {
  name: 'top-members',
  description: 'Members ranked by net points earned in the period, with their current balance',
  filters: ['source', 'property'],
  sources: SOURCES,
  defaultLimit: 10,
  columns: [
    { name: 'rank', type: 'integer' }, { name: 'memberId', type: 'text' },
    { name: 'earnedPoints', type: 'integer' }, { name: 'reversedPoints', type: 'integer' }, { name: 'netPoints', type: 'integer' },
    { name: 'events', type: 'integer' }, { name: 'qualifyingPoints', type: 'integer' }, { name: 'availablePoints', type: 'integer' }
  ],
  rowSchema: TopMemberRow,
  async query ({ db, topics }, params) {
    const { start, end } = timeRange(params)
    // The balance subqueries run only for the ranked members, through the (member_id, kind, …) index.
    const result = await db.query<Record<string, string>>(`${ISSUED_DECISIONS},
      ranked AS (
        SELECT member_id,
          coalesce(sum(points) FILTER (WHERE event_type = 'EARN'), 0) AS earned,
          coalesce(-sum(points) FILTER (WHERE event_type = 'REVERSAL'), 0) AS reversed,
          sum(points) AS net, count(*) AS events
        FROM decisions GROUP BY member_id
        ORDER BY net DESC, member_id
        LIMIT $7
      ),
      balances AS (
        SELECT r.*,
          (SELECT coalesce(sum(x.points), 0) FROM (
            SELECT DISTINCT ON (a.event_id) a.points FROM archive_records a
            WHERE a.member_id = r.member_id AND a.kind = 'reward-confirmed' AND a.topic = $1
              AND a.event_id IS NOT NULL AND a.points IS NOT NULL AND a.event_type IN ('EARN', 'REVERSAL')
            ORDER BY a.event_id, a.id DESC) x) AS qualifying,
          (SELECT coalesce(sum(y.points) FILTER (WHERE y.status = 'CONFIRMED'), 0) FROM (
            SELECT DISTINCT ON (a.redemption_id) a.points, a.status FROM archive_records a
            WHERE a.member_id = r.member_id AND a.kind = 'redeem-confirmed' AND a.topic = $8
              AND a.redemption_id IS NOT NULL AND a.points IS NOT NULL
            ORDER BY a.redemption_id, a.id DESC) y) AS redeemed
        FROM ranked r
      )
      SELECT member_id, earned::text AS earned, reversed::text AS reversed, net::text AS net, events::text AS events,
        qualifying::text AS qualifying, (qualifying - redeemed)::text AS available
      FROM balances b
      ORDER BY b.net DESC, b.member_id`,
    [topics.rewardConfirmed, topics.rewardEvents, start, end, params.source, params.property, params.limit + 1, topics.redeemConfirmed])
    return result.rows.map((r, i) => ({
      rank: i + 1,
      memberId: r.member_id!,
      earnedPoints: integer(r.earned),
      reversedPoints: integer(r.reversed),
      netPoints: integer(r.net),
      events: integer(r.events),
      qualifyingPoints: integer(r.qualifying),
      availablePoints: integer(r.available)
    }))
  }
}
