// docs/contract.md "Balances and redemptions": a duplicate eventId / redemptionId has no second effect and no second output.
import t from 'tap'
import { earn, harness, redeem } from './harness.ts'

t.test('duplicate eventId: counted once', async t => {
  const h = harness()
  t.teardown(() => h.close())
  const e = earn({ memberId: 'm', eventId: 'pos-77', amountCents: 10_000 })
  h.reward(e)
  h.reward(e)
  h.reward({ ...e, amountCents: 99_999 }) // same id, other content: still the same event
  t.equal(h.rewardConfirmed().length, 1)
  t.same(h.rewardDlq(), [])
  t.same(h.balance('m'), { ...h.balance('m'), earned: 1000, available: 1000, events: 1 })
  t.equal(h.activity('m').length, 1)
})

t.test('the same eventId for two members is two events (ids are per member)', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'a', eventId: 'x' }))
  h.reward(earn({ memberId: 'b', eventId: 'x' }))
  t.equal(h.rewardConfirmed().length, 2)
})

t.test('duplicate redemptionId: one decision, one output, one debit', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', amountCents: 10_000 })) // 1000
  const r = redeem({ memberId: 'm', redemptionId: 'req-1', points: 600 })
  h.redeem(r)
  h.redeem(r)
  h.redeem({ ...r, points: 1 })
  const outs = h.redeemConfirmed()
  t.equal(outs.length, 1)
  t.equal(outs[0]?.status, 'CONFIRMED')
  t.equal(h.balance('m')?.redeemed, 600)
  t.equal(h.balance('m')?.available, 400)
})

t.test('a rejected redemption re-sent after the member earned stays rejected (same id, one decision)', async t => {
  const h = harness()
  t.teardown(() => h.close())
  const r = redeem({ memberId: 'm', redemptionId: 'req-1', points: 600 })
  h.redeem(r)
  h.reward(earn({ memberId: 'm', amountCents: 10_000 }))
  h.redeem(r)
  const outs = h.redeemConfirmed()
  t.same(outs.map(o => o.status), ['REJECTED'])
  t.equal(h.balance('m')?.redeemed, 0)
})
