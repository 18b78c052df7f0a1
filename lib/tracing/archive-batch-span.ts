// A span per archive batch (one INSERT of up to batchSize rows). A batch has many causes, one per
// record, so it LINKS to the producer context of every record carrying a `traceparent` (up to the
// SDK's link limit, raised to 1024 by tracing-sdk.ts, above the largest batch). It is also the
// CHILD of the first such record's context, so a single event's trace runs all the way to the
// batch that archived it; the other records reach it through their links.
import { INVALID_SPAN_CONTEXT, SpanKind, trace, type Link, type Span } from '@opentelemetry/api'
import { extractContext, remoteSpanContext } from './trace-headers.ts'
import { ATTR, markSpanFailed, tracer, tracingActive } from './tracer.ts'

const NOT_TRACED = trace.wrapSpanContext(INVALID_SPAN_CONTEXT)

interface TracedRow { readonly topic: string, readonly headers: Readonly<Record<string, string>> }

export function startArchiveBatchSpan (rows: readonly TracedRow[]): Span {
  if (!tracingActive()) return NOT_TRACED
  const first = rows.find(row => row.headers.traceparent !== undefined)
  const parent = extractContext(first?.headers ?? {})
  const span = tracer().startSpan('archive batch', { kind: SpanKind.CONSUMER }, parent)
  if (!span.isRecording()) return span
  span.setAttributes({
    [ATTR.messagingSystem]: 'kafka',
    [ATTR.messagingOperationType]: 'process',
    [ATTR.batchCount]: rows.length,
    [ATTR.dbSystem]: 'postgresql',
    [ATTR.dbOperation]: 'INSERT',
    [ATTR.dbCollection]: 'archive_records'
  })
  const links: Link[] = []
  for (const row of rows) {
    const spanContext = remoteSpanContext(row.headers)
    if (spanContext !== undefined) links.push({ context: spanContext, attributes: { [ATTR.destination]: row.topic } })
  }
  if (links.length > 0) span.addLinks(links)
  return span
}

export function endArchiveBatchSpan (span: Span, inserted: number | undefined, error?: unknown): void {
  if (span.isRecording()) {
    if (inserted !== undefined) span.setAttribute(ATTR.archiveInserted, inserted)
    if (error !== undefined) {
      markSpanFailed(span, error)
    }
  }
  span.end()
}
