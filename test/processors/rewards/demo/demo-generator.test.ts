// The demo load generator: deterministic for a seed, a realistic mix, and its stream through the
// topology (TopologyTestDriver) agrees with the reference model.
import t from 'tap'
import { DemoGenerator, demoRecords } from '../../../../processors/rewards/demo/demo-generator.ts'
import { harness } from '../harness.ts'
import { canonical, ReferenceModel } from '../reference-model.ts'

t.test('the same seed gives the same records; another seed does not', async t => {
  const a = demoRecords({ seed: 7, members: 50, count: 2000 })
  const b = demoRecords({ seed: 7, members: 50, count: 2000 })
  const c = demoRecords({ seed: 8, members: 50, count: 2000 })
  // (JSON text: tap's deep compare is slow on thousands of records.)
  t.equal(JSON.stringify(a), JSON.stringify(b))
  t.not(JSON.stringify(a), JSON.stringify(c))
})

t.test('a realistic mix: every source, reversals, redemptions, duplicates, each kind of bad record', async t => {
  const model = new ReferenceModel()
  const counts = new Map<string, number>()
  const bump = (k: string): void => { counts.set(k, (counts.get(k) ?? 0) + 1) }
  const generator = new DemoGenerator({ seed: 1, members: 2000, badRecordRate: 0.02 })
  let lastTimestamp = 0
  let monotonic = true
  const seen = new Set<string>()
  for (const r of generator.take(20_000)) {
    const resent = seen.has(r.value)
    seen.add(r.value)
    const o = model.apply({ topic: r.topic as 'reward-events', key: r.key, value: r.value })
    if (o.kind === 'reward') bump(o.type === 'EARN' ? `EARN-${(JSON.parse(r.value) as { source: string }).source}` : 'REVERSAL')
    else if (o.kind === 'redeem') bump(`redeem-${o.status}`)
    else if (o.kind === 'dlq') bump(o.code)
    else bump('duplicate')
    if (!resent && r.timestamp <= lastTimestamp) monotonic = false
    if (!resent) lastTimestamp = r.timestamp
  }
  t.equal(generator.count, 20_000)
  for (const kind of ['EARN-HOTEL', 'EARN-CASINO', 'EARN-DINING', 'REVERSAL', 'redeem-CONFIRMED', 'redeem-REJECTED', 'duplicate',
    'MALFORMED_JSON', 'SCHEMA_VIOLATION', 'KEY_MISMATCH', 'UNSUPPORTED_CURRENCY', 'ORIGINAL_NOT_FOUND']) {
    t.ok((counts.get(kind) ?? 0) > 0, `${kind}: ${counts.get(kind) ?? 0}`)
  }
  t.ok((counts.get('redeem-CONFIRMED') ?? 0) > (counts.get('redeem-REJECTED') ?? 0), 'most redemptions are affordable')
  t.ok(monotonic, 'event time increases (re-sends aside)')
  const tiers = new Set([...model.balances.values()].map(b => b.tier))
  t.same([...tiers].sort(), ['GOLD', 'MEMBER', 'PLATINUM', 'SILVER'], 'members in every tier')
})

t.test('the demo stream through the topology matches the reference model', async t => {
  const h = harness({}, { partitions: 3 })
  t.teardown(() => h.close())
  const model = new ReferenceModel()
  const records = demoRecords({ seed: 42, members: 200, count: 5000, badRecordRate: 0.01 })
  for (const r of records) {
    model.apply({ topic: r.topic as 'reward-events', key: r.key, value: r.value })
    if (r.topic === 'reward-events') h.reward(r.value, { key: r.key, timestamp: r.timestamp })
    else h.redeem(r.value, { key: r.key, timestamp: r.timestamp })
  }
  const expected = model.outcomes
  t.equal(h.rewardConfirmed().length, expected.filter(o => o.kind === 'reward').length)
  t.equal(h.redeemConfirmed().length, expected.filter(o => o.kind === 'redeem').length)
  t.equal(h.rewardDlq().length + h.redeemDlq().length, expected.filter(o => o.kind === 'dlq').length)
  let mismatches = 0
  for (const [memberId, wanted] of model.balances) {
    let actual
    for (let p = 0; p < 3 && actual === undefined; p++) actual = h.driver.getKeyValueStore<string, typeof wanted>('balances', p).get(memberId)
    if (actual === undefined || canonical(actual) !== canonical(wanted)) mismatches++
  }
  t.equal(mismatches, 0, `${model.balances.size} balances equal`)
})
