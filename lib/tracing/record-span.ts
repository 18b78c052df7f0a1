// A CONSUMER span per record a stream task processes, and the trace context of what it outputs.
//
// Parent or link? The span is a CHILD of the producer's span (the record's `traceparent`), not a
// link: a task processes one record at a time and everything it outputs is caused by that one
// record, so the trace reads as one causal chain HTTP → produce → process → outputs → archive,
// which is what Kafka Streams users get from the Java agent's Kafka Streams instrumentation.
// Links are kept for batches (archive-batch-span.ts), where one span has many causes.
//
// Outputs forwarded while the span is current carry its context as `traceparent` (the trace
// continues downstream: reward-confirmed, redeem-confirmed, dead letters). Only called when
// tracingActive(): with no SDK the engine skips this module entirely and outputs keep the input's
// headers as they are.
import { ROOT_CONTEXT, SpanKind, trace, type Span } from '@opentelemetry/api'
import type { Headers, LogRecord } from '../../log/log-port.ts'
import { extractContext, headersWithContext } from './trace-headers.ts'
import { ATTR, tracer } from './tracer.ts'

export function startRecordSpan (record: LogRecord, applicationId: string, taskName: string): Span {
  const span = tracer().startSpan(`process ${record.topic}`, { kind: SpanKind.CONSUMER }, extractContext(record.headers))
  if (span.isRecording()) {
    span.setAttributes({
      [ATTR.messagingSystem]: 'kafka',
      [ATTR.messagingOperationType]: 'process',
      [ATTR.destination]: record.topic,
      [ATTR.partition]: String(record.partition),
      [ATTR.offset]: Number(record.offset),
      [ATTR.consumerGroup]: applicationId,
      [ATTR.task]: taskName
    })
    // The HTTP request that produced the record, when it came through the API.
    const requestId = record.headers['x-request-id']
    if (requestId !== undefined) span.setAttribute(ATTR.requestId, requestId.toString('utf8'))
  }
  return span
}

/** Output headers carrying the processing span's context (unchanged when it does not record). */
export function outputHeaders (headers: Headers, span: Span): Headers {
  return span.isRecording() ? headersWithContext(headers, trace.setSpan(ROOT_CONTEXT, span)) : headers
}
