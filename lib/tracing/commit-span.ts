// A span per engine commit (one Kafka transaction under exactly-once, or one send plus an offset
// commit under at-least-once). A commit carries the outputs of many records from many traces, so,
// like an archive batch, it starts its own trace and LINKS to the processing context each output
// carries in its `traceparent` (at most MAX_LINKS: one commit can hold thousands of records; the
// links are a sample, the record count is exact). The Kafka client spans of the commit
// (AddPartitionsToTxn, Produce, TxnOffsetCommit, EndTxn: kafka-client-spans.ts) are its children,
// which is where a slow commit shows which broker call was slow.
import { context, SpanKind, trace, type Link, type Span } from '@opentelemetry/api'
import type { ProducerRecord } from '../../log/log-port.ts'
import { remoteSpanContext } from './trace-headers.ts'
import { ATTR, markSpanFailed, tracer, tracingActive } from './tracer.ts'

/** Links per commit span: enough to follow a sample of its records, bounded in size. */
export const MAX_LINKS = 128

export interface CommitSpanInfo {
  readonly applicationId: string
  readonly guarantee: string
  readonly tasks: number
  readonly offsets: number
  readonly records: readonly ProducerRecord[]
}

/** Runs `commit` inside a commit span when tracing is on; a plain call when it is not. */
export async function withCommitSpan<T> (info: CommitSpanInfo, commit: () => Promise<T>): Promise<T> {
  if (!tracingActive()) return await commit()
  const span = startCommitSpan(info)
  try {
    const result = await context.with(trace.setSpan(context.active(), span), commit)
    span.end()
    return result
  } catch (error) {
    if (span.isRecording()) {
      markSpanFailed(span, error)
    }
    span.end()
    throw error
  }
}

function startCommitSpan (info: CommitSpanInfo): Span {
  const span = tracer().startSpan('stream commit', { kind: SpanKind.INTERNAL, root: true })
  if (!span.isRecording()) return span
  span.setAttributes({
    [ATTR.messagingSystem]: 'kafka',
    [ATTR.consumerGroup]: info.applicationId,
    [ATTR.batchCount]: info.records.length,
    [ATTR.commitGuarantee]: info.guarantee,
    [ATTR.commitTasks]: info.tasks,
    [ATTR.commitOffsets]: info.offsets
  })
  const links: Link[] = []
  for (const record of info.records) {
    if (links.length >= MAX_LINKS) break
    const spanContext = record.headers === undefined ? undefined : remoteSpanContext(record.headers)
    if (spanContext !== undefined) links.push({ context: spanContext, attributes: { [ATTR.destination]: record.topic } })
  }
  if (links.length > 0) span.addLinks(links)
  return span
}
