// Rule sets are data: the default file is docs/contract.md "Earning rules" exactly, and a bad file fails loading with an
// error naming the bad field.
import t, { type Test } from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isRewardsError } from '../../../lib/errors.ts'
import { defaultRuleSet, earnPoints, loadRuleSet, parseRuleSet, tierFor } from '../../../processors/rewards/index.ts'

const good = {
  version: 'test-1',
  baseRates: { HOTEL: 10000, DINING: 5000, CASINO: 100 },
  tiers: [
    { name: 'MEMBER', minQualifyingPoints: 0, multiplierBasisPoints: 10000 },
    { name: 'SILVER', minQualifyingPoints: 10000, multiplierBasisPoints: 12500 }
  ],
  promotions: [] as unknown[]
}

t.test('the default rule set is 2026-1 of docs/contract.md "Earning rules"', async t => {
  const rules = defaultRuleSet()
  t.equal(rules.version, '2026-1')
  t.same(rules.baseRates, { HOTEL: 10000, DINING: 5000, CASINO: 100 })
  t.same(rules.tiers.map(x => [x.name, x.minQualifyingPoints, x.multiplierBasisPoints]), [
    ['MEMBER', 0, 10000], ['SILVER', 10000, 12500], ['GOLD', 50000, 15000], ['PLATINUM', 150000, 20000]
  ])
  t.same(rules.promotions, [])
  t.equal(earnPoints(rules, { source: 'HOTEL', propertyId: 'p', amountCents: 12345, occurredAtMs: 0 }, tierFor(rules, 50_000)).points, 1851n)
  t.ok(Object.isFrozen(rules) && Object.isFrozen(rules.tiers))
})

function rejects (t: Test, json: unknown, field: string, message: RegExp): void {
  try {
    parseRuleSet(json, 'bad.json')
    t.fail(`accepted a rule set with a bad ${field}`)
  } catch (error) {
    t.ok(isRewardsError(error, 'CONFIG_INVALID'), 'CONFIG_INVALID')
    t.match((error as Error).message, /^rule set bad\.json: /)
    t.match((error as Error).message, message)
    t.equal((error as { details?: { field?: string } }).details?.field, field)
  }
}

t.test('a bad rule set names the bad field', async t => {
  rejects(t, { ...good, version: 'has spaces' }, 'version', /version must match pattern/)
  rejects(t, { ...good, baseRates: { HOTEL: 1, DINING: 1 } }, 'baseRates', /baseRates: missing required field CASINO/)
  rejects(t, { ...good, baseRates: { ...good.baseRates, CASINO: 1.5 } }, 'baseRates.CASINO', /baseRates\.CASINO must be integer/)
  rejects(t, { ...good, baseRates: { ...good.baseRates, SPA: 1 } }, 'baseRates', /unknown field SPA/)
  rejects(t, { ...good, tiers: [] }, 'tiers', /tiers must not have fewer than 1 items/)
  rejects(t, { ...good, tiers: [{ ...good.tiers[0], multiplierBasisPoints: 0 }] }, 'tiers.0.multiplierBasisPoints', /multiplierBasisPoints must be >= 1/)
  rejects(t, { ...good, tiers: [{ ...good.tiers[0], minQualifyingPoints: 5 }] }, 'tiers.0.minQualifyingPoints', /must be 0/)
  rejects(t, { ...good, tiers: [good.tiers[1], good.tiers[0]] }, 'tiers.0.minQualifyingPoints', /must be 0/)
  rejects(t, { ...good, tiers: [good.tiers[0], { ...good.tiers[1], minQualifyingPoints: 0 }] }, 'tiers.1.minQualifyingPoints', /greater than the previous/)
  rejects(t, { ...good, tiers: [good.tiers[0], { ...good.tiers[1], name: 'MEMBER' }] }, 'tiers.1.name', /repeats tier MEMBER/)
  const promo = { id: 'p', multiplierBasisPoints: 20000, startsAt: '2026-01-01T00:00:00Z', endsAt: '2026-02-01T00:00:00Z' }
  rejects(t, { ...good, promotions: [{ ...promo, endsAt: promo.startsAt }] }, 'promotions.0.endsAt', /must be after startsAt/)
  rejects(t, { ...good, promotions: [{ ...promo, startsAt: 'soon' }] }, 'promotions.0.startsAt', /RFC 3339/)
  rejects(t, { ...good, promotions: [{ ...promo, sources: ['SPA'] }] }, 'promotions.0.sources.0', /must be one of HOTEL, CASINO, DINING/)
  rejects(t, { ...good, promotions: [promo, promo] }, 'promotions.1.id', /repeats promotion p/)
  rejects(t, { ...good, promotions: [{ ...promo, multiplier: 2 }] }, 'promotions.0', /unknown field multiplier/)
})

t.test('loadRuleSet reads a file and reports unreadable or non-JSON files', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'rules-'))
  writeFileSync(join(dir, 'ok.json'), JSON.stringify(good))
  writeFileSync(join(dir, 'broken.json'), '{ "version": ')
  t.equal(loadRuleSet(join(dir, 'ok.json')).version, 'test-1')
  t.throws(() => loadRuleSet(join(dir, 'broken.json')), /broken\.json: not valid JSON/)
  t.throws(() => loadRuleSet(join(dir, 'missing.json')), /missing\.json: cannot be read/)
})

t.test('tierFor picks the highest tier whose threshold is reached', async t => {
  const rules = defaultRuleSet()
  t.same([0, 9_999, 10_000, 49_999, 50_000, 149_999, 150_000, 10 ** 12].map(q => tierFor(rules, q).name),
    ['MEMBER', 'MEMBER', 'SILVER', 'SILVER', 'GOLD', 'GOLD', 'PLATINUM', 'PLATINUM'])
})
