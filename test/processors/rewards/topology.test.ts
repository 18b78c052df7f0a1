// The declared topology: both inputs in one sub-topology (one task per partition sees both),
// the five stores with changelogs, the four sinks; a member's records always meet in one task.
import t from 'tap'
import { describeAsMermaid, describeTopology } from '../../../topology/describe.ts'
import { buildRewardsTopology, defaultRuleSet, REWARDS_STORES, REWARDS_TOPICS } from '../../../processors/rewards/index.ts'
import { earn, harness, redeem } from './harness.ts'

t.test('one sub-topology reading both inputs, five changelogged stores, four sinks', async t => {
  const topology = buildRewardsTopology({ rules: defaultRuleSet() })
  topology.validate()
  const subs = topology.subtopologies()
  t.equal(subs.length, 1)
  t.same([...subs[0]!.sourceTopics].sort(), [REWARDS_TOPICS.redeemEvents, REWARDS_TOPICS.rewardEvents].sort())
  t.same([...subs[0]!.stores].sort(), Object.values(REWARDS_STORES).sort())
  t.ok(topology.storeDefinitions().every(s => s.changelog && s.kind === 'rocksdb'))
  t.same(topology.sinkTopics().sort(), [REWARDS_TOPICS.rewardConfirmed, REWARDS_TOPICS.redeemConfirmed, REWARDS_TOPICS.rewardEventsDlq, REWARDS_TOPICS.redeemEventsDlq].sort())
  const description = describeTopology(topology)
  t.ok(description)
  t.match(describeAsMermaid(description), /rewards-processor/)
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
