// laterActivity: the later of a balance's lastActivityAt and an event time, compared as text when
// both are in toISOString's form, by Date.parse otherwise; the same answer either way.
import t from 'tap'
import { laterActivity } from '../../../processors/rewards/balance.ts'

t.test('the later of the two, whichever form the current one has', async t => {
  const at = Date.parse('2026-03-01T10:00:00.500Z')
  t.equal(laterActivity(null, at), '2026-03-01T10:00:00.500Z')
  t.equal(laterActivity('2026-03-01T09:59:59.999Z', at), '2026-03-01T10:00:00.500Z')
  t.equal(laterActivity('2026-03-01T10:00:00.501Z', at), '2026-03-01T10:00:00.501Z')
  t.equal(laterActivity('2026-03-01T10:00:00.500Z', at), '2026-03-01T10:00:00.500Z')
  t.equal(laterActivity('2026-03-01T12:00:00+02:00', at), '2026-03-01T10:00:00.500Z', 'another form: by time, not text')
  t.equal(laterActivity('2026-03-01T13:00:00+02:00', at), '2026-03-01T13:00:00+02:00')
  t.equal(laterActivity('2025-12-31T23:59:59.999Z', Date.parse('2026-01-01T00:00:00Z')), '2026-01-01T00:00:00.000Z')
})
