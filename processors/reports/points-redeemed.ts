// points-redeemed: redemption decisions per UTC day and channel, from the archived decisions of
// redeem-confirmed (docs/contract.md "Outputs"):
//
//   confirmed / redeemedPoints   CONFIRMED decisions and the points they spent
//   rejected / rejectedPoints    REJECTED decisions (INSUFFICIENT_POINTS) and the points asked
//
// - Each decision counts once: the latest redeem-confirmed record per (memberId, redemptionId).
// - The day is the UTC day of requestedAt. A redemption request has a channel (HOTEL, CASINO,
//   DINING, ONLINE) but no property (docs/contract.md "redeem-events"), so this report takes `source` (= the channel)
//   and refuses `property`. redeem-confirmed carries no channel: it is the first archived
//   redeem-events record of the same (memberId, redemptionId).
import Type from 'typebox'
import { CHANNELS } from '../rewards/schemas.ts'
import { integer, timeRange, type ReportDefinition } from './report.ts'

export const PointsRedeemedRow = Type.Object({
  day: Type.String({ description: 'UTC day of requestedAt, YYYY-MM-DD' }),
  channel: Type.Union([Type.String(), Type.Null()], { description: 'channel of the request; null if it is not archived' }),
  confirmed: Type.Integer(),
  redeemedPoints: Type.Integer({ description: 'Σ points of CONFIRMED redemptions' }),
  rejected: Type.Integer(),
  rejectedPoints: Type.Integer({ description: 'Σ points asked by REJECTED redemptions' })
}, { additionalProperties: false })

export interface PointsRedeemed {
  day: string
  channel: string | null
  confirmed: number
  redeemedPoints: number
  rejected: number
  rejectedPoints: number
}

export const pointsRedeemed: ReportDefinition<PointsRedeemed> = {
  name: 'points-redeemed',
  description: 'Redemptions per UTC day and channel: confirmed points redeemed, rejected requests',
  filters: ['source'],
  sources: CHANNELS,
  defaultLimit: 1000,
  columns: [
    { name: 'day', type: 'text' }, { name: 'channel', type: 'text' },
    { name: 'confirmed', type: 'integer' }, { name: 'redeemedPoints', type: 'integer' },
    { name: 'rejected', type: 'integer' }, { name: 'rejectedPoints', type: 'integer' }
  ],
  rowSchema: PointsRedeemedRow,
  async query ({ db, topics }, params) {
    const { start, end } = timeRange(params)
    const result = await db.query<Record<string, string | null>>(`
      WITH rd AS (
        SELECT DISTINCT ON (member_id, redemption_id) member_id, redemption_id, status, points, event_time
        FROM archive_records
        WHERE kind = 'redeem-confirmed' AND topic = $1 AND event_time >= $3::timestamptz AND event_time < $4::timestamptz
          AND member_id IS NOT NULL AND redemption_id IS NOT NULL AND points IS NOT NULL AND status IN ('CONFIRMED', 'REJECTED')
        ORDER BY member_id, redemption_id, id DESC
      ),
      decisions AS (
        SELECT rd.*, inp.source AS channel
        FROM rd
        LEFT JOIN LATERAL (
          SELECT i.source FROM archive_records i
          WHERE i.redemption_id = rd.redemption_id AND i.topic = $2 AND i.member_id = rd.member_id
          ORDER BY i.id LIMIT 1
        ) inp ON true
        WHERE $5::text IS NULL OR inp.source = $5::text
      )
      SELECT to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, channel,
        count(*) FILTER (WHERE status = 'CONFIRMED')::text AS confirmed,
        coalesce(sum(points) FILTER (WHERE status = 'CONFIRMED'), 0)::text AS redeemed,
        count(*) FILTER (WHERE status = 'REJECTED')::text AS rejected,
        coalesce(sum(points) FILTER (WHERE status = 'REJECTED'), 0)::text AS rejected_points
      FROM decisions
      GROUP BY 1, 2
      ORDER BY 1, 2 NULLS LAST
      LIMIT $6`, [topics.redeemConfirmed, topics.redeemEvents, start, end, params.source, params.limit + 1])
    return result.rows.map(r => ({
      day: r.day!,
      channel: r.channel ?? null,
      confirmed: integer(r.confirmed),
      redeemedPoints: integer(r.redeemed),
      rejected: integer(r.rejected),
      rejectedPoints: integer(r.rejected_points)
    }))
  }
}
