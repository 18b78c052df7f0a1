// Dedupe retention: entries live for dedupeRetentionMs of stream time (event time), are treated
// as absent once expired, and a bounded STREAM_TIME punctuation purges them.
import t from 'tap'
import { parseRedemptionIndexKey, redemptionIndexKey, REWARDS_STORES } from '../../../processors/rewards/index.ts'
import { earn, harness, redeem, reversal, type Harness } from './harness.ts'

const HOUR = 3_600_000
/** Time keys of dedupe-expiry (the store also holds the dedupe clock, under `clock`). */
const indexEntries = (h: Harness): number =>
  h.driver.getKeyValueStore<string, string>(REWARDS_STORES.dedupeExpiry).range(undefined, undefined, { limit: 1_000_000 }).filter(kv => /^\d{15}:/.test(kv.key)).length
const at = (hours: number): string => new Date(Date.parse('2026-03-01T00:00:00Z') + hours * HOUR).toISOString()

t.test('a duplicate within the retention is ignored; after it, the id is new again', async t => {
  const h = harness({ dedupeRetentionMs: 24 * HOUR, purgeIntervalMs: HOUR })
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', eventId: 'e', occurredAt: at(0) }))
  h.reward(earn({ memberId: 'other', occurredAt: at(23) })) // stream time +23h
  h.reward(earn({ memberId: 'm', eventId: 'e', occurredAt: at(0) }))
  t.equal(h.rewardConfirmed().length, 2, 'duplicate at +23h ignored')
  h.reward(earn({ memberId: 'other', occurredAt: at(24) })) // stream time +24h: entry of e expires
  h.reward(earn({ memberId: 'm', eventId: 'e', occurredAt: at(0) }))
  t.equal(h.rewardConfirmed().length, 2, 'accepted again once expired (documented)')
})

t.test('reversals must arrive within the retention', async t => {
  const h = harness({ dedupeRetentionMs: 24 * HOUR })
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', eventId: 'e', occurredAt: at(0) }))
  h.reward(earn({ memberId: 'other', occurredAt: at(30) }))
  h.reward(reversal('e', { memberId: 'm', occurredAt: at(30) }))
  const [d] = h.rewardDlq()
  t.equal(d?.code, 'ORIGINAL_NOT_FOUND')
  t.match(d?.message, /retention/)
})

t.test('the purge deletes expired entries and their index, and keeps live ones', async t => {
  const h = harness({ dedupeRetentionMs: 24 * HOUR, purgeIntervalMs: HOUR })
  t.teardown(() => h.close())
  for (let i = 0; i < 50; i++) h.reward(earn({ memberId: `m${i % 5}`, occurredAt: at(i / 10) }))
  for (let i = 0; i < 10; i++) h.redeem(redeem({ memberId: `m${i % 5}`, points: 1, requestedAt: at(i / 10) }))
  t.equal(h.storeSize(REWARDS_STORES.eventDedupe), 50)
  t.equal(h.storeSize(REWARDS_STORES.redemptionDedupe), 10)
  t.equal(h.storeSize(REWARDS_STORES.redemptionIndex), 10, 'each redemption indexed by its id')
  t.equal(indexEntries(h), 60)
  // Stream time moves to +48h: everything above expired, the new events are live.
  h.reward(earn({ memberId: 'late', occurredAt: at(48) }))
  h.reward(earn({ memberId: 'late', occurredAt: at(48.5) }))
  h.reward(earn({ memberId: 'late', occurredAt: at(50) })) // a punctuation is due by now
  t.equal(h.storeSize(REWARDS_STORES.eventDedupe), 3)
  t.equal(h.storeSize(REWARDS_STORES.redemptionDedupe), 0)
  t.equal(h.storeSize(REWARDS_STORES.redemptionIndex), 0, 'the id index is purged with its decision')
  t.equal(indexEntries(h), 3)
  t.ok(h.balance('m0'), 'balances are never purged')
})

