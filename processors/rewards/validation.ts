// Validation of input records, shared by the processor (raw Kafka bytes) and the HTTP API (parsed
// JSON bodies). Failures carry the dead-letter code of SPEC §2.3 and a message a person can act
// on ("amountCents must be <= 1000000000000", "unknown field originalEventID").
//
// Checks run in this order and the first failing one decides the code:
//   MALFORMED_JSON        the value is missing (tombstone), not UTF-8, or not JSON
//   SCHEMA_VIOLATION      valid JSON that does not match the schema (types, bounds, patterns,
//                         RFC 3339 timestamps, unknown or missing fields, originalEventId present
//                         exactly on REVERSAL)
//   KEY_MISMATCH          the record key is absent or differs from memberId (raw records only)
//   UNSUPPORTED_CURRENCY  a well-formed currency code other than USD
import { Compile } from 'typebox/compile'
import type { TLocalizedValidationError } from 'typebox/error'
import { parseRfc3339 } from './rfc3339.ts'
import {
  EarnEventSchema, RedeemEventSchema, ReversalEventSchema, SUPPORTED_CURRENCIES,
  type RedeemEvent, type RewardEvent
} from './schemas.ts'

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
  | { readonly ok: false, readonly code: DlqCode, readonly message: string }

const earnValidator = Compile(EarnEventSchema)
const reversalValidator = Compile(ReversalEventSchema)
const redeemValidator = Compile(RedeemEventSchema)
const utf8 = new TextDecoder('utf-8', { fatal: true })
const MAX_MESSAGE_CHARS = 1000

function fail (code: DlqCode, message: string): { ok: false, code: DlqCode, message: string } {
  return { ok: false, code, message: message.length > MAX_MESSAGE_CHARS ? message.slice(0, MAX_MESSAGE_CHARS - 1) + '…' : message }
}

export function fieldName (instancePath: string): string {
  return instancePath === '' ? 'record' : instancePath.slice(1).replaceAll('/', '.')
}

/** Turns TypeBox's errors into one readable line, one clause per field. */
export function describeSchemaErrors (errors: readonly TLocalizedValidationError[]): string {
  const clauses: string[] = []
  const byPath = new Map<string, TLocalizedValidationError[]>()
  for (const error of errors) {
    if (error.keyword === 'boolean') continue // "schema is false": repeated by additionalProperties
    const list = byPath.get(error.instancePath) ?? []
    list.push(error)
    byPath.set(error.instancePath, list)
  }
  for (const [path, list] of byPath) {
    const field = fieldName(path)
    const anyOf = list.find(e => e.keyword === 'anyOf')
    if (anyOf !== undefined) {
      const allowed = list.flatMap(e => e.keyword === 'const' ? [String((e.params as { allowedValue: unknown }).allowedValue)] : [])
      clauses.push(allowed.length > 0 ? `${field} must be one of ${allowed.join(', ')}` : `${field} ${anyOf.message}`)
      continue
    }
    for (const error of list) {
      if (error.keyword === 'required') {
        const names = (error.params as { requiredProperties: string[] }).requiredProperties
        clauses.push(`${path === '' ? '' : field + ': '}missing required field${names.length > 1 ? 's' : ''} ${names.join(', ')}`)
      } else if (error.keyword === 'additionalProperties') {
        const names = (error.params as { additionalProperties: string[] }).additionalProperties
        clauses.push(`${path === '' ? '' : field + ': '}unknown field${names.length > 1 ? 's' : ''} ${names.join(', ')}`)
      } else if (error.keyword === 'format') {
        clauses.push(`${field} must be an RFC 3339 timestamp with offset (e.g. 2026-03-01T18:30:00Z)`)
      } else if (error.keyword === 'const') {
        clauses.push(`${field} must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}`)
      } else {
        clauses.push(`${field} ${error.message}`)
      }
    }
  }
  return clauses.join('; ')
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function checkEventTime (field: string, text: string): number | string {
  const ms = parseRfc3339(text)
  return ms ?? `${field} must be an RFC 3339 timestamp with offset (e.g. 2026-03-01T18:30:00Z)`
}

function checkKey (key: string | undefined, memberId: string): string | undefined {
  if (key === undefined) return undefined
  if (key !== memberId) return `record key ${JSON.stringify(key)} does not equal memberId ${JSON.stringify(memberId)}`
  return undefined
}

/** Validates a parsed reward event. `key` (the record key as text, when validating a topic
 *  record) must equal memberId; omit it where there is no key (HTTP bodies). */
export function validateRewardEvent (value: unknown, key?: string): Validated<RewardEvent> {
  if (!isObject(value)) return fail('SCHEMA_VIOLATION', `record must be a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`)
  // Pick the variant by `type` so the errors speak about that variant only.
  if (value.type !== 'EARN' && value.type !== 'REVERSAL') {
    const others = earnValidator.Check(value) ? [] : earnValidator.Errors(value).filter(e => e.instancePath !== '/type')
    const rest = describeSchemaErrors(others)
    return fail('SCHEMA_VIOLATION', `type must be one of EARN, REVERSAL${rest === '' ? '' : '; ' + rest}`)
  }
  if (value.type === 'EARN' && 'originalEventId' in value) {
    const { originalEventId: _ignored, ...rest } = value
    const others = describeSchemaErrors(earnValidator.Errors(rest))
    return fail('SCHEMA_VIOLATION', `originalEventId is allowed only on a REVERSAL${others === '' ? '' : '; ' + others}`)
  }
  const validator = value.type === 'EARN' ? earnValidator : reversalValidator
  if (!validator.Check(value)) return fail('SCHEMA_VIOLATION', describeSchemaErrors(validator.Errors(value)))
  const event = value as unknown as RewardEvent
  const eventTimeMs = checkEventTime('occurredAt', event.occurredAt)
  if (typeof eventTimeMs === 'string') return fail('SCHEMA_VIOLATION', eventTimeMs)
  const keyError = checkKey(key, event.memberId)
  if (keyError !== undefined) return fail('KEY_MISMATCH', keyError)
  if (!(SUPPORTED_CURRENCIES as readonly string[]).includes(event.currency)) {
    return fail('UNSUPPORTED_CURRENCY', `currency ${event.currency} is not supported (supported: ${SUPPORTED_CURRENCIES.join(', ')})`)
  }
  return { ok: true, value: event, eventTimeMs }
}

/** Validates a parsed redemption request; `key` as for validateRewardEvent. */
export function validateRedeemEvent (value: unknown, key?: string): Validated<RedeemEvent> {
  if (!isObject(value)) return fail('SCHEMA_VIOLATION', `record must be a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`)
  if (!redeemValidator.Check(value)) return fail('SCHEMA_VIOLATION', describeSchemaErrors(redeemValidator.Errors(value)))
  const event = value as RedeemEvent
  const eventTimeMs = checkEventTime('requestedAt', event.requestedAt)
  if (typeof eventTimeMs === 'string') return fail('SCHEMA_VIOLATION', eventTimeMs)
  const keyError = checkKey(key, event.memberId)
  if (keyError !== undefined) return fail('KEY_MISMATCH', keyError)
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
  if (!parsed.ok) return parsed
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
