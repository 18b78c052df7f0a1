// docs/contract.md "Earning rules": a REVERSAL takes back exactly the points of its original EARN, whatever its own
// amountCents says; unknown original → ORIGINAL_NOT_FOUND; a second reversal → ALREADY_REVERSED.
import t from 'tap'
import { earn, harness, redeem, reversal } from './harness.ts'

t.test('full take-back of the points awarded, not of its own amount', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'g', amountCents: 500_000 })) // 50 000 → GOLD
  h.reward(earn({ memberId: 'g', eventId: 'stay', amountCents: 12_345 })) // 1851 at GOLD
  h.rewardConfirmed()
  h.reward(reversal('stay', { memberId: 'g', amountCents: 1 }))
  const [out] = h.rewardConfirmed()
  t.equal(out?.type, 'REVERSAL')
  t.equal(out?.points, -1851)
  t.equal(out?.tier, 'GOLD', 'tier before the reversal')
  t.same(h.balance('g'), { ...h.balance('g'), earned: 51_851, reversed: 1_851, redeemed: 0, available: 50_000, qualifyingPoints: 50_000, tier: 'GOLD', events: 3 })
})

t.test('unknown original → ORIGINAL_NOT_FOUND, nothing changes', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', eventId: 'real', amountCents: 10_000 }))
  h.rewardConfirmed()
  const before = h.balance('m')
  h.reward(reversal('ghost', { memberId: 'm' }))
  h.reward(reversal('real', { memberId: 'someone-else' }), { key: 'someone-else' })
  t.same(h.rewardConfirmed(), [])
  const dlq = h.rewardDlq()
  t.same(dlq.map(d => d.code), ['ORIGINAL_NOT_FOUND', 'ORIGINAL_NOT_FOUND'], "another member's EARN is not found either")
  t.match(dlq[0]?.message, /ghost/)
  t.same(h.balance('m'), before)
  t.equal(h.balance('someone-else'), undefined)
})

t.test('a second reversal of the same EARN → ALREADY_REVERSED', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', eventId: 'e', amountCents: 10_000 }))
  h.reward(reversal('e', { memberId: 'm', eventId: 'rev-1' }))
  h.reward(reversal('e', { memberId: 'm', eventId: 'rev-2' }))
  t.equal(h.rewardConfirmed().length, 2)
  const [dlq] = h.rewardDlq()
  t.equal(dlq?.code, 'ALREADY_REVERSED')
  t.match(dlq?.message, /rev-1/)
  t.equal(h.balance('m')?.available, 0)
  t.equal(h.balance('m')?.reversed, 1000)
})

t.test('a re-sent reversal (same eventId) is a duplicate: no output, no dead letter', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', eventId: 'e', amountCents: 10_000 }))
  const rev = reversal('e', { memberId: 'm', eventId: 'rev-1' })
  h.reward(rev)
  h.reward(rev)
  t.equal(h.rewardConfirmed().length, 2)
  t.same(h.rewardDlq(), [])
  t.equal(h.balance('m')?.events, 2)
})

t.test('a reversal cannot reverse a reversal', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', eventId: 'e', amountCents: 10_000 }))
  h.reward(reversal('e', { memberId: 'm', eventId: 'rev-1' }))
  h.reward(reversal('rev-1', { memberId: 'm', eventId: 'rev-2' }))
  const [dlq] = h.rewardDlq()
  t.equal(dlq?.code, 'ORIGINAL_NOT_FOUND')
  t.match(dlq?.message, /is a REVERSAL, not an EARN/)
})

t.test('a reversal after the points were spent takes available below zero', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', eventId: 'e', amountCents: 10_000 })) // 1000
  h.redeem(redeem({ memberId: 'm', points: 800 }))
  h.reward(reversal('e', { memberId: 'm' }))
  t.same(h.balance('m'), { ...h.balance('m'), earned: 1000, reversed: 1000, redeemed: 800, available: -800, qualifyingPoints: 0 })
  h.redeem(redeem({ memberId: 'm', points: 1 }))
  t.equal(h.redeemConfirmed()[1]?.status, 'REJECTED', 'a negative balance redeems nothing')
})

t.test('a rejected reversal can be retried once its original arrives', async t => {
  const h = harness()
  t.teardown(() => h.close())
  const rev = reversal('late', { memberId: 'm', eventId: 'rev-late' })
  h.reward(rev)
  t.equal(h.rewardDlq()[0]?.code, 'ORIGINAL_NOT_FOUND')
  h.reward(earn({ memberId: 'm', eventId: 'late', amountCents: 10_000 }))
  h.reward(rev)
  t.same(h.rewardConfirmed().map(o => o.points), [1000, -1000], 'a dead-lettered eventId was not recorded as seen')
})
