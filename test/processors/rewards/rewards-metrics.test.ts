// Processor metrics (docs/metrics.md): every dead letter counted by dead-letter topic and error
// code, every ignored duplicate by input topic; nothing counted for accepted records.
import t from 'tap'
import { Registry } from 'prom-client'
import { RewardsMetrics } from '../../../processors/rewards/rewards-metrics.ts'
import { REWARDS_TOPICS } from '../../../processors/rewards/index.ts'
import { earn, harness, redeem, reversal } from './harness.ts'

async function samples (registry: Registry, name: string): Promise<Array<{ labels: Record<string, string | number>, value: number }>> {
  const metric = registry.getSingleMetric(name)
  return metric === undefined ? [] : (await metric.get()).values.map(v => ({ labels: { ...v.labels } as Record<string, string | number>, value: v.value }))
}

t.test('dead letters by topic and code, duplicates by topic', async t => {
  const registry = new Registry()
  const h = harness({ metrics: new RewardsMetrics(registry) })
  t.teardown(() => h.close())
  const first = earn({ memberId: 'm', eventId: 'e-1', amountCents: 10_000 })
  h.reward(first)
  h.reward(first) // duplicate
  h.reward(first) // duplicate
  h.reward('{not json', { key: 'm' }) // MALFORMED_JSON
  h.reward('{not json either', { key: 'm' }) // MALFORMED_JSON
  h.reward(reversal('never-seen', { memberId: 'm', eventId: 'rev-1' })) // ORIGINAL_NOT_FOUND
  const redemption = redeem({ memberId: 'm', redemptionId: 'r-1', points: 10 })
  h.redeem(redemption)
  h.redeem(redemption) // duplicate
  h.redeem('[]', { key: 'm' }) // SCHEMA_VIOLATION

  t.equal(h.rewardDlq().length, 3, 'three reward dead letters')
  t.equal(h.redeemDlq().length, 1, 'one redeem dead letter')
  const dlq = await samples(registry, 'rewards_dlq_records_total')
  t.same(new Set(dlq.map(s => JSON.stringify([s.labels.topic, s.labels.code, s.value]))), new Set([
    JSON.stringify([REWARDS_TOPICS.rewardEventsDlq, 'MALFORMED_JSON', 2]),
    JSON.stringify([REWARDS_TOPICS.rewardEventsDlq, 'ORIGINAL_NOT_FOUND', 1]),
    JSON.stringify([REWARDS_TOPICS.redeemEventsDlq, 'SCHEMA_VIOLATION', 1])
  ]), 'counted per dead-letter topic and code, as the error.code headers say')
  t.same(h.rewardDlq().length + h.redeemDlq().length, 0, 'outputs read once')
  const duplicates = await samples(registry, 'rewards_duplicate_records_total')
  t.same(new Set(duplicates.map(s => JSON.stringify([s.labels.topic, s.value]))), new Set([
    JSON.stringify([REWARDS_TOPICS.rewardEvents, 2]),
    JSON.stringify([REWARDS_TOPICS.redeemEvents, 1])
  ]), 'duplicates per input topic')
})

t.test('a second topology on the same registry shares the counters', async t => {
  const registry = new Registry()
  const a = new RewardsMetrics(registry)
  const b = new RewardsMetrics(registry)
  a.deadLettered('x-dlq', 'MALFORMED_JSON')
  b.deadLettered('x-dlq', 'MALFORMED_JSON')
  t.same((await samples(registry, 'rewards_dlq_records_total')).map(s => s.value), [2])
})
