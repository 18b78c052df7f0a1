// A record the topology rejects never moves its clocks (docs/rewards.md, "Event time" and
// "Duplicates and dedupe retention"): a bad record stamped with the producer's wall clock ("now")
// among events months old, whatever its dead-letter code, expires no dedupe entry — a later
// duplicate of an earlier event is still a duplicate, and the purge removes nothing.
import t from 'tap'
import { DEDUPE_CLOCK_KEY } from '../../../processors/rewards/dedupe-clock.ts'
import { REWARDS_STORES } from '../../../processors/rewards/index.ts'
import { earn, harness, redeem, reversal, START_MS, type Harness } from './harness.ts'

const DAY = 86_400_000
const NOW = new Date(START_MS).toISOString() // the driver's wall clock
const monthsAgo = (days: number): string => new Date(START_MS - 200 * DAY + days * DAY).toISOString()

type BadRecord = (h: Harness) => void

const badRecords: Record<string, BadRecord> = {
  MALFORMED_JSON: h => h.reward('{"eventId":"x","memberId":"m","occurredAt":"' + NOW + '"', { key: 'm', timestamp: START_MS }),
  SCHEMA_VIOLATION: h => h.reward(earn({ memberId: 'm', amountCents: -1, occurredAt: NOW }), { timestamp: START_MS }),
  KEY_MISMATCH: h => h.reward(earn({ memberId: 'm', occurredAt: NOW }), { key: 'someone-else', timestamp: START_MS }),
  UNSUPPORTED_CURRENCY: h => h.reward(earn({ memberId: 'm', currency: 'EUR', occurredAt: NOW }), { timestamp: START_MS }),
  // Valid records the handlers reject: they have an event time (the task's stream time moves and
  // the purge punctuation fires), but only accepted events move the dedupe clock.
  ORIGINAL_NOT_FOUND: h => h.reward(reversal('never-earned', { memberId: 'm', occurredAt: NOW }), { timestamp: START_MS }),
  'SCHEMA_VIOLATION (redemption)': h => h.redeem(redeem({ memberId: 'm', points: 0, requestedAt: NOW }), { timestamp: START_MS })
}

for (const [code, sendBad] of Object.entries(badRecords)) {
  t.test(`${code} stamped now among events months old expires nothing`, async t => {
    const h = harness({ purgeIntervalMs: 1 }) // a purge is due at every step of stream time
    t.teardown(() => h.close())
    h.reward(earn({ memberId: 'm', eventId: 'old-1', occurredAt: monthsAgo(0) }))
    h.redeem(redeem({ memberId: 'm', redemptionId: 'old-r', points: 1, requestedAt: monthsAgo(0) }))
    h.reward(earn({ memberId: 'm', eventId: 'old-2', occurredAt: monthsAgo(1) }))
    const clockBefore = h.driver.getKeyValueStore<string, string>(REWARDS_STORES.dedupeExpiry).get(DEDUPE_CLOCK_KEY)

    sendBad(h)
    const dead = [...h.rewardDlq(), ...h.redeemDlq()]
    t.equal(dead.length, 1, 'the bad record is dead-lettered')
    t.equal(dead[0]?.code, code.split(' ')[0])

    h.reward(earn({ memberId: 'm', eventId: 'old-3', occurredAt: monthsAgo(2) })) // the clock moves on a little
    h.reward(earn({ memberId: 'm', eventId: 'old-1', occurredAt: monthsAgo(0) })) // duplicates of events before the bad one
    h.redeem(redeem({ memberId: 'm', redemptionId: 'old-r', points: 1, requestedAt: monthsAgo(0) }))
    t.same(h.rewardConfirmed().map(c => c.eventId), ['old-1', 'old-2', 'old-3'], 'each reward event confirmed once')
    t.equal(h.redeemConfirmed().length, 1, 'the redemption decided once')
    t.equal(h.storeSize(REWARDS_STORES.eventDedupe), 3, 'no dedupe entry purged')
    t.equal(h.storeSize(REWARDS_STORES.redemptionDedupe), 1)
    t.equal(clockBefore, String(Date.parse(monthsAgo(1))), 'the dedupe clock is the newest accepted event time')
    t.equal(h.driver.getKeyValueStore<string, string>(REWARDS_STORES.dedupeExpiry).get(DEDUPE_CLOCK_KEY), String(Date.parse(monthsAgo(2))), 'the bad record did not move it')
  })
}

t.test('the dead-letter copy of a record without event time keeps its own timestamp', async t => {
  const h = harness()
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm', occurredAt: monthsAgo(0) }))
  h.reward('not json', { key: 'm', timestamp: START_MS - 5 })
  const [copy] = h.driver.createOutputTopic('reward-events-dlq', { serialize: () => Buffer.alloc(0), deserialize: (b: Buffer) => b.toString() }, { serialize: () => Buffer.alloc(0), deserialize: (b: Buffer) => b.toString() }).readRecordsToList()
  t.equal(copy?.timestamp, START_MS - 5)
})
