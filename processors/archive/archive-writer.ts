// Writes a batch of archive rows in one INSERT … SELECT FROM unnest(arrays) statement (one round
// trip, one array parameter per column whatever the batch size) with ON CONFLICT DO NOTHING on
// (topic, partition, offset): a batch re-read after a crash inserts nothing twice. The statement
// is atomic, so when it returns every row of the batch is durable (committed).
import type { Queryable } from '../../lib/db/database.ts'
import type { ArchiveRow } from './archive-row.ts'

const hex = (b: Buffer | null): string | null => (b === null ? null : b.toString('hex'))
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

const COLUMNS = 25

export const INSERT_ARCHIVE_ROWS = `
INSERT INTO archive_records (topic, "partition", "offset", record_timestamp, "key", "value", value_json, headers, kind,
  member_id, event_id, redemption_id, event_type, original_event_id, source, property_id, amount_cents, points,
  status, reason, tier, rule_version, event_time, error_code, trace_id)
SELECT t, p, o, ts, decode(k, 'hex'), decode(v, 'hex'), vj::jsonb, h::jsonb, kd,
  m, e, r, et, oe, s, pr, ac, pt, st, rs, ti, rv, evt, ec, tr
FROM unnest($1::text[], $2::int[], $3::bigint[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[],
  $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::bigint[],
  $18::bigint[], $19::text[], $20::text[], $21::text[], $22::text[], $23::timestamptz[], $24::text[], $25::text[])
  AS x(t, p, o, ts, k, v, vj, h, kd, m, e, r, et, oe, s, pr, ac, pt, st, rs, ti, rv, evt, ec, tr)
ON CONFLICT ON CONSTRAINT archive_records_topic_partition_offset DO NOTHING`

/** Inserts the rows; returns how many were new (the rest were archived before). */
export async function writeArchiveRows (db: Queryable, rows: readonly ArchiveRow[]): Promise<number> {
  if (rows.length === 0) return 0
  const columns: unknown[][] = Array.from({ length: COLUMNS }, () => new Array(rows.length))
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!
    const values = [r.topic, r.partition, String(r.offset), iso(r.timestamp), hex(r.key), hex(r.value), r.valueJson, JSON.stringify(r.headers), r.kind,
      r.memberId, r.eventId, r.redemptionId, r.eventType, r.originalEventId, r.source, r.propertyId,
      r.amountCents === null ? null : String(r.amountCents), r.points === null ? null : String(r.points),
      r.status, r.reason, r.tier, r.ruleVersion, iso(r.eventTimeMs), r.errorCode, r.traceId]
    for (let c = 0; c < COLUMNS; c++) columns[c]![i] = values[c]
  }
  const result = await db.query<{ n: number }>(`WITH ins AS (${INSERT_ARCHIVE_ROWS} RETURNING 1) SELECT count(*)::int AS n FROM ins`, columns)
  return Number(result.rows[0]?.n ?? 0)
}
