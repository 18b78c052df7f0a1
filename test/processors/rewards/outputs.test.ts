// docs/contract.md "Outputs" output records: exactly the listed fields, keyed by memberId, the balance of "Balances and redemptions",
// processedAt from the wall clock, event time as record timestamp, input headers carried on.
import t from 'tap'
import { Compile } from 'typebox/compile'
import { RedeemConfirmedSchema, RewardConfirmedSchema } from '../../../processors/rewards/index.ts'
import { earn, harness, redeem, reversal, START_MS } from './harness.ts'

const rewardValidator = Compile(RewardConfirmedSchema)
const redeemValidator = Compile(RedeemConfirmedSchema)

t.test('reward-confirmed records have exactly the fields of docs/contract.md "Outputs"', async t => {
  const h = harness()
  t.teardown(() => h.close())
  // $2500 of casino coin-in: 250 points.
  h.reward(earn({ memberId: 'm', eventId: 'e', source: 'CASINO', amountCents: 250_000, occurredAt: '2026-03-01T22:15:30.250-05:00' }), { headers: { traceparent: Buffer.from('00-abc-def-01') } })
  h.driver.advanceWallClockTime(1500)
  h.reward(reversal('e', { memberId: 'm', eventId: 'rev', source: 'CASINO', occurredAt: '2026-03-02T08:00:00Z' }))
  const records = h.rewardConfirmedRecords()
  t.equal(records.length, 2)
  const [first, second] = records
  t.equal(first?.key, 'm')
  t.equal(first?.timestamp, Date.parse('2026-03-02T03:15:30.250Z'), 'record timestamp = occurredAt')
  t.equal(first?.headers.traceparent?.toString(), '00-abc-def-01', 'trace context travels on')
  t.same(first?.value, {
    eventId: 'e',
    memberId: 'm',
    source: 'CASINO',
    type: 'EARN',
    points: 250,
    tier: 'MEMBER',
    ruleVersion: '2026-1',
    balance: { memberId: 'm', earned: 250, reversed: 0, redeemed: 0, available: 250, qualifyingPoints: 250, tier: 'MEMBER', lastActivityAt: '2026-03-02T03:15:30.250Z', events: 1 },
    occurredAt: '2026-03-01T22:15:30.250-05:00',
    processedAt: new Date(START_MS).toISOString()
  })
  t.equal(second?.value.processedAt, new Date(START_MS + 1500).toISOString(), 'processedAt is wall-clock time')
  t.equal(second?.value.points, -250)
  t.equal(second?.value.balance.lastActivityAt, '2026-03-02T08:00:00.000Z')
  for (const r of records) t.ok(rewardValidator.Check(r.value), 'matches RewardConfirmedSchema')
})

t.test('lastActivityAt is the latest event time, not the latest processed', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', occurredAt: '2026-03-05T00:00:00Z' }))
  h.reward(earn({ memberId: 'm', occurredAt: '2026-03-01T00:00:00Z' }))
  t.equal(h.balance('m')?.lastActivityAt, '2026-03-05T00:00:00.000Z')
})

t.test('redeem-confirmed records match the schema, confirmed and rejected', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm' }))
  h.redeem(redeem({ memberId: 'm', points: 10 }))
  h.redeem(redeem({ memberId: 'm', points: 1_000_000 }))
  const outs = h.redeemConfirmed()
  t.same(outs.map(o => [o.status, o.reason]), [['CONFIRMED', undefined], ['REJECTED', 'INSUFFICIENT_POINTS']])
  for (const o of outs) t.ok(redeemValidator.Check(o), JSON.stringify(o))
})
