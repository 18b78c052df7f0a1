// One trace from a POSTed event to its archive row, on the real broker and PostgreSQL: the
// platform (processor, api, archiver, auth roles) runs in this process under an in-memory span
// exporter registered as `rewards start` registers the SDK (registerTracing); the event is POSTed
// with a caller's `traceparent`; once its rows are archived, the spans must form one trace:
//
//   caller span ─► POST /v1/events (SERVER) ─► send reward-events (PRODUCER) ─► kafka send (CLIENT)
//                                                 └─► process reward-events (CONSUMER)
//   archive batch (CONSUMER): child of its first record's context, linked to every record's
//
// and the archived records' headers carry the traceparent of the span that produced them.
import { SpanKind } from '@opentelemetry/api'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace'
import pg from 'pg'
import t from 'tap'
import { registerTracing } from '../../../lib/tracing/tracing-sdk.ts'
import { waitFor } from '../../archive/archive-helpers.ts'
import { unique } from '../../cli/cli-helpers.ts'
import { startInProcessPlatform } from './in-process-platform.ts'

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER_SPAN = '00f067aa0ba902b7'

t.test('POST with traceparent → one trace: HTTP, produce, process and archive spans', async t => {
  const exporter = new InMemorySpanExporter()
  const tracing = await registerTracing(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })], spanLimits: { linkCountLimit: 1024 } }))
  t.teardown(() => tracing.shutdown())

  const { base, token, appId, topics, databaseUrl, lines, stop } = await startInProcessPlatform(t, 'trace')

  const memberId = unique('M')
  const eventId = unique('stay')
  const event = { eventId, memberId, source: 'HOTEL', type: 'EARN', amountCents: 25_000, currency: 'USD', occurredAt: new Date().toISOString(), propertyId: 'P-1' }
  const posted = await fetch(`${base}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`, 'x-request-id': 'trace-test-req-1' },
    body: JSON.stringify(event)
  })
  t.equal(posted.status, 202, 'event accepted')

  // The event's row and its confirmation's row, both in the archive.
  const archive = new pg.Client({ connectionString: databaseUrl })
  await archive.connect()
  t.teardown(() => archive.end())
  const rows = await waitFor('the event and its confirmation archived', async () => {
    const result = await archive.query<{ kind: string, headers: Record<string, string>, trace_id: string | null }>(
      'SELECT kind, headers, trace_id FROM archive_records WHERE member_id = $1 ORDER BY kind', [memberId])
    return result.rows.length >= 2 ? result.rows : undefined
  }, 120_000)
  const archiveSpans = (): ReadableSpan[] => exporter.getFinishedSpans().filter(s => s.name === 'archive batch' && s.spanContext().traceId === CALLER_TRACE)
  // The batch span ends right after the INSERT returns: wait for the one(s) of both rows.
  await waitFor('archive batch spans exported', async () => archiveSpans().flatMap(s => s.links).length >= 2 || undefined, 30_000, 50)

  const spans = exporter.getFinishedSpans().filter(s => s.spanContext().traceId === CALLER_TRACE)
  const one = (what: string, match: (s: ReadableSpan) => boolean): ReadableSpan => {
    const found = spans.filter(match)
    t.equal(found.length, 1, `one ${what} span in the trace (${spans.map(s => s.name).join(', ')})`)
    return found[0]!
  }
  const http = one('HTTP', s => s.kind === SpanKind.SERVER && s.name === 'POST /v1/events')
  const produce = one('produce', s => s.kind === SpanKind.PRODUCER && s.name === `send ${topics.rewardEvents}`)
  const processed = one('process', s => s.kind === SpanKind.CONSUMER && s.name === `process ${topics.rewardEvents}`)
  const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId

  t.equal(parentOf(http), CALLER_SPAN, 'the HTTP span is the child of the caller\'s span (incoming traceparent)')
  t.match(http.attributes, { 'http.request.method': 'POST', 'http.route': '/v1/events', 'http.response.status_code': 202, 'rewards.request_id': 'trace-test-req-1' })
  t.equal(parentOf(produce), http.spanContext().spanId, 'the produce span is the child of the HTTP span')
  t.match(produce.attributes, { 'messaging.system': 'kafka', 'messaging.destination.name': topics.rewardEvents, 'messaging.batch.message_count': 1 })
  t.equal(parentOf(processed), produce.spanContext().spanId, 'the process span is the child of the produce span (from the record\'s traceparent)')
  t.match(processed.attributes, { 'messaging.destination.name': topics.rewardEvents, 'messaging.consumer.group.name': appId, 'rewards.task': '0_0', 'rewards.request_id': 'trace-test-req-1' })
  const kafkaSend = spans.filter(s => s.kind === SpanKind.CLIENT && parentOf(s) === produce.spanContext().spanId)
  t.ok(kafkaSend.some(s => s.name === 'kafka send'), `the Kafka client's send is a client span under the produce span (${kafkaSend.map(s => s.name).join(', ')})`)
  t.ok(spans.some(s => s.kind === SpanKind.CLIENT && s.name === 'kafka Produce'), 'and so is its Produce request')

  const batches = archiveSpans()
  t.ok(batches.length >= 1, 'the archive batch span is in the same trace')
  const ids = new Set([produce.spanContext().spanId, processed.spanContext().spanId])
  for (const batch of batches) t.ok(ids.has(parentOf(batch) ?? ''), 'an archive batch is the child of one of its records\' contexts')
  const linked = new Set(batches.flatMap(b => b.links.map(l => l.context.spanId)))
  t.ok(linked.has(produce.spanContext().spanId), 'the archive batch links to the event\'s producer context')
  t.ok(linked.has(processed.spanContext().spanId), 'and to its confirmation\'s (the process span)')

  // The engine commit that carried the confirmation: its own trace (a commit has many causes),
  // linked to the process span, with the transaction's Kafka client calls as its children.
  const commits = exporter.getFinishedSpans().filter(s => s.name === 'stream commit' && s.links.some(l => l.context.spanId === processed.spanContext().spanId))
  t.equal(commits.length, 1, 'one engine commit span links to the process span')
  const commit = commits[0]!
  t.not(commit.spanContext().traceId, CALLER_TRACE, 'in a trace of its own')
  t.match(commit.attributes, { 'rewards.commit.guarantee': 'exactly_once_v2', 'messaging.consumer.group.name': appId })
  t.ok((commit.attributes['messaging.batch.message_count'] as number) >= 1, 'with its record count')
  const commitTrace = exporter.getFinishedSpans().filter(s => s.spanContext().traceId === commit.spanContext().traceId && s !== commit)
  t.ok(commitTrace.length > 0 && commitTrace.every(s => s.kind === SpanKind.CLIENT), 'the Kafka client calls made by the commit are in its trace')
  const commitCalls = commitTrace.map(s => s.name)
  t.ok(commitCalls.includes('kafka EndTxn'), `the transaction's EndTxn among them (${commitCalls.join(', ')})`)

  const event_ = rows.find(r => r.kind === 'reward-event')!
  const confirmed = rows.find(r => r.kind === 'reward-confirmed')!
  t.equal(event_.headers.traceparent, `00-${CALLER_TRACE}-${produce.spanContext().spanId}-01`, 'the event\'s archived headers carry the produce span\'s traceparent')
  t.equal(confirmed.headers.traceparent, `00-${CALLER_TRACE}-${processed.spanContext().spanId}-01`, 'the confirmation\'s carry the process span\'s')
  t.equal(event_.trace_id, CALLER_TRACE)
  t.equal(confirmed.trace_id, CALLER_TRACE)

  const requestLine = lines.find(l => l.msg === 'request' && l.url === '/v1/events')
  t.match(requestLine, { reqId: 'trace-test-req-1', trace_id: CALLER_TRACE, span_id: http.spanContext().spanId }, 'the request\'s log line carries the request id and the trace')

  t.equal(await stop(), 0, 'the platform stops cleanly')
})
