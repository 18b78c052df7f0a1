// Validation of input records, shared by the processor (raw Kafka bytes) and the HTTP API (parsed
// JSON bodies). Failures carry the dead-letter code of docs/contract.md "Dead letters" and a message a person can act
// on ("amountCents must be <= 1000000000000", "unknown field originalEventID").
//
// Checks run in this order and the first failing one decides the code:
//   MALFORMED_JSON        the value is missing (tombstone), not UTF-8, or not JSON
//   SCHEMA_VIOLATION      valid JSON that does not match the schema (types, bounds, patterns,
//                         RFC 3339 timestamps, unknown or missing fields, originalEventId present
//                         exactly on REVERSAL), a string that cannot be stored or shown safely
//                         (lib/safe-text.ts), an event time outside EVENT_TIME_RANGE
//   KEY_MISMATCH          the record key is absent or differs from memberId (raw records only)
//   UNSUPPORTED_CURRENCY  a well-formed currency code other than USD
import { Compile } from 'typebox/compile'
import { unsafeStrings, unsafeTextReason } from '../../lib/safe-text.ts'
import { fieldName, schemaIssues, type FieldIssue } from '../../lib/schema-issues.ts'
import { parseRfc3339 } from './rfc3339.ts'
import {
  EarnEventSchema, RedeemEventSchema, ReversalEventSchema, SUPPORTED_CURRENCIES,
  type RedeemEvent, type RewardEvent
} from './schemas.ts'

// The schema-error wording is shared with the configuration files (rule sets, the notifications
// file), so it lives in lib/; re-exported for the validation's own importers.
export { describeSchemaErrors, fieldName, schemaIssues, type FieldIssue } from '../../lib/schema-issues.ts'

/** Why an input record goes to a dead-letter topic (`error.code` header). */
export type DlqCode =
  | 'MALFORMED_JSON'
  | 'SCHEMA_VIOLATION'
  | 'KEY_MISMATCH'
  | 'UNSUPPORTED_CURRENCY'
  | 'ORIGINAL_NOT_FOUND'
  | 'ALREADY_REVERSED'
  | 'POINTS_OVERFLOW'
  /** Not a validation failure: the broker refused an output of this input (e.g. an event time
   *  more than an hour ahead, INVALID_TIMESTAMP); production-dlq.ts. */
  | 'OUTPUT_REFUSED'

export type Validated<T> =
  | { readonly ok: true, readonly value: T, /** event time, ms since the epoch */ readonly eventTimeMs: number }
  | Invalid

/** A refused record: the dead-letter code, one line for the DLQ header, and each problem at its
 *  field (the HTTP API answers them as `details.errors`). */
export interface Invalid {
  readonly ok: false
  readonly code: DlqCode
  readonly message: string
  readonly issues: readonly FieldIssue[]
}

/** The event times a record may carry (occurredAt, requestedAt), both ends included: Kafka record
 *  timestamps cannot be negative (outputs carry the input's event time), and RFC 3339 years have
 *  four digits. docs/rewards.md, "Validation and dead-letter codes". */
export const EVENT_TIME_RANGE = Object.freeze({
  minMs: Date.UTC(1970, 0, 1),
  maxMs: Date.UTC(9999, 11, 31, 23, 59, 59, 999),
  text: '1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z'
})

const earnValidator = Compile(EarnEventSchema)
const reversalValidator = Compile(ReversalEventSchema)
const redeemValidator = Compile(RedeemEventSchema)
const utf8 = new TextDecoder('utf-8', { fatal: true })
const MAX_MESSAGE_CHARS = 1000

function fail (code: DlqCode, message: string, issues: readonly FieldIssue[] = [{ path: '', message }]): Invalid {
  return { ok: false, code, message: message.length > MAX_MESSAGE_CHARS ? message.slice(0, MAX_MESSAGE_CHARS - 1) + '…' : message, issues }
}

