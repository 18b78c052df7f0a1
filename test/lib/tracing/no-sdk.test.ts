// With no OpenTelemetry SDK registered (the default: no OTEL_* configured) tracing costs nothing
// and breaks nothing: the platform runs on Kafka + PostgreSQL as before, a caller's `traceparent`
// still travels unchanged into the records (and the archive's trace_id), a request without one
// adds none, and no log line carries trace fields.
import pg from 'pg'
import t from 'tap'
import { startArchiveBatchSpan } from '../../../lib/tracing/archive-batch-span.ts'
import { tracingActive } from '../../../lib/tracing/tracer.ts'
import { waitFor } from '../../archive/archive-helpers.ts'
import { unique } from '../../cli/cli-helpers.ts'
import { startInProcessPlatform } from './in-process-platform.ts'

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

t.test('no SDK: nothing recorded, traceparent passes through, nothing breaks', async t => {
  t.equal(tracingActive(), false, 'no tracer provider registered')
  t.equal(startArchiveBatchSpan([{ topic: 'x', headers: { traceparent: TRACEPARENT } }]).isRecording(), false, 'spans are no-ops')

  const { base, token, databaseUrl, lines, stop } = await startInProcessPlatform(t, 'notrace')

  const traced = unique('M')
  const untraced = unique('M')
  for (const [memberId, extra] of [[traced, { traceparent: TRACEPARENT }], [untraced, {}]] as const) {
    const response = await fetch(`${base}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...extra },
      body: JSON.stringify({ eventId: unique('e'), memberId, source: 'HOTEL', type: 'EARN', amountCents: 10_000, currency: 'USD', occurredAt: new Date().toISOString(), propertyId: 'P-1' })
    })
    t.equal(response.status, 202, `event of ${memberId} accepted`)
  }

  const archive = new pg.Client({ connectionString: databaseUrl })
  await archive.connect()
  t.teardown(() => archive.end())
  const rows = await waitFor('both events and their confirmations archived', async () => {
    const result = await archive.query<{ member_id: string, kind: string, headers: Record<string, string>, trace_id: string | null }>(
      'SELECT member_id, kind, headers, trace_id FROM archive_records WHERE member_id = ANY($1) ORDER BY member_id, kind', [[traced, untraced]])
    return result.rows.length >= 4 ? result.rows : undefined
  }, 120_000)
  for (const row of rows.filter(r => r.member_id === traced)) {
    t.equal(row.headers.traceparent, TRACEPARENT, `${row.kind}: the caller's traceparent, unchanged`)
    t.equal(row.trace_id, '0af7651916cd43dd8448eb211c80319c')
  }
  for (const row of rows.filter(r => r.member_id === untraced)) {
    t.equal(row.headers.traceparent, undefined, `${row.kind}: no traceparent invented`)
    t.equal(row.trace_id, null)
  }
  t.ok(lines.some(l => l.msg === 'request' && l.url === '/v1/events'), 'requests are logged')
  t.same(lines.filter(l => 'trace_id' in l || 'span_id' in l), [], 'no log line has trace fields without an SDK')
  t.same(lines.filter(l => l.level === 'error' || l.level === 'fatal'), [], 'no error logged')

  t.equal(await stop(), 0, 'the platform stops cleanly')
})
