// The bodies of POST /v1/events and POST /v1/redemptions, checked by the topology's own validator
// (processors/rewards/validation.ts: an event the API accepts is never dead-lettered for its
// shape) plus one rule of the door only: an event time at most MAX_EVENT_TIME_AHEAD_MS after the
// server's clock (docs/api.md, "Validation"). The broker refuses a record whose timestamp is
// further ahead than its message.timestamp.after.max.ms (default 1 hour), and the topology's
// outputs carry the input's event time: such an event would be accepted here, then dead-lettered
// OUTPUT_REFUSED by the topology. The request body is read, never changed: what is produced is
// the client's value as parsed.
import type { RedeemEvent, RewardEvent } from '../../processors/rewards/schemas.ts'
import { validateRedeemEvent, validateRewardEvent, type Validated } from '../../processors/rewards/validation.ts'

/** How far ahead of this server's clock an event time may be (the broker's default
 *  message.timestamp.after.max.ms). */
export const MAX_EVENT_TIME_AHEAD_MS = 60 * 60 * 1000

export const MAX_BATCH = 1000

/** One problem of a body: `path` is a JSON Pointer into the request body (`/3/amountCents` in a
 *  batch), `code` the dead-letter code the topology would give, or EVENT_TIME_AHEAD. */
export interface BodyIssue {
  readonly index: number
  readonly path: string
  readonly code: string
  readonly message: string
}

export type BodyCheck<T> = { readonly ok: true, readonly values: T[] } | { readonly ok: false, readonly message?: string, readonly errors: BodyIssue[] }

function issuesOf<T> (result: Validated<T>, index: number, prefix: string, field: string, nowMs: number): BodyIssue[] {
  // One entry per problem: a clause about several fields as one entry per field.
  if (!result.ok) return result.issues.flatMap(i => i.each ?? [i]).map(i => ({ index, path: prefix + i.path, code: result.code, message: i.message }))
  if (result.eventTimeMs > nowMs + MAX_EVENT_TIME_AHEAD_MS) {
    return [{ index, path: `${prefix}/${field}`, code: 'EVENT_TIME_AHEAD', message: `${field} is more than ${MAX_EVENT_TIME_AHEAD_MS / 60_000} minutes after the server's clock (${new Date(nowMs).toISOString()})` }]
  }
  return []
}

/** One event or a batch of 1..MAX_BATCH, all or nothing. */
export function checkEventsBody (body: unknown, nowMs = Date.now()): BodyCheck<RewardEvent> {
  const batch = Array.isArray(body)
  const items: unknown[] = batch ? body : [body]
  if (items.length === 0 || items.length > MAX_BATCH) return { ok: false, message: `A batch holds 1 to ${MAX_BATCH} events; got ${items.length}`, errors: [{ index: 0, path: '', code: 'SCHEMA_VIOLATION', message: `a batch holds 1 to ${MAX_BATCH} events` }] }
  const values: RewardEvent[] = []
  const errors: BodyIssue[] = []
  items.forEach((item, index) => {
    const result = validateRewardEvent(item)
    const issues = issuesOf(result, index, batch ? `/${index}` : '', 'occurredAt', nowMs)
    if (issues.length > 0) errors.push(...issues)
    else if (result.ok) values.push(result.value)
  })
  return errors.length > 0 ? { ok: false, errors } : { ok: true, values }
}

/** One redemption request. */
export function checkRedemptionBody (body: unknown, nowMs = Date.now()): BodyCheck<RedeemEvent> {
  const result = validateRedeemEvent(body)
  const errors = issuesOf(result, 0, '', 'requestedAt', nowMs)
  return errors.length > 0 || !result.ok ? { ok: false, errors } : { ok: true, values: [result.value] }
}
