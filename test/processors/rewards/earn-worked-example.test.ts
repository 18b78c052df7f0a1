// docs/contract.md "Earning rules": EARN points = floor(amountCents × rate × multiplier / 10^9); the worked example.
import t from 'tap'
import { earn, harness } from './harness.ts'

t.test('HOTEL $123.45 at GOLD earns 1851 points (the worked example)', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'gold-1', amountCents: 500_000 })) // 50 000 points at MEMBER → GOLD
  t.equal(h.balance('gold-1')?.tier, 'GOLD')
  h.rewardConfirmed()
  h.reward(earn({ memberId: 'gold-1', eventId: 'stay-12345', source: 'HOTEL', amountCents: 12_345 }))
  const [out] = h.rewardConfirmed()
  t.equal(out?.points, 1851)
  t.equal(out?.tier, 'GOLD')
  t.equal(out?.balance.earned, 51_851)
  t.equal(out?.balance.available, 51_851)
})

t.test('base rates per source at MEMBER tier, floored', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'h', source: 'HOTEL', amountCents: 12_345 })) // 12345 × 10000 × 10000 / 1e9 = 1234.5
  h.reward(earn({ memberId: 'd', source: 'DINING', amountCents: 12_345 })) // 617.25
  h.reward(earn({ memberId: 'c', source: 'CASINO', amountCents: 12_345 })) // 12.345
  h.reward(earn({ memberId: 'z', source: 'CASINO', amountCents: 999 })) // 0.999 → 0
  t.same(h.rewardConfirmed().map(o => [o.memberId, o.points]), [['h', 1234], ['d', 617], ['c', 12], ['z', 0]])
  t.equal(h.balance('z')?.events, 1, 'an EARN worth 0 points is still an accepted event')
})

t.test('the largest amount is computed exactly (no floating point)', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'big', source: 'DINING', amountCents: 999_999_999_999 }))
  // 999999999999 × 5000 × 10000 / 1e9 = 49 999 999 999.95 → 49 999 999 999
  t.equal(h.rewardConfirmed()[0]?.points, 49_999_999_999)
  h.reward(earn({ memberId: 'big', source: 'HOTEL', amountCents: 1_000_000_000_000 }))
  // PLATINUM now: 1e12 × 10000 × 20000 / 1e9 = 200 000 000 000
  t.equal(h.rewardConfirmed()[0]?.points, 200_000_000_000)
})
