// The chaos suite's reference model against the contract's own examples (docs/rewards.md:
// earning rules, balances, redemptions), so that a disagreement in a chaos run points at the platform, not at the model.
import t from 'tap'
import { buildModel, tierOf, type InputRecord } from './reference-model.ts'
import { earn, malformed, negativeEarn, redemption, reversal, underKey } from './traffic-records.ts'

let offset = 0
const at = (iso: string): number => Date.parse(iso)
const input = (r: { key: string, value: Buffer }): InputRecord => ({ partition: 0, offset: offset++, key: r.key, value: r.value })

t.test('points, tiers before the event, reversals and dead-letter codes', async t => {
  const m = 'M-1'
  const rewards = [
    earn(m, 'e1', 'HOTEL', 100_000, at('2026-03-01T10:00:00Z')), // $1000: 10 000 points; MEMBER before, SILVER after
    earn(m, 'e2', 'HOTEL', 12_345, at('2026-03-01T11:00:00Z')), // SILVER: floor(12345 × 10000 × 12500 / 10^9) = 1543
    earn(m, 'e1', 'HOTEL', 100_000, at('2026-03-01T10:00:00Z')), // duplicate
    reversal(m, 'r1', 'e2', 'HOTEL', at('2026-03-01T12:00:00Z')),
    reversal(m, 'r2', 'e2', 'HOTEL', at('2026-03-01T12:30:00Z')), // ALREADY_REVERSED
    reversal(m, 'r3', 'nope', 'HOTEL', at('2026-03-01T12:40:00Z')), // ORIGINAL_NOT_FOUND
    reversal(m, 'r4', 'r1', 'HOTEL', at('2026-03-01T12:50:00Z')), // a REVERSAL is no original
    malformed('reward', m, 'x', at('2026-03-01T13:00:00Z')),
    earn(m, 'eur', 'DINING', 5000, at('2026-03-01T13:10:00Z'), 'EUR'),
    underKey(earn(m, 'km', 'DINING', 5000, at('2026-03-01T13:20:00Z')), 'M-2'),
    negativeEarn(m, 'neg', at('2026-03-01T13:30:00Z')),
    earn(m, 'c1', 'CASINO', 99_999, at('2026-03-01T14:00:00Z')), // SILVER: floor(99999 × 100 × 12500 / 10^9) = 124
    earn('G-1', 'g1', 'HOTEL', 500_000, at('2026-03-01T10:00:00Z')), // 50 000 points: GOLD after
    earn('G-1', 'g2', 'HOTEL', 12_345, at('2026-03-01T11:00:00Z')) // the spec's example: 1851 at GOLD
  ].map(input)
  const model = buildModel(rewards, [])
  const c = (id: string): unknown => model.confirmations.get(`${m}:${id}`)
  t.match(c('e1'), { points: 10_000, tier: 'MEMBER', earned: 10_000, events: 1 })
  t.match(c('e2'), { points: 1543, tier: 'SILVER', earned: 11_543, events: 2 })
  t.match(c('r1'), { type: 'REVERSAL', points: -1543, tier: 'SILVER', earned: 11_543, reversed: 1543, events: 3 })
  t.match(c('c1'), { points: 124, tier: 'SILVER', events: 4 })
  t.match(model.confirmations.get('G-1:g2'), { points: 1851, tier: 'GOLD', earned: 51_851 })
  t.equal(model.duplicates, 1, 'the repeated e1 counts once')
  t.same([...model.deadLetters.values()], ['ALREADY_REVERSED', 'ORIGINAL_NOT_FOUND', 'ORIGINAL_NOT_FOUND', 'MALFORMED_JSON', 'UNSUPPORTED_CURRENCY', 'KEY_MISMATCH', 'SCHEMA_VIOLATION'])
  t.same([9_999, 10_000, 49_999, 50_000, 150_000].map(q => tierOf(q).name), ['MEMBER', 'SILVER', 'SILVER', 'GOLD', 'PLATINUM'])
})

t.test('redemptions: one decision each, duplicates and bad requests apart, strangers kept', async t => {
  const rewards = [input(earn('M-1', 'e1', 'HOTEL', 100_000, at('2026-03-01T10:00:00Z')))]
  const redeems = [
    redemption('M-1', 'x1', 500, at('2026-03-01T11:00:00Z')),
    redemption('M-1', 'x1', 500, at('2026-03-01T11:00:00Z')),
    redemption('M-1', 'x0', 0, at('2026-03-01T11:10:00Z')),
    redemption('M-9', 'x9', 100, at('2026-03-01T11:20:00Z'))
  ].map(input)
  const model = buildModel(rewards, redeems)
  t.same([...model.redemptions.keys()], ['M-1:x1', 'M-9:x9'])
  t.same([...model.deadLetters.values()], ['SCHEMA_VIOLATION'])
  t.same(model.members.get('M-9')?.history, [{ earned: 0, reversed: 0, events: 0 }], 'a stranger has no reward history: REJECTED on zeros, no balance')
  t.same(model.members.get('M-1')?.history.map(h => h.earned), [0, 10_000])
})
