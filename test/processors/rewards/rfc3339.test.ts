// RFC 3339 date-time parsing used for occurredAt / requestedAt and promotion windows.
import t from 'tap'
import { parseRfc3339 } from '../../../processors/rewards/index.ts'

t.test('accepts RFC 3339 date-times with an offset', async t => {
  t.equal(parseRfc3339('2026-03-01T18:30:00Z'), Date.parse('2026-03-01T18:30:00Z'))
  t.equal(parseRfc3339('2026-03-01t18:30:00z'), Date.parse('2026-03-01T18:30:00Z'), 'lower-case t and z')
  t.equal(parseRfc3339('2026-03-01T18:30:00.123456789+05:30'), Date.parse('2026-03-01T13:00:00.123Z'), 'fraction truncated to ms')
  t.equal(parseRfc3339('2024-02-29T00:00:00-00:00'), Date.parse('2024-02-29T00:00:00Z'), 'leap day')
  t.equal(parseRfc3339('2016-12-31T23:59:60Z'), Date.parse('2017-01-01T00:00:00Z'), 'leap second')
  t.equal(parseRfc3339('0001-01-01T00:00:00Z'), Date.parse('0001-01-01T00:00:00Z'), 'year 1')
})

t.test('rejects everything else', async t => {
  for (const bad of ['2026-03-01', '2026-03-01T18:30:00', '2026-03-01 18:30:00Z', '2026-13-01T00:00:00Z', '2026-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z', '2026-03-01T24:00:00Z', '2026-03-01T18:60:00Z', '2026-03-01T18:30:60Z', '2026-03-01T18:30:00+24:00',
    '2026-03-01T18:30:00Z[UTC]', '+002026-03-01T18:30:00Z', '2026-03-01T18:30:00.Z', ' 2026-03-01T18:30:00Z', '']) {
    t.equal(parseRfc3339(bad), undefined, bad)
  }
})
