// dlq-codes: dead letters per input topic and error code (docs/contract.md "Dead letters": MALFORMED_JSON,
// SCHEMA_VIOLATION, KEY_MISMATCH, UNSUPPORTED_CURRENCY, ORIGINAL_NOT_FOUND, ALREADY_REVERSED…),
// from the archived rows of both DLQ topics and their `error.code` header.
//
// - Each rejected input counts once: dead letters are told apart by the source topic, partition
//   and offset headers (a rebuild dead-letters the same input again); one without them counts as
//   its own record.
// - The period is the UTC days of the dead letter's record timestamp: the event time of the input
//   when it could be read (the topology's timestamp extractor), else when it was produced.
// - Dead letters may be unreadable, so they have no reliable source or property: neither filter
//   applies.
import Type from 'typebox'
import { integer, timeRange, type ReportDefinition } from './report.ts'

export const DlqCodeRow = Type.Object({
  input: Type.String({ description: 'the input topic the records were rejected from (reward-events or redeem-events, as configured)' }),
  code: Type.String({ description: 'error.code header; (none) if missing' }),
  deadLetters: Type.Integer({ description: 'distinct rejected input records' }),
  firstAt: Type.String({ format: 'date-time' }),
  lastAt: Type.String({ format: 'date-time' })
}, { additionalProperties: false })

export interface DlqCode {
  input: string
  code: string
  deadLetters: number
  firstAt: string
  lastAt: string
}

export const dlqCodes: ReportDefinition<DlqCode> = {
  name: 'dlq-codes',
  description: 'Dead letters per input topic and error code',
  filters: [],
  defaultLimit: 1000,
  columns: [
    { name: 'input', type: 'text' }, { name: 'code', type: 'text' }, { name: 'deadLetters', type: 'integer' },
    { name: 'firstAt', type: 'text' }, { name: 'lastAt', type: 'text' }
  ],
  rowSchema: DlqCodeRow,
  async query ({ db, topics }, params) {
    const { start, end } = timeRange(params)
    const result = await db.query<{ input: string, code: string, n: string, first_at: Date | string, last_at: Date | string }>(`
      SELECT input, code, n::text AS n, first_at, last_at FROM (
        SELECT CASE WHEN topic = $1 THEN $3::text ELSE $4::text END AS input, coalesce(error_code, '(none)') AS code,
          count(DISTINCT coalesce(
            (headers->>'source.topic') || '/' || (headers->>'source.partition') || '/' || (headers->>'source.offset'),
            topic || '#' || "partition" || '#' || "offset")) AS n,
          min(record_timestamp) AS first_at, max(record_timestamp) AS last_at
        FROM archive_records
        WHERE kind IN ('reward-dlq', 'redeem-dlq') AND topic IN ($1, $2)
          AND record_timestamp >= $5::timestamptz AND record_timestamp < $6::timestamptz
        GROUP BY 1, 2
      ) d
      ORDER BY d.n DESC, input, code
      LIMIT $7`, [topics.rewardEventsDlq, topics.redeemEventsDlq, topics.rewardEvents, topics.redeemEvents, start, end, params.limit + 1])
    return result.rows.map(r => ({
      input: r.input,
      code: r.code,
      deadLetters: integer(r.n),
      firstAt: new Date(r.first_at).toISOString(),
      lastAt: new Date(r.last_at).toISOString()
    }))
  }
}
