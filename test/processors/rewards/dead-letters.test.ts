// docs/contract.md "Dead letters": every input record that cannot be accepted goes to the matching -dlq topic,
// unchanged, with error.code, error.message and source topic/partition/offset headers; a bad
// record never stops processing.
import t from 'tap'
import { harness, earn, redeem, reversal } from './harness.ts'

const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

t.test('reward-events: one dead letter per code, input unchanged, headers set', async t => {
  const h = harness()
  t.teardown(() => h.close())
  const valid = earn({ memberId: 'm', eventId: 'ok-1' })
  const cases: Array<{ code: string, key: string | null, value: string | null, message: RegExp }> = [
    { code: 'MALFORMED_JSON', key: 'm', value: '{"eventId": "x",', message: /not valid JSON/ },
    { code: 'MALFORMED_JSON', key: 'm', value: null, message: /no value/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, amountCents: -5 }), message: /amountCents must be >= 0/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, amountCents: 1_000_000_000_001 }), message: /amountCents must be <= 1000000000000/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, amountCents: 10.5 }), message: /amountCents must be integer/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, source: 'SPA' }), message: /source must be one of HOTEL, CASINO, DINING/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, occurredAt: '2026-03-01 18:30' }), message: /occurredAt must be an RFC 3339/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, occurredAt: '2026-02-29T10:00:00Z' }), message: /occurredAt/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, occurredAt: '2026-03-01T10:00:00' }), message: /occurredAt/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, occurredAt: '2026-03-01T10:00:00Z[UTC]' }), message: /occurredAt/ },
    { code: 'SCHEMA_VIOLATION', key: 'bad id', value: JSON.stringify({ ...valid, memberId: 'bad id' }), message: /memberId must match pattern/ },
    { code: 'SCHEMA_VIOLATION', key: 'x'.repeat(65), value: JSON.stringify({ ...valid, memberId: 'x'.repeat(65) }), message: /memberId/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, eventId: '' }), message: /eventId/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, eventId: 'e'.repeat(129) }), message: /eventId/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, type: 'BONUS' }), message: /type must be one of EARN, REVERSAL/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, originalEventId: 'e0' }), message: /originalEventId is allowed only on a REVERSAL/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, type: 'REVERSAL' }), message: /missing required field originalEventId/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, propertyID: 'x' }), message: /unknown field propertyID/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ memberId: 'm' }), message: /missing required fields/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: '[1, 2]', message: /must be a JSON object/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: 'null', message: /must be a JSON object/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, currency: 'usd' }), message: /currency/ },
    // Text that cannot be stored or shown safely, and times Kafka cannot carry (docs/rewards.md).
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, eventId: 'x\ud800y' }), message: /eventId must be well-formed Unicode/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, propertyId: 'P\u0000' }), message: /propertyId must not hold control characters \(U\+0000/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, propertyId: 'P\u009b1' }), message: /propertyId must not hold control characters \(U\+009B/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, 'x\u001b[2J': 1 }), message: /unknown field "x\\u001b\[2J"/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, occurredAt: '1969-12-31T23:59:59.999Z' }), message: /occurredAt must be within 1970-01-01T00:00:00Z to 9999-12-31/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, occurredAt: '9999-12-31T23:00:00-01:00' }), message: /occurredAt must be within/ },
    { code: 'KEY_MISMATCH', key: 'other', value: JSON.stringify(valid), message: /record key "other" does not equal memberId "m"/ },
    { code: 'KEY_MISMATCH', key: null, value: JSON.stringify(valid), message: /no key/ },
    { code: 'UNSUPPORTED_CURRENCY', key: 'm', value: JSON.stringify({ ...valid, currency: 'EUR' }), message: /EUR is not supported/ }
  ]
  cases.forEach(c => h.reward(c.value, { key: c.key, headers: { traceparent: Buffer.from(traceparent) } }))
  const dlq = h.rewardDlq()
  t.equal(dlq.length, cases.length)
  cases.forEach((c, i) => {
    const d = dlq[i]!
    t.equal(d.code, c.code, `case ${i}: ${c.code}`)
    t.match(d.message, c.message, `case ${i}: message ${d.message}`)
    t.equal(d.key, c.key, `case ${i}: key unchanged`)
    t.equal(d.value, c.value, `case ${i}: value unchanged`)
    t.equal(d.headers['source.topic'], 'reward-events')
    t.equal(d.headers['source.partition'], '0')
    t.equal(d.headers['source.offset'], String(i))
    t.equal(d.headers.traceparent, traceparent, 'original headers kept')
  })
  t.same(h.rewardConfirmed(), [])
  // Processing goes on after bad records.
  h.reward(valid)
  t.equal(h.rewardConfirmed().length, 1)
  t.equal(h.balance('m')?.events, 1)
})

