// The platform's tracer and the one question every hot path asks first: is anybody tracing?
// Tracing uses only @opentelemetry/api; an SDK is registered at start-up when the OTEL_*
// variables ask for one (tracing-sdk.ts), or by whoever embeds the platform (tests, or
// `node --import` of an OpenTelemetry auto-instrumentation). With none registered the API hands
// out no-op spans, and the per-record paths skip even those: tracingActive() is a property read.
import { ProxyTracerProvider, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api'

export const TRACER_NAME = 'rewards-streams'

// The API's global provider is a proxy whose delegate is a no-op until an SDK registers itself.
// (ProxyTracerProvider is marked deprecated for the API's next major; it is still how 1.x works.)
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate()

/** A tracer provider (an SDK) is registered: spans may record. */
export function tracingActive (): boolean {
  const provider = trace.getTracerProvider()
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_PROVIDER
}

/** The platform's tracer (looked up each time: cheap, and right after a provider changes). */
export function tracer (): Tracer {
  return trace.getTracer(TRACER_NAME)
}

/** Marks a span failed: the exception as an event, status ERROR with its message. */
export function markSpanFailed (span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error))
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) })
}

/** Span attribute names: OpenTelemetry semantic conventions where one exists, `rewards.*` else. */
export const ATTR = Object.freeze({
  httpMethod: 'http.request.method',
  httpRoute: 'http.route',
  httpStatus: 'http.response.status_code',
  urlPath: 'url.path',
  requestId: 'rewards.request_id',
  messagingSystem: 'messaging.system',
  messagingOperationType: 'messaging.operation.type',
  messagingOperationName: 'messaging.operation.name',
  destination: 'messaging.destination.name',
  partition: 'messaging.destination.partition.id',
  offset: 'messaging.kafka.offset',
  messageKey: 'messaging.kafka.message.key',
  batchCount: 'messaging.batch.message_count',
  consumerGroup: 'messaging.consumer.group.name',
  task: 'rewards.task',
  commitGuarantee: 'rewards.commit.guarantee',
  commitTasks: 'rewards.commit.tasks',
  commitOffsets: 'rewards.commit.offsets',
  dbSystem: 'db.system.name',
  dbOperation: 'db.operation.name',
  dbCollection: 'db.collection.name',
  archiveInserted: 'rewards.archive.rows_inserted',
  kafkaApi: 'rewards.kafka.api',
  kafkaOperation: 'rewards.kafka.operation'
})
