// fast-check arbitraries of the documented request bodies (processors/rewards/schemas.ts: EARN,
// REVERSAL, batches, redemptions), valid ones and invalid ones. An invalid body is a valid one
// with one defect, and the defect says which field it is at, so a test can expect a 400 naming
// exactly that path. Written from docs/api.md and docs/rewards.md, not from the validator.
import fc from 'fast-check'
import { MAX_AMOUNT_CENTS, MAX_REDEEM_POINTS } from '../../processors/rewards/schemas.ts'

type Body = Record<string, unknown>

// Printable text the contract must take as it is: ASCII, Latin, CJK, astral (two UTF-16 units),
// JSON metacharacters, U+2028 (not a control character). At most 2 units per grapheme, so a
// string of n graphemes fits a maxLength of 2n.
const unit = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }).filter(c => c >= ' ' && c !== '\u007f'),
  fc.constantFrom('é', 'ß', '中', '😀', '\u2028', '"', '\\', '/', '~', ' ')
)
export const text = (maxUnits: number): fc.Arbitrary<string> => fc.string({ unit, minLength: 1, maxLength: Math.floor(maxUnits / 2) })

const memberId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/)

/** An RFC 3339 time between 1970-01-01 and 30 minutes from now, with Z or an offset, with or
 *  without a fraction. */
const eventTime = fc.record({
  ms: fc.integer({ min: 0, max: Math.floor((Date.now() + 30 * 60_000) / 1000) }).map(s => s * 1000),
  fraction: fc.constantFrom('', '.5', '.123', '.123456'),
  offsetMinutes: fc.constantFrom(0, 0, 60, -300, 330, 14 * 60 - 1)
}).map(({ ms, fraction, offsetMinutes }) => {
  // Written in a zone whose UTC offset is offsetMinutes (the same instant, so never before 1970).
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19)
  const sign = offsetMinutes < 0 ? '-' : '+'
  const abs = Math.abs(offsetMinutes)
  const zone = offsetMinutes === 0 ? 'Z' : `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`
  return `${local}${fraction}${zone}`
})

/** Fields in a random order: the record on the topic must keep the order the client sent. */
const shuffled = (fields: Body): fc.Arbitrary<Body> => fc.shuffledSubarray(Object.entries(fields), { minLength: Object.keys(fields).length })
  .map(entries => Object.fromEntries(entries))

const rewardFields = {
  eventId: text(120),
  memberId,
  source: fc.constantFrom('HOTEL', 'CASINO', 'DINING'),
  amountCents: fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.constantFrom(0, MAX_AMOUNT_CENTS), fc.bigInt({ min: 0n, max: BigInt(MAX_AMOUNT_CENTS) }).map(Number)),
  currency: fc.constant('USD'),
  occurredAt: eventTime,
  propertyId: text(64)
}

export const earn = fc.record({ ...rewardFields, type: fc.constant('EARN') }).chain(shuffled)
export const reversal = fc.record({ ...rewardFields, type: fc.constant('REVERSAL'), originalEventId: text(128) }).chain(shuffled)
export const rewardEvent = fc.oneof(earn, reversal)
export const redemption = fc.record({
  redemptionId: text(120),
  memberId,
  points: fc.oneof(fc.integer({ min: 1, max: 10_000 }), fc.constantFrom(1, MAX_REDEEM_POINTS)),
  rewardCode: text(64),
  channel: fc.constantFrom('HOTEL', 'CASINO', 'DINING', 'ONLINE'),
  requestedAt: eventTime
}).chain(shuffled)

/** One defect of a body: `apply` makes it, `path` is where a 400 must point (in the item). */
export interface Defect {
  readonly name: string
  readonly path: string
  apply (body: Body): Body
}

