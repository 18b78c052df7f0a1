// Promotions (rules as data): a multiplier in basis points for a source and/or property in a
// [startsAt, endsAt) window on occurredAt; multiplicative, after the tier, floored once.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { DEFAULT_RULE_SET_URL, parseRuleSet } from '../../../processors/rewards/index.ts'
import { earn, harness } from './harness.ts'

const base = JSON.parse(readFileSync(DEFAULT_RULE_SET_URL, 'utf8')) as Record<string, unknown>
const rules = parseRuleSet({
  ...base,
  version: '2026-1-spring',
  promotions: [
    { id: 'double-dining-march', multiplierBasisPoints: 20_000, sources: ['DINING'], startsAt: '2026-03-01T00:00:00Z', endsAt: '2026-04-01T00:00:00Z' },
    { id: 'bellagio-boost', multiplierBasisPoints: 15_000, propertyIds: ['LV-BELLAGIO'], startsAt: '2026-03-10T00:00:00-08:00', endsAt: '2026-03-20T00:00:00-08:00' },
    { id: 'casino-at-bellagio', multiplierBasisPoints: 13_333, sources: ['CASINO'], propertyIds: ['LV-BELLAGIO'], startsAt: '2026-01-01T00:00:00Z', endsAt: '2027-01-01T00:00:00Z' }
  ]
}, 'spring.json')

t.test('a source promotion applies in its window only, start inclusive, end exclusive', async t => {
  const h = harness({ rules })
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'a', source: 'DINING', amountCents: 10_000, occurredAt: '2026-02-28T23:59:59.999Z' }))
  h.reward(earn({ memberId: 'b', source: 'DINING', amountCents: 10_000, occurredAt: '2026-03-01T00:00:00Z' }))
  h.reward(earn({ memberId: 'c', source: 'DINING', amountCents: 10_000, occurredAt: '2026-03-31T23:59:59.999Z' }))
  h.reward(earn({ memberId: 'd', source: 'DINING', amountCents: 10_000, occurredAt: '2026-04-01T00:00:00Z' }))
  h.reward(earn({ memberId: 'e', source: 'HOTEL', amountCents: 10_000, occurredAt: '2026-03-05T00:00:00Z' }))
  t.same(h.rewardConfirmed().map(o => [o.memberId, o.points]), [['a', 500], ['b', 1000], ['c', 1000], ['d', 500], ['e', 1000]])
})

t.test('the window is compared in absolute time, whatever the offsets', async t => {
  const h = harness({ rules })
  t.teardown(() => h.close())
  // Window starts 2026-03-10T08:00:00Z. 07:59:59Z is outside; 00:00:00-08:00 is the start.
  h.reward(earn({ memberId: 'a', source: 'HOTEL', propertyId: 'LV-BELLAGIO', amountCents: 10_000, occurredAt: '2026-03-10T07:59:59Z' }))
  h.reward(earn({ memberId: 'b', source: 'HOTEL', propertyId: 'LV-BELLAGIO', amountCents: 10_000, occurredAt: '2026-03-10T00:00:00-08:00' }))
  h.reward(earn({ memberId: 'c', source: 'HOTEL', propertyId: 'LV-ARIA', amountCents: 10_000, occurredAt: '2026-03-12T00:00:00Z' }))
  t.same(h.rewardConfirmed().map(o => [o.memberId, o.points]), [['a', 1000], ['b', 1500], ['c', 1000]])
})

t.test('promotions multiply each other and the tier, floored once at the end', async t => {
  const h = harness({ rules })
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'g', amountCents: 500_000, occurredAt: '2026-01-05T00:00:00Z' })) // → GOLD
  h.rewardConfirmed()
  // DINING at LV-BELLAGIO on 2026-03-15: double-dining (×2) and bellagio-boost (×1.5), GOLD ×1.5.
  // 12345 × 5000 × 15000 × 20000 × 15000 / (1e9 × 1e4 × 1e4) = 2777.625 → 2777
  h.reward(earn({ memberId: 'g', source: 'DINING', propertyId: 'LV-BELLAGIO', amountCents: 12_345, occurredAt: '2026-03-15T12:00:00Z' }))
  // CASINO at LV-BELLAGIO on 2026-03-15: bellagio-boost and casino-at-bellagio (×1.3333), GOLD.
  // 12345 × 100 × 15000 × 15000 × 13333 / 1e17 = 37.03 → 37 (flooring after each step: 18, 27, 35)
  h.reward(earn({ memberId: 'g', source: 'CASINO', propertyId: 'LV-BELLAGIO', amountCents: 12_345, occurredAt: '2026-03-15T12:00:00Z' }))
  const outs = h.rewardConfirmed()
  t.same(outs.map(o => o.points), [2777, 37])
  t.ok(outs.every(o => o.ruleVersion === '2026-1-spring'), 'the rule set version is on every output')
})

t.test('a source and property promotion needs both to match', async t => {
  const h = harness({ rules })
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'a', source: 'CASINO', propertyId: 'LV-ARIA', amountCents: 100_000, occurredAt: '2026-06-01T00:00:00Z' }))
  h.reward(earn({ memberId: 'b', source: 'CASINO', propertyId: 'LV-BELLAGIO', amountCents: 100_000, occurredAt: '2026-06-01T00:00:00Z' }))
  h.reward(earn({ memberId: 'c', source: 'HOTEL', propertyId: 'LV-BELLAGIO', amountCents: 100, occurredAt: '2026-06-01T00:00:00Z' }))
  // 100000 × 100 × 10000 / 1e9 = 100; with ×1.3333: 133.33 → 133
  t.same(h.rewardConfirmed().map(o => o.points), [100, 133, 10])
})
