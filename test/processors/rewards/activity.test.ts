// The activity store: a member's accepted reward events and redemption decisions, newest first,
// bounded per member, for GET /v1/members/{id}/activity.
import t from 'tap'
import { activityHeadKey, activityKey, REWARDS_STORES, type ActivityEntry, type ActivityStoreValue } from '../../../processors/rewards/index.ts'
import { earn, harness, redeem, reversal } from './harness.ts'

t.test('newest first, with kind, ids, points and available after', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', eventId: 'a', amountCents: 10_000 }))
  h.redeem(redeem({ memberId: 'm', redemptionId: 'r1', points: 400 }))
  h.reward(reversal('a', { memberId: 'm', eventId: 'rev-a' }))
  h.redeem(redeem({ memberId: 'm', redemptionId: 'r2', points: 1 }))
  h.reward('garbage', { key: 'm' })
  h.reward(earn({ memberId: 'someone-else' }))
  const entries = h.activity('m')
  t.same(entries.map(e => [e.seq, e.kind, e.kind === 'REWARD' ? e.eventId : e.redemptionId, e.points, e.available]), [
    [4, 'REDEMPTION', 'r2', 1, -400],
    [3, 'REWARD', 'rev-a', -1000, -400],
    [2, 'REDEMPTION', 'r1', 400, 600],
    [1, 'REWARD', 'a', 1000, 1000]
  ])
  t.equal((entries[0] as Extract<ActivityEntry, { kind: 'REDEMPTION' }>).status, 'REJECTED')
  t.notOk('balance' in entries[0]!, 'entries carry no full balance')
})

t.test('bounded per member: the oldest entry goes when the limit is reached', async t => {
  const h = harness({ activityLimitPerMember: 3 })
  t.teardown(() => h.close())
  for (let i = 1; i <= 7; i++) h.reward(earn({ memberId: 'm', eventId: `e${i}` }))
  t.same(h.activity('m').map(e => e.kind === 'REWARD' ? e.eventId : ''), ['e7', 'e6', 'e5'])
  t.equal(h.storeSize(REWARDS_STORES.activity), 3 + 1, 'three entries and the head')
})

t.test('keys page with a range from the last key seen', async t => {
  const h = harness()
  t.teardown(() => h.close())
  for (let i = 1; i <= 5; i++) h.reward(earn({ memberId: 'm', eventId: `e${i}` }))
  const store = h.driver.getKeyValueStore<string, ActivityEntry>(REWARDS_STORES.activity)
  const page1 = store.prefixScan('m:', { limit: 2 })
  t.same(page1.map(kv => kv.value.seq), [5, 4])
  t.equal(page1[1]?.key, activityKey('m', 4))
  const page2 = store.range(activityKey('m', 3), activityKey('m', 1), { limit: 2 })
  t.same(page2.map(kv => kv.value.seq), [3, 2])
})

t.test('the head sits under !memberId, before every member, outside the member scans', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', eventId: 'a' }))
  h.reward(earn({ memberId: 'm', eventId: 'b' }))
  const store = h.driver.getKeyValueStore<string, ActivityStoreValue>(REWARDS_STORES.activity)
  t.same(store.get(activityHeadKey('m')), { seq: 2 })
  t.equal(store.get('m'), undefined, 'nothing under the bare member id')
  t.same(store.range(undefined, undefined, { limit: 1 }).map(kv => kv.key), ['!m'], 'heads sort first')
  t.same(store.prefixScan('m:').map(kv => kv.key), [activityKey('m', 2), activityKey('m', 1)])
})

t.test('a head under the bare member id (earlier versions) is continued and moved', async t => {
  const h = harness()
  t.teardown(() => h.close())
  const store = h.driver.getKeyValueStore<string, ActivityStoreValue>(REWARDS_STORES.activity)
  h.reward(earn({ memberId: 'm', eventId: 'a' }))
  // As an earlier version left it: its head under the bare id, seq 7.
  store.delete(activityHeadKey('m'))
  store.put('m', { seq: 7 })
  h.reward(earn({ memberId: 'm', eventId: 'b' }))
  t.same(h.activity('m').map(e => e.seq), [8, 1], 'seq continues from the old head')
  t.same(store.get(activityHeadKey('m')), { seq: 8 })
  t.equal(store.get('m'), undefined, 'the old head is gone')
})
