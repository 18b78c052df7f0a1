// Event time: the source timestamp extractors read occurredAt / requestedAt (SPEC §4 orders the
// two inputs by event time); unreadable records keep the record timestamp.
import t from 'tap'
import type { LogRecord } from '../../../log/log-port.ts'
import { eventTimeExtractor } from '../../../processors/rewards/event-time.ts'

const record = (value: string | null, timestamp = 42): LogRecord => ({ topic: 't', partition: 0, offset: 0n, timestamp, key: null, value: value === null ? null : Buffer.from(value), headers: {} })

t.test('reads the event time from the JSON text', async t => {
  const occurred = eventTimeExtractor('occurredAt')
  const requested = eventTimeExtractor('requestedAt')
  t.equal(occurred(record('{"eventId":"x","occurredAt":"2026-03-01T10:00:00+02:00"}')), Date.parse('2026-03-01T08:00:00Z'))
  t.equal(occurred(record('{ "occurredAt" :  "2026-03-01T10:00:00.5Z" }')), Date.parse('2026-03-01T10:00:00.500Z'))
  t.equal(requested(record('{"redemptionId":"r","requestedAt":"2026-01-01T00:00:00Z"}')), Date.parse('2026-01-01T00:00:00Z'))
  t.equal(occurred(record('{"propertyId":"\\"occurredAt\\":\\"1999-01-01T00:00:00Z\\"","occurredAt":"2026-01-01T00:00:00Z"}')), Date.parse('2026-01-01T00:00:00Z'), 'a look-alike inside a string value is skipped')
  t.equal(occurred(record('{"propertyId":"é","occurredAt":"2026-01-01T00:00:00Z"}')), Date.parse('2026-01-01T00:00:00Z'), 'non-ASCII before the field')
})

t.test('falls back to the record timestamp', async t => {
  const occurred = eventTimeExtractor('occurredAt')
  t.equal(occurred(record(null)), 42)
  t.equal(occurred(record('{bad')), 42)
  t.equal(occurred(record('{"occurredAt":"yesterday"}')), 42)
  t.equal(occurred(record('{"occurredAt":12}')), 42)
})
