// points-issued: points issued per UTC day, source and property, from the archived decisions of
// reward-confirmed (docs/contract.md "Outputs"), gross and net:
//
//   earnedPoints   = Σ points of accepted EARN events          (gross issued)
//   reversedPoints = −Σ points of accepted REVERSAL events     (taken back; a positive number)
//   netPoints      = earnedPoints − reversedPoints             (issued net of reversals)
//
// - Each decision counts once: the latest reward-confirmed record per (memberId, eventId), as
//   reconcile does (a rebuild re-emits every confirmation, and the archive keeps both copies).
//   Rejected inputs (dead letters) issue nothing and are not counted.
// - The day is the UTC day of the event's own occurredAt; a reversal counts on its own day,
//   source and property (not its original's), so a day's net can be negative.
// - reward-confirmed carries no propertyId: it is the first archived reward-events record of
//   the same (memberId, eventId), found through the event_id index.
import Type from 'typebox'
import { SOURCES } from '../rewards/schemas.ts'
import { integer, timeRange, type ReportDefinition } from './report.ts'

export const PointsIssuedRow = Type.Object({
  day: Type.String({ description: 'UTC day of occurredAt, YYYY-MM-DD' }),
  source: Type.String(),
  property: Type.Union([Type.String(), Type.Null()], { description: 'propertyId of the input event; null if it is not archived' }),
  earnEvents: Type.Integer(),
  earnedPoints: Type.Integer({ description: 'gross: Σ points of accepted EARN events' }),
  reversalEvents: Type.Integer(),
  reversedPoints: Type.Integer({ description: 'points taken back by accepted reversals (positive)' }),
  netPoints: Type.Integer({ description: 'earnedPoints − reversedPoints' })
}, { additionalProperties: false })

export interface PointsIssued {
  day: string
  source: string
  property: string | null
  earnEvents: number
  earnedPoints: number
  reversalEvents: number
  reversedPoints: number
  netPoints: number
}

/** The accepted reward decisions in [$3, $4) — latest copy per (memberId, eventId) — with their
 *  input's property, filtered by source ($5) and property ($6) when given. Shared with top-members. */
export const ISSUED_DECISIONS = `
  WITH rc AS (
    SELECT DISTINCT ON (member_id, event_id) member_id, event_id, event_type, points, source, event_time
    FROM archive_records
    WHERE kind = 'reward-confirmed' AND topic = $1 AND event_time >= $3::timestamptz AND event_time < $4::timestamptz
      AND member_id IS NOT NULL AND event_id IS NOT NULL AND points IS NOT NULL AND event_type IN ('EARN', 'REVERSAL')
      AND ($5::text IS NULL OR source = $5::text)
    ORDER BY member_id, event_id, id DESC
  ),
  decisions AS (
    SELECT rc.*, inp.property_id
    FROM rc
    LEFT JOIN LATERAL (
      SELECT i.property_id FROM archive_records i
      WHERE i.event_id = rc.event_id AND i.topic = $2 AND i.member_id = rc.member_id
      ORDER BY i.id LIMIT 1
    ) inp ON true
    WHERE $6::text IS NULL OR inp.property_id = $6::text
  )`

export const pointsIssued: ReportDefinition<PointsIssued> = {
  name: 'points-issued',
  description: 'Points issued per UTC day, source and property: gross (EARN), reversed, and net',
  filters: ['source', 'property'],
  sources: SOURCES,
  defaultLimit: 1000,
  columns: [
    { name: 'day', type: 'text' }, { name: 'source', type: 'text' }, { name: 'property', type: 'text' },
    { name: 'earnEvents', type: 'integer' }, { name: 'earnedPoints', type: 'integer' },
    { name: 'reversalEvents', type: 'integer' }, { name: 'reversedPoints', type: 'integer' }, { name: 'netPoints', type: 'integer' }
  ],
  rowSchema: PointsIssuedRow,
  async query ({ db, topics }, params) {
    const { start, end } = timeRange(params)
    const result = await db.query<Record<string, string | null>>(`${ISSUED_DECISIONS}
      SELECT to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, source, property_id AS property,
        count(*) FILTER (WHERE event_type = 'EARN')::text AS earn_events,
        coalesce(sum(points) FILTER (WHERE event_type = 'EARN'), 0)::text AS earned,
        count(*) FILTER (WHERE event_type = 'REVERSAL')::text AS reversal_events,
        coalesce(-sum(points) FILTER (WHERE event_type = 'REVERSAL'), 0)::text AS reversed,
        sum(points)::text AS net
      FROM decisions
      GROUP BY 1, 2, 3
      ORDER BY 1, 2, 3 NULLS LAST
      LIMIT $7`, [topics.rewardConfirmed, topics.rewardEvents, start, end, params.source, params.property, params.limit + 1])
    return result.rows.map(r => ({
      day: r.day!,
      source: r.source!,
      property: r.property ?? null,
      earnEvents: integer(r.earn_events),
      earnedPoints: integer(r.earned),
      reversalEvents: integer(r.reversal_events),
      reversedPoints: integer(r.reversed),
      netPoints: integer(r.net)
    }))
  }
}
