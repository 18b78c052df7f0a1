// The Kafka client's own work as CLIENT spans. @platformatic/kafka publishes Node
// diagnostics_channel tracing events (start, end, asyncStart, asyncEnd, error, with one context
// object per operation) on `plt:kafka:*` channels; this module subscribes to those below and
// turns each operation into a span:
//
//   plt:kafka:producer:sends          kafka send            (Producer.send, Transaction.send)
//   plt:kafka:producer:transactions   kafka transaction …   (begin, addPartitions, addOffsets,
//                                                           commitOffset, commit, abort)
//   plt:kafka:producer:initIdempotent kafka initIdempotentProducer
//   plt:kafka:connections:api         kafka <ApiName>       (every protocol request: Produce,
//                                                           Fetch, TxnOffsetCommit, …)
//
// A span is made only as the child of a recording span active where the operation starts (a
// produce span, a record's processing, a commit): fetch long-polls and heartbeats run all the
// time outside any span and would flood the exporter with one-span traces. Subscribed only when
// tracing is on (installKafkaClientSpans() at start-up): with no subscriber the client skips the
// events altogether.
import { tracingChannel } from 'node:diagnostics_channel'
import { context, SpanKind, trace, type Span } from '@opentelemetry/api'
import { protocolAPIsById } from '@platformatic/kafka'
import { ATTR, markSpanFailed, tracer } from './tracer.ts'

interface DiagnosticContext {
  readonly operation?: string
  readonly apiKey?: number
  readonly options?: { readonly messages?: ReadonlyArray<{ readonly topic?: string }> }
  error?: unknown
}

const CHANNELS = Object.freeze(['producer:sends', 'producer:transactions', 'producer:initIdempotent', 'connections:api'])

function spanName (channel: string, event: DiagnosticContext): string {
  if (channel === 'connections:api') return `kafka ${protocolAPIsById[event.apiKey ?? -1] ?? `api ${event.apiKey}`}`
  if (channel === 'producer:transactions') return `kafka transaction ${event.operation ?? ''}`.trimEnd()
  return `kafka ${event.operation ?? channel}`
}

function start (channel: string, event: DiagnosticContext, spans: WeakMap<object, Span>): void {
  const parent = context.active()
  if (trace.getSpan(parent)?.isRecording() !== true) return
  const span = tracer().startSpan(spanName(channel, event), { kind: SpanKind.CLIENT }, parent)
  const attributes: Record<string, string | number> = { [ATTR.messagingSystem]: 'kafka', [ATTR.kafkaOperation]: event.operation ?? '' }
  if (event.apiKey !== undefined) attributes[ATTR.kafkaApi] = protocolAPIsById[event.apiKey] ?? String(event.apiKey)
  const messages = event.options?.messages
  if (messages !== undefined) {
    attributes[ATTR.batchCount] = messages.length
    const topics = [...new Set(messages.map(m => m.topic))]
    if (topics.length === 1 && topics[0] !== undefined) attributes[ATTR.destination] = topics[0]
  }
  span.setAttributes(attributes)
  spans.set(event, span)
}

function finish (event: DiagnosticContext, spans: WeakMap<object, Span>): void {
  const span = spans.get(event)
  if (span === undefined) return
  spans.delete(event)
  if (event.error !== undefined) {
    markSpanFailed(span, event.error)
  }
  span.end()
}

/** Subscribes to the client's channels; returns the unsubscribe. */
export function installKafkaClientSpans (): () => void {
  const spans = new WeakMap<object, Span>()
  const unsubscribes = CHANNELS.map(name => {
    const channel = tracingChannel<string, DiagnosticContext>(`plt:kafka:${name}`)
    const handlers = {
      start: (event: DiagnosticContext) => { start(name, event, spans) },
      // A synchronous throw ends here (no async events follow); otherwise the span stays open.
      end: (event: DiagnosticContext) => { if (event.error !== undefined) finish(event, spans) },
      asyncStart: () => {},
      asyncEnd: (event: DiagnosticContext) => { finish(event, spans) },
      error: () => {}
    }
    channel.subscribe(handlers)
    return () => channel.unsubscribe(handlers)
  })
  return () => { for (const unsubscribe of unsubscribes) unsubscribe() }
}