t.test('one purge does bounded work; later ones finish the job', async t => {
  const h = harness({ dedupeRetentionMs: HOUR, purgeIntervalMs: 1, maxPurgePerPunctuation: 7 })
  t.teardown(() => h.close())
  for (let i = 0; i < 30; i++) h.reward(earn({ memberId: 'm', occurredAt: at(0) }))
  h.reward(earn({ memberId: 'n', occurredAt: at(2) }))
  t.equal(indexEntries(h), 31 - 7, 'one punctuation removed 7')
  for (let i = 1; i <= 4; i++) h.reward(earn({ memberId: 'n', occurredAt: new Date(Date.parse(at(2)) + i).toISOString() }))
  t.equal(h.storeSize(REWARDS_STORES.eventDedupe), 5)
})

t.test('an entry re-recorded after expiry is not removed by its old index entry', async t => {
  const h = harness({ dedupeRetentionMs: 10 * HOUR, purgeIntervalMs: 25 * HOUR })
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', eventId: 'e', occurredAt: at(0) })) // first purge due at +25h
  h.reward(earn({ memberId: 'x', occurredAt: at(20) }))
  h.reward(earn({ memberId: 'm', eventId: 'e', occurredAt: at(20) })) // expired → accepted again, seen at +20h
  t.equal(h.rewardConfirmed().length, 3)
  h.reward(earn({ memberId: 'y', occurredAt: at(26) })) // purge: cutoff +16h removes the +0h index entry
  t.equal(indexEntries(h), 3, 'old index entry of e gone')
  h.reward(earn({ memberId: 'm', eventId: 'e', occurredAt: at(27) }))
  t.equal(h.rewardConfirmed().length, 1, 'e is still a duplicate: its +20h entry survived the purge')
})

t.test('a far-future event time does not expire every dedupe entry', async t => {
  // Wall clock of the driver: START_MS (2026-04-01); the dedupe clock is capped at wall clock + 1 day.
  const h = harness({ dedupeRetentionMs: 30 * 24 * HOUR, purgeIntervalMs: HOUR })
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', eventId: 'e', occurredAt: '2026-03-20T00:00:00Z' }))
  h.reward(earn({ memberId: 'typo', occurredAt: '2099-03-20T00:00:00Z' })) // a broken property clock
  h.reward(earn({ memberId: 'm', eventId: 'e', occurredAt: '2026-03-20T00:00:00Z' }))
  t.equal(h.rewardConfirmed().length, 2, 'still a duplicate')
  t.equal(h.storeSize(REWARDS_STORES.eventDedupe), 2, 'nothing purged')
  h.driver.advanceWallClockTime(31 * 24 * HOUR) // a month later, the entry of e expires
  h.reward(earn({ memberId: 'x', occurredAt: '2026-05-03T00:00:00Z' }))
  h.reward(earn({ memberId: 'm', eventId: 'e', occurredAt: '2026-03-20T00:00:00Z' }))
  t.equal(h.rewardConfirmed().length, 2, 'expired after the retention of real time')
})

t.test('the redemption index maps an id (even one with colons) to its member; a duplicate adds nothing', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm-1', occurredAt: at(0) }))
  h.redeem(redeem({ memberId: 'm-1', redemptionId: 'r:1:x', points: 1, requestedAt: at(1) }))
  h.redeem(redeem({ memberId: 'm-1', redemptionId: 'r:1:x', points: 1, requestedAt: at(1) }))
  const keys = h.driver.getKeyValueStore<string, string>(REWARDS_STORES.redemptionIndex).prefixScan('r:1:x:', { limit: 10 }).map(kv => kv.key)
  t.same(keys, [redemptionIndexKey('r:1:x', 'm-1')])
  t.same(parseRedemptionIndexKey(keys[0]!), { redemptionId: 'r:1:x', memberId: 'm-1' })
  t.equal(parseRedemptionIndexKey('no-colon'), undefined)
})
