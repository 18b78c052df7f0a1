// Which endpoints a confirmed record goes to, and what identifies it: the record's kind (by
// topic), its id (eventId or redemptionId), member and, for reward-confirmed, its source. The
// routing rule (sources filter reward-confirmed only) is explained in notifications-config.ts.
import { createHash } from 'node:crypto'
import type { LogRecord } from '../../topology/index.ts'
import type { EndpointConfig, NotificationKind } from '../../lib/notifications-config.ts'

export interface Notification {
  readonly kind: NotificationKind
  /** eventId (reward-confirmed) or redemptionId (redeem-confirmed). */
  readonly id: string
  readonly memberId: string
  /** reward-confirmed only. */
  readonly source: string | null
  /** The record's value, parsed (it is the processor's own JSON output). */
  readonly data: Record<string, unknown>
}

/** The notification a record carries, or a reason it cannot be sent (its value is not the JSON
 *  the processor writes: such a record goes to the notifications DLQ for every routed endpoint). */
export function notificationOf (record: LogRecord, kind: NotificationKind): Notification | { readonly error: string } {
  if (record.value === null) return { error: 'record has no value (tombstone)' }
  let data: unknown
  try {
    data = JSON.parse(record.value.toString('utf8'))
  } catch (error) {
    return { error: `value is not JSON: ${(error as Error).message}` }
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { error: 'value is not a JSON object' }
  const value = data as Record<string, unknown>
  const id = kind === 'reward-confirmed' ? value.eventId : value.redemptionId
  const idField = kind === 'reward-confirmed' ? 'eventId' : 'redemptionId'
  if (typeof id !== 'string' || id === '') return { error: `value has no ${idField}` }
  if (typeof value.memberId !== 'string') return { error: 'value has no memberId' }
  const source = kind === 'reward-confirmed' && typeof value.source === 'string' ? value.source : null
  return { kind, id, memberId: value.memberId, source, data: value }
}

/** Does this endpoint take this notification? Kinds first; sources filter reward-confirmed. */
export function routes (endpoint: EndpointConfig, kind: NotificationKind, source: string | null): boolean {
  if (!endpoint.kinds.has(kind)) return false
  if (kind !== 'reward-confirmed' || endpoint.sources === null) return true
  return source !== null && endpoint.sources.has(source as 'HOTEL' | 'CASINO' | 'DINING')
}

/** Stable across retries, redeliveries and restarts: one key per (kind, member, id, endpoint).
 *  Hashed, so any eventId (any characters, up to 128) makes a valid header value. */
export function idempotencyKey (kind: NotificationKind, memberId: string, id: string, endpointId: string): string {
  return createHash('sha256').update(JSON.stringify([kind, memberId, id, endpointId])).digest('hex')
}

/** The request body: the same on every attempt, redelivery and DLQ replay of a (record, endpoint). */
export function notificationBody (key: string, notification: Notification): Buffer {
  return Buffer.from(JSON.stringify({ id: key, kind: notification.kind, data: notification.data }), 'utf8')
}