t.test('bytes that are not UTF-8 are MALFORMED_JSON and reach the DLQ byte for byte', async t => {
  const h = harness()
  t.teardown(() => h.close())
  const input = h.driver.createInputTopic('reward-events', { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b }, { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b })
  const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x7d])
  input.pipeInput(Buffer.from('m'), bytes)
  const out = h.driver.createOutputTopic('reward-events-dlq', { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b }, { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b }).readRecordsToList()
  t.equal(out.length, 1)
  t.same(out[0]?.value, bytes)
  t.equal(out[0]?.headers['error.code']?.toString(), 'MALFORMED_JSON')
})

t.test('ORIGINAL_NOT_FOUND and ALREADY_REVERSED are dead letters of reward-events', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', eventId: 'e' }))
  h.reward(reversal('nope', { memberId: 'm' }))
  h.reward(reversal('e', { memberId: 'm' }))
  h.reward(reversal('e', { memberId: 'm' }))
  const dlq = h.rewardDlq()
  t.same(dlq.map(d => d.code), ['ORIGINAL_NOT_FOUND', 'ALREADY_REVERSED'])
  t.same(dlq.map(d => d.headers['source.offset']), ['1', '3'])
  t.same(h.redeemDlq(), [])
})

t.test('redeem-events: malformed, schema and key problems go to redeem-events-dlq', async t => {
  const h = harness()
  t.teardown(() => h.close())
  const valid = redeem({ memberId: 'm' })
  const cases: Array<{ code: string, key: string | null, value: string | null, message: RegExp }> = [
    { code: 'MALFORMED_JSON', key: 'm', value: 'not json', message: /not valid JSON/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, points: 0 }), message: /points must be >= 1/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, points: 1_000_000_001 }), message: /points must be <= 1000000000/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, channel: 'KIOSK' }), message: /channel must be one of HOTEL, CASINO, DINING, ONLINE/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, rewardCode: 'r'.repeat(65) }), message: /rewardCode/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, requestedAt: 'yesterday' }), message: /requestedAt must be an RFC 3339/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, rewardCode: 'R\udc00' }), message: /rewardCode must be well-formed Unicode/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, redemptionId: 'r\u001b[2J' }), message: /redemptionId must not hold control characters/ },
    { code: 'SCHEMA_VIOLATION', key: 'm', value: JSON.stringify({ ...valid, requestedAt: '1969-12-31T23:00:00Z' }), message: /requestedAt must be within/ },
    { code: 'KEY_MISMATCH', key: 'n', value: JSON.stringify(valid), message: /does not equal memberId/ }
  ]
  cases.forEach(c => h.redeem(c.value, { key: c.key }))
  const dlq = h.redeemDlq()
  t.same(dlq.map(d => d.code), cases.map(c => c.code))
  cases.forEach((c, i) => {
    t.match(dlq[i]?.message, c.message)
    t.equal(dlq[i]?.value, c.value)
    t.equal(dlq[i]?.headers['source.topic'], 'redeem-events')
  })
  t.same(h.rewardDlq(), [])
  t.same(h.redeemConfirmed(), [])
})