function schemaViolation (issues: readonly FieldIssue[]): Invalid {
  return fail('SCHEMA_VIOLATION', issues.map(i => i.message).join('; '), issues)
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The problems of an event time field the schema found no fault with: not an RFC 3339
 *  date-time (stricter than the schema's format), or outside EVENT_TIME_RANGE. */
function eventTimeIssue (field: string, text: string): FieldIssue | number {
  const ms = parseRfc3339(text)
  if (ms === undefined) return { path: `/${field}`, message: `${field} must be an RFC 3339 timestamp with offset (e.g. 2026-03-01T18:30:00Z)` }
  if (ms < EVENT_TIME_RANGE.minMs || ms > EVENT_TIME_RANGE.maxMs) return { path: `/${field}`, message: `${field} must be within ${EVENT_TIME_RANGE.text}` }
  return ms
}

/** Schema issues, then unsafe strings, then the event time (unless the schema faulted it). */
function contentIssues (value: Record<string, unknown>, schema: FieldIssue[], timeField: 'occurredAt' | 'requestedAt'): { issues: FieldIssue[], eventTimeMs?: number } {
  const issues = hasUnsafeString(value) ? [...schema, ...unsafeStrings(value).map(u => ({ path: u.path, message: `${fieldName(u.path)} ${u.reason}` }))] : [...schema]
  const time = value[timeField]
  if (typeof time !== 'string' || issues.some(i => i.path === `/${timeField}`)) return { issues }
  const checked = eventTimeIssue(timeField, time)
  if (typeof checked === 'number') return { issues, eventTimeMs: checked }
  issues.push(checked)
  return { issues }
}

/** Whether unsafeStrings(value) would find anything, without building its paths: every record
 *  goes through here, and almost none holds an unsafe string (the paths and entry arrays were
 *  1.5% of the processor's profile, docs/benchmarks.md "fsync per commit"). */
export function hasUnsafeString (value: unknown): boolean {
  if (typeof value === 'string') return unsafeTextReason(value) !== undefined
  if (Array.isArray(value)) {
    for (const item of value) if (hasUnsafeString(item)) return true
    return false
  }
  if (typeof value === 'object' && value !== null) {
    for (const key of Object.keys(value)) {
      if (unsafeTextReason(key) !== undefined || hasUnsafeString((value as Record<string, unknown>)[key])) return true
    }
  }
  return false
}

function checkKey (key: string | undefined, memberId: string): string | undefined {
  if (key === undefined) return undefined
  if (key !== memberId) return `record key ${JSON.stringify(key)} does not equal memberId ${JSON.stringify(memberId)}`
  return undefined
}

const notAnObject = (value: unknown): Invalid => fail('SCHEMA_VIOLATION', `record must be a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`)

/** Validates a parsed reward event. `key` (the record key as text, when validating a topic
 *  record) must equal memberId; omit it where there is no key (HTTP bodies). */
export function validateRewardEvent (value: unknown, key?: string): Validated<RewardEvent> {
  if (!isObject(value)) return notAnObject(value)
  let schema: FieldIssue[]
  // Pick the variant by `type` so the errors speak about that variant only.
  if (value.type !== 'EARN' && value.type !== 'REVERSAL') {
    const others = earnValidator.Check(value) ? [] : earnValidator.Errors(value).filter(e => e.instancePath !== '/type')
    // A missing type is this clause's problem already: not once more among the missing fields
    // the HTTP API lists one by one (the dead letter's wording keeps the whole clause).
    const rest = schemaIssues(others).map(i => i.each === undefined && i.path !== '/type' ? i : { ...i, each: (i.each ?? []).filter(e => e.path !== '/type') })
    schema = [{ path: '/type', message: 'type must be one of EARN, REVERSAL' }, ...rest]
  } else if (value.type === 'EARN' && 'originalEventId' in value) {
    const { originalEventId: _ignored, ...rest } = value
    schema = [{ path: '/originalEventId', message: 'originalEventId is allowed only on a REVERSAL' }, ...schemaIssues(earnValidator.Errors(rest))]
  } else {
    const validator = value.type === 'EARN' ? earnValidator : reversalValidator
    schema = validator.Check(value) ? [] : schemaIssues(validator.Errors(value))
  }
  const { issues, eventTimeMs } = contentIssues(value, schema, 'occurredAt')
  if (issues.length > 0 || eventTimeMs === undefined) return schemaViolation(issues)
  const event = value as unknown as RewardEvent
  const keyError = checkKey(key, event.memberId)
  if (keyError !== undefined) return fail('KEY_MISMATCH', keyError, [{ path: '/memberId', message: keyError }])
  if (!(SUPPORTED_CURRENCIES as readonly string[]).includes(event.currency)) {
    const message = `currency ${event.currency} is not supported (supported: ${SUPPORTED_CURRENCIES.join(', ')})`
    return fail('UNSUPPORTED_CURRENCY', message, [{ path: '/currency', message }])
  }
  return { ok: true, value: event, eventTimeMs }
}

/** Validates a parsed redemption request; `key` as for validateRewardEvent. */
export function validateRedeemEvent (value: unknown, key?: string): Validated<RedeemEvent> {
  if (!isObject(value)) return notAnObject(value)
  const schema = redeemValidator.Check(value) ? [] : schemaIssues(redeemValidator.Errors(value))
  const { issues, eventTimeMs } = contentIssues(value, schema, 'requestedAt')
  if (issues.length > 0 || eventTimeMs === undefined) return schemaViolation(issues)
  const event = value as RedeemEvent
  const keyError = checkKey(key, event.memberId)
  if (keyError !== undefined) return fail('KEY_MISMATCH', keyError, [{ path: '/memberId', message: keyError }])
  return { ok: true, value: event, eventTimeMs }
}

/** Parses a record value: UTF-8 JSON text. */
export function parseJsonBytes (value: Buffer | null): { ok: true, json: unknown } | { ok: false, code: 'MALFORMED_JSON', message: string } {
  if (value === null) return { ok: false, code: 'MALFORMED_JSON', message: 'record has no value (null / tombstone)' }
  let text: string
  try {
    text = utf8.decode(value)
  } catch {
    return { ok: false, code: 'MALFORMED_JSON', message: 'record value is not valid UTF-8' }
  }
  try {
    return { ok: true, json: JSON.parse(text) }
  } catch (error) {
    return { ok: false, code: 'MALFORMED_JSON', message: `record value is not valid JSON: ${(error as Error).message}` }
  }
}

function decodeKey (key: Buffer | null): string | { code: 'KEY_MISMATCH', message: string } {
  if (key === null) return { code: 'KEY_MISMATCH', message: 'record has no key; the key must equal memberId' }
  try {
    return utf8.decode(key)
  } catch {
    return { code: 'KEY_MISMATCH', message: 'record key is not valid UTF-8; the key must equal memberId' }
  }
}

function validateRecord<T> (key: Buffer | null, value: Buffer | null, validate: (json: unknown, key?: string) => Validated<T>): Validated<T> {
  const parsed = parseJsonBytes(value)
  if (!parsed.ok) return fail(parsed.code, parsed.message)
  const keyText = decodeKey(key)
  if (typeof keyText !== 'string') {
    // Schema problems are reported before key problems: validate without the key first.
    const withoutKey = validate(parsed.json)
    return !withoutKey.ok && withoutKey.code === 'SCHEMA_VIOLATION' ? withoutKey : fail(keyText.code, keyText.message)
  }
  return validate(parsed.json, keyText)
}

/** Validates a raw `reward-events` record (key and value bytes as read from the topic). */
export function validateRewardRecord (key: Buffer | null, value: Buffer | null): Validated<RewardEvent> {
  return validateRecord(key, value, validateRewardEvent)
}

/** Validates a raw `redeem-events` record. */
export function validateRedeemRecord (key: Buffer | null, value: Buffer | null): Validated<RedeemEvent> {
  return validateRecord(key, value, validateRedeemEvent)
}
