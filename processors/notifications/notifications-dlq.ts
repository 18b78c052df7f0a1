// Dead letters of the notifications role: the confirmed record as it was (key, value, headers),
// plus headers saying which endpoint gave up on it and why. One DLQ record per (record, endpoint)
// that failed: a record delivered to one endpoint and not another is dead-lettered for the other
// only. Header values are UTF-8 text.
import type { Headers, LogRecord } from '../../topology/index.ts'

export const NOTIFICATION_DLQ_HEADERS = Object.freeze({
  endpoint: 'notification.endpoint',
  /** Why: RETRIES_EXHAUSTED, REFUSED (non-retriable 4xx), DELIVERY_TIMEOUT (maxDeliveryMs spent,
   *  e.g. waiting on an open circuit) or MALFORMED (the record is not a notification). */
  reason: 'notification.reason',
  /** The endpoint's circuit (CLOSED, HALF_OPEN, OPEN) when the delivery gave up. */
  circuit: 'notification.circuit',
  /** From hand-over to the endpoint to giving up, in ms. */
  elapsedMs: 'notification.elapsed-ms',
  kind: 'notification.kind',
  idempotencyKey: 'notification.idempotency-key',
  /** Attempts made (HTTP calls; the open circuit spends none). */
  attempts: 'notification.attempts',
  /** HTTP calls actually made. */
  calls: 'notification.calls',
  error: 'notification.error',
  /** Last HTTP status received; absent when none (timeouts, connection errors). */
  status: 'notification.status',
  topic: 'source.topic',
  partition: 'source.partition',
  offset: 'source.offset'
})

export type DeadLetterReasonCode = 'RETRIES_EXHAUSTED' | 'REFUSED' | 'DELIVERY_TIMEOUT' | 'MALFORMED'

export interface DeadLetterReason {
  readonly endpointId: string
  readonly reason: DeadLetterReasonCode
  readonly kind: string
  readonly idempotencyKey: string | null
  readonly attempts: number
  readonly calls: number
  readonly error: string
  readonly status: number | null
  /** Absent for MALFORMED (no delivery was tried). */
  readonly circuit?: string
  readonly elapsedMs?: number
}

const MAX_ERROR_CHARS = 1000

export function notificationDlqHeaders (record: LogRecord, reason: DeadLetterReason): Headers {
  const h = NOTIFICATION_DLQ_HEADERS
  const headers: Headers = { ...record.headers }
  const set = (name: string, value: string): void => { headers[name] = Buffer.from(value, 'utf8') }
  set(h.endpoint, reason.endpointId)
  set(h.reason, reason.reason)
  if (reason.circuit !== undefined) set(h.circuit, reason.circuit)
  if (reason.elapsedMs !== undefined) set(h.elapsedMs, String(reason.elapsedMs))
  set(h.kind, reason.kind)
  if (reason.idempotencyKey !== null) set(h.idempotencyKey, reason.idempotencyKey)
  set(h.attempts, String(reason.attempts))
  set(h.calls, String(reason.calls))
  set(h.error, reason.error.length > MAX_ERROR_CHARS ? reason.error.slice(0, MAX_ERROR_CHARS - 1) + '…' : reason.error)
  if (reason.status !== null) set(h.status, String(reason.status))
  set(h.topic, record.topic)
  set(h.partition, String(record.partition))
  set(h.offset, String(record.offset))
  return headers
}