const STRING_FIELDS = ['eventId', 'memberId', 'source', 'currency', 'occurredAt', 'propertyId', 'type', 'originalEventId', 'redemptionId', 'rewardCode', 'channel', 'requestedAt']
const INTEGER_FIELDS = ['amountCents', 'points']
const TEXT_FIELDS = ['eventId', 'propertyId', 'originalEventId', 'redemptionId', 'rewardCode']
const TIME_FIELDS = ['occurredAt', 'requestedAt']

/** Defects that fit `body` (only fields it has). */
export function defects (body: Body): fc.Arbitrary<Defect> {
  const has = (f: string): boolean => f in body
  const set = (field: string, value: unknown, name: string): Defect => ({ name: `${field} ${name}`, path: `/${field}`, apply: b => ({ ...b, [field]: value }) })
  const options: Array<fc.Arbitrary<Defect>> = [
    // Values that look like the right type: coerced or stripped by the old validator.
    fc.constantFrom(...INTEGER_FIELDS.filter(has)).chain(f => fc.constantFrom<[unknown, string]>(['100', 'as a string'], [true, 'true'], [null, 'null'], [[100], 'in an array'], [1.5, 'fraction'], [-1, 'negative'], [{}, 'object']).map(([v, n]) => set(f, v, n))),
    fc.constantFrom(...STRING_FIELDS.filter(has)).chain(f => fc.constantFrom<[unknown, string]>([12345, 'a number'], [true, 'true'], [null, 'null'], [['x'], 'in an array'], ['', 'empty']).map(([v, n]) => set(f, v, n))),
    // A field the contract does not know.
    fc.constantFrom('note', 'amount_cents', 'originalEventID', 'Points', 'x\u00e9').map(f => ({ name: `unknown field ${f}`, path: `/${f}`, apply: (b: Body) => ({ ...b, [f]: 1 }) })),
    // A required field missing.
    fc.constantFrom(...Object.keys(body)).map(f => ({ name: `missing ${f}`, path: `/${f}`, apply: (b: Body) => Object.fromEntries(Object.entries(b).filter(([k]) => k !== f)) })),
    // Text that cannot be stored or shown safely, ids over their length.
    fc.constantFrom(...TEXT_FIELDS.filter(has)).chain(f => fc.constantFrom<[string, string]>(['x\ud800y', 'lone high surrogate'], ['\udc00', 'lone low surrogate'], ['a\u0000b', 'NUL'], ['a\u001bb', 'ESC'], ['a\u007f', 'DEL'], ['a\u0085', 'C1 NEL'], ['x'.repeat(129), 'over-long']).map(([v, n]) => set(f, v, n))),
    // Times out of the documented range, or not RFC 3339.
    fc.constantFrom(...TIME_FIELDS.filter(has)).chain(f => fc.constantFrom<[string, string]>(['1969-12-31T23:59:59Z', '1969'], ['1970-01-01T00:59:59+01:00', 'before the epoch in another zone'], ['9999-12-31T23:59:59Z', 'year 9999'],
      [new Date(Date.now() + 2 * 3600_000).toISOString(), 'two hours ahead'], ['2026-02-30T10:00:00Z', 'not a day'], ['2026-03-01T10:00:00', 'no offset'], ['2026-03-01T10:00:00Z[UTC]', 'RFC 9557 suffix']).map(([v, n]) => set(f, v, n)))
  ]
  if (body.type === 'EARN') options.push(fc.constant({ name: 'originalEventId on an EARN', path: '/originalEventId', apply: (b: Body) => ({ ...b, originalEventId: 'e-1' }) }))
  if (body.type === 'REVERSAL') options.push(fc.constant({ name: 'REVERSAL without originalEventId', path: '/originalEventId', apply: (b: Body) => Object.fromEntries(Object.entries(b).filter(([k]) => k !== 'originalEventId')) }))
  if (has('currency')) options.push(fc.constant({ name: 'currency EUR', path: '/currency', apply: (b: Body) => ({ ...b, currency: 'EUR' }) }))
  return fc.oneof(...options)
}
