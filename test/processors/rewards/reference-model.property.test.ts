// Property: for random histories (earns, reversals of known / unknown / already reversed
// originals, exact re-sends, redemptions of exactly the balance, of more, malformed and invalid
// records) the topology on the TopologyTestDriver produces what the independent reference model
// says: every balance, every confirmation, every dead-letter code. And `available` never goes
// negative through a redemption.
import t from 'tap'
import fc from 'fast-check'
import { partitionForKey } from '../../../log/murmur2-partitioner.ts'
import { REWARDS_STORES, type Balance } from '../../../processors/rewards/index.ts'
import { harness } from './harness.ts'
import { canonical, redeemSummary, ReferenceModel, rewardSummary, type ModelInput } from './reference-model.ts'

const MEMBERS = ['alice', 'bob', 'carol-7', 'D_4']
const SOURCES = ['HOTEL', 'CASINO', 'DINING'] as const
const CORRUPTIONS = ['json', 'null', 'key', 'no-key', 'currency', 'negative', 'source', 'time', 'extra-field', 'missing-field', 'member-pattern', 'array', 'control-char', 'lone-surrogate', 'before-epoch'] as const

type Action =
  | { t: 'earn', m: number, source: number, amountCents: number, id: number }
  | { t: 'reversal', m: number, target: number, id: number }
  | { t: 'redeem', m: number, kind: 'small' | 'large' | 'exact' | 'over-by-one', id: number }
  | { t: 'resend', pick: number }
  | { t: 'bad', m: number, topic: 'reward-events' | 'redeem-events', corruption: typeof CORRUPTIONS[number] }

const amount = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 50_000 }) },
  { weight: 3, arbitrary: fc.integer({ min: 50_000, max: 2_000_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 9, 10, 99_990, 100_000, 1_000_000_000_000) }
)

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant('earn' as const), m: fc.nat(MEMBERS.length - 1), source: fc.nat(2), amountCents: amount, id: fc.nat(40) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('reversal' as const), m: fc.nat(MEMBERS.length - 1), target: fc.nat(1000), id: fc.nat(20) }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('redeem' as const), m: fc.nat(MEMBERS.length - 1), kind: fc.constantFrom('small' as const, 'large' as const, 'exact' as const, 'over-by-one' as const), id: fc.nat(30) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('resend' as const), pick: fc.nat(1000) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('bad' as const), m: fc.nat(MEMBERS.length - 1), topic: fc.constantFrom('reward-events' as const, 'redeem-events' as const), corruption: fc.constantFrom(...CORRUPTIONS) }) }
)

function corrupt (record: Record<string, unknown>, key: string, corruption: typeof CORRUPTIONS[number]): { key: string | null, value: string | null } {
  switch (corruption) {
    case 'json': return { key, value: JSON.stringify(record).slice(0, -3) }
    case 'null': return { key, value: null }
    case 'key': return { key: key + 'x', value: JSON.stringify(record) }
    case 'no-key': return { key: null, value: JSON.stringify(record) }
    case 'currency': return { key, value: JSON.stringify('currency' in record ? { ...record, currency: 'GBP' } : { ...record, points: -1 }) }
    case 'negative': return { key, value: JSON.stringify('amountCents' in record ? { ...record, amountCents: -1 } : { ...record, points: 0 }) }
    case 'source': return { key, value: JSON.stringify('source' in record ? { ...record, source: 'GOLF' } : { ...record, channel: 'GOLF' }) }
    case 'time': return { key, value: JSON.stringify('occurredAt' in record ? { ...record, occurredAt: '2026-02-30T10:00:00Z' } : { ...record, requestedAt: '2026-03-01T10:00' }) }
    case 'extra-field': return { key, value: JSON.stringify({ ...record, note: 'hi' }) }
    case 'missing-field': { const { memberId: _m, ...rest } = record; return { key, value: JSON.stringify(rest) } }
    case 'member-pattern': return { key: 'bad member', value: JSON.stringify({ ...record, memberId: 'bad member' }) }
    case 'array': return { key, value: JSON.stringify([record]) }
    // Text that cannot be stored or shown safely, and a time Kafka cannot carry (docs/rewards.md).
    case 'control-char': return { key, value: JSON.stringify('eventId' in record ? { ...record, propertyId: 'P\u0000' } : { ...record, rewardCode: 'R\u001b[2J' }) }
    case 'lone-surrogate': return { key, value: JSON.stringify('eventId' in record ? { ...record, eventId: 'x\ud800y' } : { ...record, redemptionId: 'x\udfffy' }) }
    case 'before-epoch': return { key, value: JSON.stringify('occurredAt' in record ? { ...record, occurredAt: '1969-12-31T23:59:59Z' } : { ...record, requestedAt: '1970-01-01T00:30:00+01:00' }) }
  }
}

