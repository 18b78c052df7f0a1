// The declared topology: both inputs in one sub-topology (one task per partition sees both),
// the six stores with changelogs, the four sinks; a member's records always meet in one task.
// The points windows are a second sub-topology behind their repartition topic.
// Declared with the DSL, it shows the card's graph: validation split, dedupe, ledger, sinks.
import t from 'tap'
import { describeAsMermaid, describeAsText, describeTopology } from '../../../topology/describe.ts'
import { buildRewardsTopology, defaultRuleSet, REWARDS_NODES, REWARDS_STORES, REWARDS_TOPICS } from '../../../processors/rewards/index.ts'
import { POINTS_REPARTITION, POINTS_WINDOW_STORES } from '../../../processors/rewards/points-windows.ts'
import { earn, harness, redeem } from './harness.ts'

t.test('one sub-topology reading both inputs, six changelogged stores, four sinks; the points windows behind a repartition', async t => {
  const topology = buildRewardsTopology({ rules: defaultRuleSet() })
  topology.validate()
  const subs = topology.subtopologies()
  t.equal(subs.length, 2)
  t.equal(subs[0]!.id, 0, 'task ids 0_N, as before the DSL (state directories, checkpoints)')
  t.same([...subs[0]!.sourceTopics].sort(), [REWARDS_TOPICS.redeemEvents, REWARDS_TOPICS.rewardEvents].sort())
  t.same([...subs[0]!.stores].sort(), Object.values(REWARDS_STORES).sort())
  t.equal(subs[1]!.id, 1)
  t.same([...subs[1]!.sourceTopics], [`${POINTS_REPARTITION}-repartition`], 'the windows read the repartition topic only')
  t.same([...subs[1]!.stores].sort(), Object.values(POINTS_WINDOW_STORES).sort())
  t.ok(topology.storeDefinitions().every(s => s.changelog && s.kind === 'rocksdb'))
  // User-visible sinks unchanged; the repartition topic is internal (prefixed by the application id).
  t.same(topology.sinkTopics().filter(s => !s.endsWith('-repartition')).sort(), [REWARDS_TOPICS.rewardConfirmed, REWARDS_TOPICS.redeemConfirmed, REWARDS_TOPICS.rewardEventsDlq, REWARDS_TOPICS.redeemEventsDlq].sort())
  t.same(topology.internalTopics().map(i => i.name), [`${POINTS_REPARTITION}-repartition`])
  // Store and changelog names are what existing state and changelog topics are called.
  t.same(topology.storeDefinitions().map(s => s.name), ['balances', 'event-dedupe', 'redemption-dedupe', 'redemption-index', 'dedupe-expiry', 'activity', 'points-per-property-hour', 'points-per-property-day'])
})

t.test('the graph: validation split, dedupe, ledger over both inputs, sinks', async t => {
  const topology = buildRewardsTopology({ rules: defaultRuleSet() })
  const n = REWARDS_NODES
  const node = (name: string) => {
    const found = topology.node(name)
    if (found === undefined) throw new Error(`no node ${name}`)
    return found
  }
  const children = (name: string) => { const x = node(name); return x.kind === 'sink' ? [] : x.children }
  const parents = (name: string) => { const x = node(name); return x.kind === 'source' ? [] : x.parents }
  const stores = (name: string) => { const x = node(name); return x.kind === 'processor' ? x.stores : [] }
  t.same(children(n.rewardSource), [n.rewardValidation])
  t.same(children(n.redeemSource), [n.redeemValidation])
  t.same(children(n.rewardValidation), [`${n.rewardValidation}-valid`, `${n.rewardValidation}-invalid`])
  t.same(parents(n.dedupe), [`${n.rewardValidation}-valid`, `${n.redeemValidation}-valid`], 'valid events of both inputs meet in the dedupe')
  t.same(stores(n.dedupe), [REWARDS_STORES.eventDedupe, REWARDS_STORES.redemptionDedupe, REWARDS_STORES.redemptionIndex, REWARDS_STORES.dedupeExpiry])
  t.same(parents(n.ledger), [n.dedupe])
  t.same(stores(n.ledger), Object.values(REWARDS_STORES), 'the ledger owns the balances (and every store)')
  t.same(parents(n.rewardConfirmedSink), [`${n.ledger}-reward-confirmed`])
  t.same(parents(n.redeemConfirmedSink), [`${n.ledger}-redeem-confirmed`])
  t.same(parents(n.rewardDeadLetters), [`${n.rewardValidation}-invalid`, `${n.ledger}-reward-rejected`], 'dead letters of validation and of the ledger')
  t.same(parents(n.rewardDlqSink), [n.rewardDeadLetters])
  t.same(parents(n.redeemDlqSink), [n.redeemDeadLetters])
  const description = describeTopology(topology)
  const text = describeAsText(description)
  for (const name of [n.rewardValidation, n.redeemValidation, n.dedupe, n.ledger]) t.match(text, `Processor: ${name} (stores: [`)
  t.match(text, `Sink: ${n.rewardDlqSink} (topic: ${REWARDS_TOPICS.rewardEventsDlq})`)
  const mermaid = describeAsMermaid(description)
  t.match(mermaid, /n_rewards_ledger <-\.-> s_balances/)
  t.match(mermaid, /n_redeem_events_validation_valid --> n_rewards_dedupe/)
  t.match(mermaid, /n_rewards_ledger_redeem_confirmed --> n_redeem_confirmed_sink/)
})

t.test('topic names can be overridden', async t => {
  const topology = buildRewardsTopology({ rules: defaultRuleSet(), topics: { rewardEvents: 'staging.reward-events', rewardEventsDlq: 'staging.reward-events-dlq' } })
  t.ok(topology.sourceTopics().includes('staging.reward-events'))
  t.ok(topology.sinkTopics().includes('staging.reward-events-dlq'))
})

t.test('with several partitions, each member is owned by one task that sees both inputs', async t => {
  const h = harness({}, { partitions: 6 })
  t.teardown(() => h.close())
  const members = Array.from({ length: 40 }, (_, i) => `member-${i}`)
  for (const m of members) h.reward(earn({ memberId: m, amountCents: 10_000 }))
  for (const m of members) h.redeem(redeem({ memberId: m, points: 1000 }))
  t.ok(h.redeemConfirmed().every(o => o.status === 'CONFIRMED'), 'each redemption saw its member\'s earn')
  const partitions = new Set<number>()
  for (let p = 0; p < 6; p++) {
    const balances = h.driver.getKeyValueStore<string, { available: number }>(REWARDS_STORES.balances, p).range(undefined, undefined)
    if (balances.length > 0) partitions.add(p)
    for (const b of balances) t.equal(b.value.available, 0)
  }
  t.ok(partitions.size > 1, 'members spread over tasks')
})
