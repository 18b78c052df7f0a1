// docs/contract.md "Earning rules": the tier applied is the member's tier BEFORE the event, from qualifying points:
// MEMBER < 10 000 ≤ SILVER < 50 000 ≤ GOLD < 150 000 ≤ PLATINUM.
import t from 'tap'
import { earn, harness, reversal } from './harness.ts'

const cases: Array<[number, string, number]> = [
  // qualifying points before, tier, points for a $100 hotel stay (10 000 cents)
  [9_999, 'MEMBER', 1_000],
  [10_000, 'SILVER', 1_250],
  [49_999, 'SILVER', 1_250],
  [50_000, 'GOLD', 1_500],
  [149_999, 'GOLD', 1_500],
  [150_000, 'PLATINUM', 2_000]
]

for (const [qualifying, tier, points] of cases) {
  t.test(`${qualifying} qualifying points is ${tier}`, async t => {
    const h = harness()
    t.teardown(() => h.close())
    // One EARN at MEMBER (the tier before it) gives exactly `qualifying` points: 10 cents = 1 point.
    h.reward(earn({ memberId: 'm', amountCents: qualifying * 10 }))
    t.equal(h.balance('m')?.qualifyingPoints, qualifying)
    t.equal(h.balance('m')?.tier, tier, 'balance tier from qualifying points')
    h.rewardConfirmed()
    h.reward(earn({ memberId: 'm', amountCents: 10_000 }))
    const [out] = h.rewardConfirmed()
    t.equal(out?.tier, tier, 'tier applied')
    t.equal(out?.points, points)
  })
}

t.test('the EARN that crosses a threshold is paid at the tier before it', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', amountCents: 99_990 })) // 9 999 points
  h.reward(earn({ memberId: 'm', amountCents: 1_000_000 })) // at MEMBER: 100 000 points
  const outs = h.rewardConfirmed()
  t.equal(outs[1]?.tier, 'MEMBER')
  t.equal(outs[1]?.points, 100_000)
  t.equal(outs[1]?.balance.tier, 'GOLD', 'the balance after shows the new tier')
})

t.test('qualifying points count earned minus reversed: a reversal can lower the tier', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', eventId: 'a', amountCents: 50_000 })) // 5 000
  h.reward(earn({ memberId: 'm', eventId: 'b', amountCents: 50_000 })) // 5 000 → 10 000 SILVER
  t.equal(h.balance('m')?.tier, 'SILVER')
  h.reward(reversal('b', { memberId: 'm' }))
  t.equal(h.balance('m')?.tier, 'MEMBER')
  t.equal(h.balance('m')?.qualifyingPoints, 5_000)
  h.rewardConfirmed()
  h.reward(earn({ memberId: 'm', amountCents: 10_000 }))
  t.equal(h.rewardConfirmed()[0]?.tier, 'MEMBER')
})

t.test('redemptions do not lower the tier (qualifying points ignore redeemed)', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', amountCents: 100_000 })) // 10 000 → SILVER
  h.redeem({ redemptionId: 'x', memberId: 'm', points: 10_000, rewardCode: 'SUITE', channel: 'HOTEL', requestedAt: '2026-03-02T00:00:00Z' })
  const b = h.balance('m')
  t.equal(b?.available, 0)
  t.equal(b?.qualifyingPoints, 10_000)
  t.equal(b?.tier, 'SILVER')
})