/** Turns actions into input records. Redemption sizes read the model's balance at that point
 *  (exactly the balance, one more), so the model is run alongside to build the history. */
function buildHistory (actions: Action[]): { inputs: ModelInput[], model: ReferenceModel } {
  const model = new ReferenceModel()
  const inputs: ModelInput[] = []
  const earns: Array<{ memberId: string, eventId: string }> = []
  const base = Date.parse('2026-03-01T00:00:00Z')
  actions.forEach((a, i) => {
    const at = new Date(base + i * 60_000).toISOString()
    let input: ModelInput
    switch (a.t) {
      case 'earn': {
        const memberId = MEMBERS[a.m]!
        const eventId = `e-${a.id}`
        earns.push({ memberId, eventId })
        input = { topic: 'reward-events', key: memberId, value: JSON.stringify({ eventId, memberId, source: SOURCES[a.source], type: 'EARN', amountCents: a.amountCents, currency: 'USD', occurredAt: at, propertyId: 'P1' }) }
        break
      }
      case 'reversal': {
        // A reversal of an earlier EARN (maybe another member's: not found for this one), or of nothing.
        const target = earns.length > 0 && a.target % 5 !== 0 ? earns[a.target % earns.length]! : { memberId: MEMBERS[a.m]!, eventId: `never-${a.target}` }
        const memberId = a.target % 7 === 0 ? MEMBERS[a.m]! : target.memberId
        input = { topic: 'reward-events', key: memberId, value: JSON.stringify({ eventId: `rev-${a.id}`, memberId, source: 'HOTEL', type: 'REVERSAL', amountCents: 123, currency: 'USD', occurredAt: at, propertyId: 'P1', originalEventId: target.eventId }) }
        break
      }
      case 'redeem': {
        const memberId = MEMBERS[a.m]!
        const available = model.balanceOf(memberId).available
        const points = a.kind === 'small' ? 1 + (a.id % 50) : a.kind === 'large' ? 1_000_000_000 : a.kind === 'exact' ? Math.max(1, available) : Math.max(1, available + 1)
        input = { topic: 'redeem-events', key: memberId, value: JSON.stringify({ redemptionId: `r-${a.id}`, memberId, points, rewardCode: 'ROOM', channel: 'ONLINE', requestedAt: at }) }
        break
      }
      case 'resend': {
        if (inputs.length === 0) return
        input = inputs[a.pick % inputs.length]!
        break
      }
      case 'bad': {
        const memberId = MEMBERS[a.m]!
        const record: Record<string, unknown> = a.topic === 'reward-events'
          ? { eventId: `bad-${i}`, memberId, source: 'DINING', type: 'EARN', amountCents: 5000, currency: 'USD', occurredAt: at, propertyId: 'P1' }
          : { redemptionId: `bad-${i}`, memberId, points: 1, rewardCode: 'X', channel: 'DINING', requestedAt: at }
        input = { topic: a.topic, ...corrupt(record, memberId, a.corruption) }
        break
      }
    }
    inputs.push(input)
    model.apply(input)
  })
  return { inputs, model }
}

