// docs/contract.md "Balances and redemptions": CONFIRMED iff available ≥ points when processed; otherwise REJECTED
// INSUFFICIENT_POINTS; a confirmed redemption adds to redeemed.
import t from 'tap'
import { earn, harness, redeem, START_MS } from './harness.ts'

t.test('a redemption of exactly the available balance is confirmed', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', amountCents: 12_345 })) // 1234
  h.redeem(redeem({ memberId: 'm', redemptionId: 'all', points: 1234, rewardCode: 'BUFFET', channel: 'DINING', requestedAt: '2026-03-02T20:00:00+01:00' }))
  const [out] = h.redeemConfirmed()
  t.same(out, {
    redemptionId: 'all',
    memberId: 'm',
    points: 1234,
    rewardCode: 'BUFFET',
    status: 'CONFIRMED',
    balance: { memberId: 'm', earned: 1234, reversed: 0, redeemed: 1234, available: 0, qualifyingPoints: 1234, tier: 'MEMBER', lastActivityAt: '2026-03-02T19:00:00.000Z', events: 1 },
    requestedAt: '2026-03-02T20:00:00+01:00',
    processedAt: new Date(START_MS).toISOString()
  })
  t.notOk('reason' in (out ?? {}), 'no reason on a confirmed redemption')
  t.equal(h.balance('m')?.available, 0)
})

t.test('one point more than available is rejected, balance unchanged', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', amountCents: 12_345 })) // 1234
  const before = h.balance('m')
  h.redeem(redeem({ memberId: 'm', redemptionId: 'too-much', points: 1235 }))
  const [out] = h.redeemConfirmed()
  t.equal(out?.status, 'REJECTED')
  t.equal(out?.reason, 'INSUFFICIENT_POINTS')
  t.same(out?.balance, before)
  t.same(h.balance('m'), before)
})

t.test('consecutive redemptions cannot overspend', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', amountCents: 10_000 })) // 1000
  for (let i = 0; i < 5; i++) h.redeem(redeem({ memberId: 'm', points: 300 }))
  t.same(h.redeemConfirmed().map(o => o.status), ['CONFIRMED', 'CONFIRMED', 'CONFIRMED', 'REJECTED', 'REJECTED'])
  t.equal(h.balance('m')?.available, 100)
  t.equal(h.balance('m')?.redeemed, 900)
})

t.test('an unknown member is rejected with an empty balance, and stays unknown', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.redeem(redeem({ memberId: 'nobody', points: 1 }))
  const [out] = h.redeemConfirmed()
  t.equal(out?.status, 'REJECTED')
  t.same(out?.balance, { memberId: 'nobody', earned: 0, reversed: 0, redeemed: 0, available: 0, qualifyingPoints: 0, tier: 'MEMBER', lastActivityAt: null, events: 0 })
  t.equal(h.balance('nobody'), undefined, 'no balance is stored for a member with no accepted event')
})

t.test('a confirmed redemption does not count as an event but is activity', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', amountCents: 10_000, occurredAt: '2026-03-01T00:00:00Z' }))
  h.redeem(redeem({ memberId: 'm', points: 10, requestedAt: '2026-03-05T00:00:00Z' }))
  h.redeem(redeem({ memberId: 'm', points: 5000, requestedAt: '2026-03-09T00:00:00Z' })) // rejected
  t.equal(h.balance('m')?.events, 1)
  t.equal(h.balance('m')?.lastActivityAt, '2026-03-05T00:00:00.000Z', 'a rejected request does not move lastActivityAt')
})
