// A log record → archive row: typed columns per topic kind, only from values of the right JSON
// type; malformed values keep their bytes; member id falls back to the key; dead letters carry
// their error code.
import t from 'tap'
import { archiveKinds, toArchiveRow } from '../../processors/archive/archive-row.ts'
import { platformTopics } from '../../lib/platform-topics.ts'

const rec = (topic: string, value: unknown, headers: Record<string, string> = {}, key = 'M-1') => ({
  topic, partition: 2, offset: 41n, timestamp: 1_772_000_000_000, key: Buffer.from(key),
  value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value)),
  headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)]))
})

t.test('kinds by topic, with a prefix', async t => {
  const kinds = archiveKinds(platformTopics({ topicPrefix: 'x.' }))
  t.equal(kinds.get('x.reward-events'), 'reward-event')
  t.equal(kinds.get('x.redeem-events-dlq'), 'redeem-dlq')
  t.equal(kinds.size, 6)
})

t.test('reward event, confirmation, redemption decision', async t => {
  const earn = toArchiveRow(rec('reward-events', { eventId: 'e1', memberId: 'M-1', source: 'HOTEL', type: 'EARN', amountCents: 12345, currency: 'USD', occurredAt: '2026-03-01T12:00:00-05:00', propertyId: 'P' }), 'reward-event')
  t.match(earn, { eventId: 'e1', memberId: 'M-1', source: 'HOTEL', eventType: 'EARN', amountCents: 12345, propertyId: 'P', eventTimeMs: Date.parse('2026-03-01T17:00:00Z'), redemptionId: null, points: null })
  t.equal(earn.offset, 41n)
  const confirmed = toArchiveRow(rec('reward-confirmed', { eventId: 'e2', memberId: 'M-1', source: 'CASINO', type: 'REVERSAL', points: -1851, tier: 'GOLD', ruleVersion: '2026-1', balance: {}, occurredAt: '2026-03-01T12:00:00Z', processedAt: '2026-03-01T12:00:01Z' }), 'reward-confirmed')
  t.match(confirmed, { points: -1851, tier: 'GOLD', ruleVersion: '2026-1', eventType: 'REVERSAL' })
  const decision = toArchiveRow(rec('redeem-confirmed', { redemptionId: 'r1', memberId: 'M-1', points: 500, rewardCode: 'ROOM', status: 'REJECTED', reason: 'INSUFFICIENT_POINTS', balance: {}, requestedAt: '2026-03-01T12:00:00Z', processedAt: 'x' }), 'redeem-confirmed')
  t.match(decision, { redemptionId: 'r1', eventId: null, status: 'REJECTED', reason: 'INSUFFICIENT_POINTS', points: 500 })
})

t.test('bad values: wrong types ignored, malformed kept raw, key fallback, dead-letter code', async t => {
  const wrong = toArchiveRow(rec('reward-events', { eventId: 7, memberId: 'M-9', amountCents: '12', occurredAt: 'yesterday', points: 1.5 }), 'reward-event')
  t.match(wrong, { eventId: null, memberId: 'M-9', amountCents: null, eventTimeMs: null, points: null })
  const malformed = toArchiveRow(rec('reward-events-dlq', Buffer.from('{"eventId": '), { 'error.code': 'MALFORMED_JSON' }, 'M-2'), 'reward-dlq')
  t.match(malformed, { valueJson: null, memberId: 'M-2', errorCode: 'MALFORMED_JSON', traceId: null })
  t.equal(malformed.value!.toString(), '{"eventId": ')
  t.equal(toArchiveRow(rec('reward-events', [1, 2]), 'reward-event').valueJson, '[1,2]', 'any JSON kept as JSON')
  t.equal(toArchiveRow(rec('reward-events', { a: 'x\u0000y' }), 'reward-event').valueJson, null, 'NUL in JSON strings (refused by jsonb): bytes only')
  t.equal(toArchiveRow(rec('reward-events', null), 'reward-event').valueJson, null, 'null value (tombstone)')
  const surrogate = toArchiveRow(rec('reward-events', { eventId: 'x\ud800y', memberId: 'M-1' }), 'reward-event')
  t.match(surrogate, { valueJson: null, eventId: null, memberId: 'M-1' }, 'a lone surrogate (refused by jsonb): bytes only, member from the key')
  t.equal(toArchiveRow(rec('reward-events', { eventId: 'x\u0007y' }), 'reward-event').valueJson, '{"eventId":"x\\u0007y"}', 'other control characters are storable: kept as JSON')
})

t.test('trace id from a valid traceparent only', async t => {
  const row = (tp: string) => toArchiveRow(rec('reward-events', {}, { traceparent: tp }), 'reward-event').traceId
  t.equal(row('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'), '0af7651916cd43dd8448eb211c80319c')
  t.equal(row('00-00000000000000000000000000000000-b7ad6b7169203331-01'), null, 'all-zero trace id is invalid')
  t.equal(row('garbage'), null)
})
