// One archived record: the raw record (topic, partition, offset, timestamp, key and value bytes,
// headers) plus the value as JSON and the typed columns reporting and reconciliation use. Records
// are archived as they are, valid or not: a dead letter with a malformed value still gets a row
// (value_json null), so the archive holds every record of the platform topics.
import type { LogRecord } from '../../topology/index.ts'
import { isWellFormedJson } from '../../lib/safe-text.ts'
import type { RewardsTopics } from '../rewards/topics.ts'
import { parseRfc3339 } from '../rewards/rfc3339.ts'

export type ArchiveKind = 'reward-event' | 'redeem-event' | 'reward-confirmed' | 'redeem-confirmed' | 'reward-dlq' | 'redeem-dlq'

export interface ArchiveRow {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  readonly timestamp: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  /** The value as JSON text when it parses as JSON, else null. */
  readonly valueJson: string | null
  readonly headers: Record<string, string>
  readonly kind: ArchiveKind
  readonly memberId: string | null
  readonly eventId: string | null
  readonly redemptionId: string | null
  readonly eventType: string | null
  readonly originalEventId: string | null
  readonly source: string | null
  readonly propertyId: string | null
  readonly amountCents: number | null
  readonly points: number | null
  readonly status: string | null
  readonly reason: string | null
  readonly tier: string | null
  readonly ruleVersion: string | null
  /** occurredAt / requestedAt, ms since the epoch. */
  readonly eventTimeMs: number | null
  readonly errorCode: string | null
  /** Trace id of the W3C `traceparent` header (32 hex digits), when valid. */
  readonly traceId: string | null
}

/** Topic name → kind, for the six platform topics. */
export function archiveKinds (topics: RewardsTopics): Map<string, ArchiveKind> {
  return new Map<string, ArchiveKind>([
    [topics.rewardEvents, 'reward-event'],
    [topics.redeemEvents, 'redeem-event'],
    [topics.rewardConfirmed, 'reward-confirmed'],
    [topics.redeemConfirmed, 'redeem-confirmed'],
    [topics.rewardEventsDlq, 'reward-dlq'],
    [topics.redeemEventsDlq, 'redeem-dlq']
  ])
}

const str = (o: Record<string, unknown> | null, field: string): string | null => {
  const v = o?.[field]
  return typeof v === 'string' ? v : null
}
const int = (o: Record<string, unknown> | null, field: string): number | null => {
  const v = o?.[field]
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : null
}
const time = (o: Record<string, unknown> | null, field: string): number | null => {
  const v = str(o, field)
  return v === null ? null : parseRfc3339(v) ?? null
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/

function traceIdOf (traceparent: string | undefined): string | null {
  const id = traceparent === undefined ? undefined : TRACEPARENT.exec(traceparent.trim())?.[1]
  return id === undefined || /^0+$/.test(id) ? null : id
}

function parseJson (value: Buffer | null): { text: string | null, object: Record<string, unknown> | null } {
  if (value === null) return { text: null, object: null }
  try {
    // A leading byte order mark is dropped as the topology's decoder drops it (TextDecoder, in
    // processors/rewards/validation.ts), so a record it accepted gets its typed columns here too.
    const decoded = value.toString('utf8')
    const text = decoded.charCodeAt(0) === 0xfeff ? decoded.slice(1) : decoded
    const parsed: unknown = JSON.parse(text)
    // PostgreSQL's jsonb rejects \u0000 and lone surrogates (\ud800) in strings: such a value
    // keeps only its raw bytes (the topology dead-letters it: lib/safe-text.ts).
    if (text.includes('\\u0000') || !isWellFormedJson(parsed)) return { text: null, object: null }
    const object = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed as Record<string, unknown> : null
    return { text, object }
  } catch {
    return { text: null, object: null }
  }
}

export function toArchiveRow (record: LogRecord, kind: ArchiveKind): ArchiveRow {
  const { text, object: o } = parseJson(record.value)
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(record.headers)) headers[name] = value.toString('utf8').replaceAll('\u0000', '')
  const reward = kind === 'reward-event' || kind === 'reward-confirmed' || kind === 'reward-dlq'
  const keyText = record.key === null ? null : record.key.toString('utf8')
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key,
    value: record.value,
    valueJson: text,
    headers,
    kind,
    memberId: str(o, 'memberId') ?? (keyText !== null && !keyText.includes('\u0000') ? keyText : null),
    eventId: reward ? str(o, 'eventId') : null,
    redemptionId: reward ? null : str(o, 'redemptionId'),
    eventType: reward ? str(o, 'type') : null,
    originalEventId: reward ? str(o, 'originalEventId') : null,
    source: reward ? str(o, 'source') : str(o, 'channel'),
    propertyId: str(o, 'propertyId'),
    amountCents: reward ? int(o, 'amountCents') : null,
    points: int(o, 'points'),
    status: str(o, 'status'),
    reason: str(o, 'reason'),
    tier: str(o, 'tier'),
    ruleVersion: str(o, 'ruleVersion'),
    eventTimeMs: reward ? time(o, 'occurredAt') : time(o, 'requestedAt'),
    errorCode: headers['error.code'] ?? null,
    traceId: traceIdOf(headers.traceparent)
  }
}
