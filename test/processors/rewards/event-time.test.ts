// Event time: the source timestamp extractors give a valid record's occurredAt / requestedAt
// (the two inputs are ordered by event time) and no event time (null) to a record the processor
// will dead-letter, whatever its code, so that it moves no clock.
import t from 'tap'
import type { LogRecord } from '../../../log/log-port.ts'
import { redeemEventTime, rewardEventTime } from '../../../processors/rewards/event-time.ts'
import { earn, redeem } from './harness.ts'

const record = (value: string | object | null, key: string | null = 'm-1', timestamp = 42): LogRecord => ({
  topic: 't', partition: 0, offset: 0n, timestamp, key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), headers: {}
})

t.test('a valid record: its event time', async t => {
  t.equal(rewardEventTime(record(earn({ occurredAt: '2026-03-01T10:00:00+02:00' }))), Date.parse('2026-03-01T08:00:00Z'))
  t.equal(rewardEventTime(record(earn({ occurredAt: '2026-03-01T10:00:00.5Z' }))), Date.parse('2026-03-01T10:00:00.500Z'))
  t.equal(redeemEventTime(record(redeem({ requestedAt: '2026-01-01T00:00:00Z' }))), Date.parse('2026-01-01T00:00:00Z'))
  t.equal(rewardEventTime(record(earn({ propertyId: '"occurredAt":"1999-01-01T00:00:00Z"', occurredAt: '2026-01-01T00:00:00Z' }))), Date.parse('2026-01-01T00:00:00Z'), 'a look-alike inside a string value is not the field')
})

t.test('a record the processor dead-letters: no event time, whatever its code', async t => {
  const cases: Array<[string, LogRecord]> = [
    ['MALFORMED_JSON (tombstone)', record(null)],
    ['MALFORMED_JSON (not JSON)', record('{bad')],
    ['MALFORMED_JSON (truncated, with a readable occurredAt)', record('{"occurredAt":"2026-01-01T00:00:00Z","memberId":"m-1"')],
    ['SCHEMA_VIOLATION (bad occurredAt)', record({ ...earn(), occurredAt: 'yesterday' })],
    ['SCHEMA_VIOLATION (valid occurredAt, bad amount)', record(earn({ amountCents: -5 }))],
    ['KEY_MISMATCH', record(earn({ memberId: 'm-1' }), 'm-2')],
    ['KEY_MISMATCH (no key)', record(earn(), null)],
    ['UNSUPPORTED_CURRENCY', record(earn({ currency: 'EUR' }))]
  ]
  for (const [name, r] of cases) t.equal(rewardEventTime(r), null, name)
  t.equal(redeemEventTime(record(redeem({ points: 0 }))), null, 'SCHEMA_VIOLATION of a redemption')
  t.equal(redeemEventTime(record(redeem(), 'someone-else')), null, 'KEY_MISMATCH of a redemption')
})
