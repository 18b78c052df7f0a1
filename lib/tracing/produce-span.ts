// A PRODUCER span per produce made on behalf of a request (the HTTP ingestion routes): child of
// the request's context, its own context injected as `traceparent` into every record's headers,
// so the records' consumers (the engine, the archiver) continue the trace from this span. The
// send itself runs inside the span, so the Kafka client's spans (kafka-client-spans.ts) nest
// under it. Without an SDK the span is a no-op carrying the caller's context, which is then what
// the headers get.
import { context, SpanKind, trace, type Context } from '@opentelemetry/api'
import type { LogProducer, PartitionOffset, ProducerRecord } from '../../log/log-port.ts'
import { headersWithContext } from './trace-headers.ts'
import { ATTR, markSpanFailed, tracer } from './tracer.ts'

export async function sendTraced (producer: LogProducer, records: readonly ProducerRecord[], parent: Context): Promise<PartitionOffset[]> {
  const topic = records[0]?.topic ?? ''
  const span = tracer().startSpan(`send ${topic}`, { kind: SpanKind.PRODUCER }, parent)
  if (span.isRecording()) {
    span.setAttributes({ [ATTR.messagingSystem]: 'kafka', [ATTR.messagingOperationType]: 'send', [ATTR.destination]: topic, [ATTR.batchCount]: records.length })
  }
  const ctx = trace.setSpan(parent, span)
  const traced = records.map(record => ({ ...record, headers: headersWithContext(record.headers, ctx) }))
  try {
    return await context.with(ctx, () => producer.send(traced))
  } catch (error) {
    markSpanFailed(span, error)
    throw error
  } finally {
    span.end()
  }
}