t.test('the topology agrees with the reference model on random histories', async t => {
  let runs = 0
  let redemptionsChecked = 0
  let inputsTotal = 0
  await fc.assert(fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 150, size: 'max' }), fc.integer({ min: 1, max: 4 }), async (actions, partitions) => {
    runs++
    const { inputs, model } = buildHistory(actions)
    inputsTotal += inputs.length
    const h = harness({}, { partitions })
    try {
      for (const input of inputs) {
        if (input.topic === 'reward-events') h.reward(input.value, { key: input.key })
        else h.redeem(input.value, { key: input.key })
      }
      const rewards = h.rewardConfirmed()
      const redeems = h.redeemConfirmed()
      const rewardDlq = h.rewardDlq()
      const redeemDlq = h.redeemDlq()
      const expected = model.outcomes

      // Every confirmation, in order (the driver processes each record as it is piped).
      const expectedRewards = expected.flatMap(o => o.kind === 'reward' ? [rewardSummary({ ...o, eventId: o.eventId })] : [])
      const expectedRedeems = expected.flatMap(o => o.kind === 'redeem' ? [redeemSummary(o)] : [])
      if (JSON.stringify(rewards.map(rewardSummary)) !== JSON.stringify(expectedRewards)) {
        throw new Error(`reward-confirmed differs:\nactual   ${JSON.stringify(rewards.map(rewardSummary))}\nexpected ${JSON.stringify(expectedRewards)}`)
      }
      if (JSON.stringify(redeems.map(redeemSummary)) !== JSON.stringify(expectedRedeems)) {
        throw new Error(`redeem-confirmed differs:\nactual   ${JSON.stringify(redeems.map(redeemSummary))}\nexpected ${JSON.stringify(expectedRedeems)}`)
      }
      // Every dead letter, with its code.
      const expectedDlq = (topic: string): string[] => expected.flatMap(o => o.kind === 'dlq' && o.topic === topic ? [o.code] : [])
      if (JSON.stringify(rewardDlq.map(d => d.code)) !== JSON.stringify(expectedDlq('reward-events'))) {
        throw new Error(`reward-events-dlq differs: ${JSON.stringify(rewardDlq.map(d => [d.code, d.message]))} vs ${JSON.stringify(expectedDlq('reward-events'))}`)
      }
      if (JSON.stringify(redeemDlq.map(d => d.code)) !== JSON.stringify(expectedDlq('redeem-events'))) {
        throw new Error(`redeem-events-dlq differs: ${JSON.stringify(redeemDlq.map(d => [d.code, d.message]))} vs ${JSON.stringify(expectedDlq('redeem-events'))}`)
      }
      // Nothing dropped silently: every input is a confirmation, a dead letter or a duplicate.
      const duplicates = expected.filter(o => o.kind === 'duplicate').length
      if (rewards.length + redeems.length + rewardDlq.length + redeemDlq.length + duplicates !== inputs.length) throw new Error('an input record vanished')
      // Every balance, from the store of the task that owns the member.
      for (const memberId of [...MEMBERS, 'bad member']) {
        const partition = partitionForKey(Buffer.from(memberId), partitions)
        const actual = h.driver.getKeyValueStore<string, Balance>(REWARDS_STORES.balances, partition).get(memberId)
        const wanted = model.balances.get(memberId)
        if ((actual === undefined) !== (wanted === undefined) || (actual && wanted && canonical(actual) !== canonical(wanted))) {
          throw new Error(`balance of ${memberId}: ${JSON.stringify(actual)} vs model ${JSON.stringify(wanted)}`)
        }
      }
      // A redemption never takes available below zero.
      for (const r of redeems) {
        redemptionsChecked++
        if (r.status === 'CONFIRMED' && r.balance.available < 0) throw new Error(`confirmed redemption ${r.redemptionId} left available ${r.balance.available}`)
        if (r.status === 'REJECTED' && r.balance.available >= r.points) throw new Error(`rejected redemption ${r.redemptionId} although available ${r.balance.available} ≥ ${r.points}`)
      }
    } finally {
      await h.close()
    }
  }), { numRuns: Number(process.env.PROPERTY_RUNS ?? 200) })
  t.ok(runs > 0, `${runs} histories`)
  t.ok(inputsTotal / runs > 40, `${Math.round(inputsTotal / runs)} records per history on average (long enough for tiers and reversals)`)
  t.ok(redemptionsChecked > 0, `${redemptionsChecked} redemptions checked`)
})

t.test('the history generator covers the interesting cases', async t => {
  // A sanity check on the generator itself: over a sample, each kind of outcome shows up.
  const seen = new Set<string>()
  fc.sample(fc.array(action, { minLength: 50, maxLength: 120 }), { numRuns: 50, seed: 42 }).forEach(actions => {
    for (const o of buildHistory(actions).model.outcomes) {
      seen.add(o.kind === 'dlq' ? o.code : o.kind === 'redeem' ? `redeem-${o.status}` : o.kind === 'reward' ? `reward-${o.type}` : o.kind)
      if (o.kind === 'redeem' && o.status === 'CONFIRMED' && o.balance.available === 0) seen.add('exact-balance')
      if (o.kind === 'reward' && o.balance.available < 0) seen.add('negative-after-reversal')
      if (o.kind === 'reward') seen.add(`tier-${o.tier}`)
    }
  })
  for (const kind of ['reward-EARN', 'reward-REVERSAL', 'redeem-CONFIRMED', 'redeem-REJECTED', 'duplicate', 'exact-balance', 'negative-after-reversal',
    'MALFORMED_JSON', 'SCHEMA_VIOLATION', 'KEY_MISMATCH', 'UNSUPPORTED_CURRENCY', 'ORIGINAL_NOT_FOUND', 'ALREADY_REVERSED',
    'tier-MEMBER', 'tier-SILVER', 'tier-GOLD', 'tier-PLATINUM']) {
    t.ok(seen.has(kind), kind)
  }
})
