// The rewards topology as the configuration asks for it (topic prefix, rule set file), shared by
// `start`, `topology` and `store`.
import type { Registry } from 'prom-client'
import type { RewardsConfig } from '../lib/config.ts'
import { platformTopics } from '../lib/platform-topics.ts'
import { rewardsProductionDlq } from '../processors/rewards/production-dlq.ts'
import { RewardsMetrics } from '../processors/rewards/rewards-metrics.ts'
import { buildRewardsTopology } from '../processors/rewards/rewards-topology.ts'
import { defaultRuleSet, loadRuleSet, type RuleSet } from '../processors/rewards/rules-engine.ts'
import type { RewardsTopics } from '../processors/rewards/topics.ts'
import { describeAsMermaid, describeAsText, describeTopology } from '../topology/describe.ts'
import type { ProductionExceptionHandler } from '../topology/runtime/production-exception-handler.ts'
import type { Topology } from '../topology/topology.ts'
import type { TopologyView } from '../api/health/ops-routes.ts'

export interface RewardsPlatform {
  readonly rules: RuleSet
  readonly topics: RewardsTopics
  readonly topology: Topology
  /** The same topology with the processor counting dead letters and duplicates into `registry`
   *  (what the processor role runs). */
  topologyWithMetrics (registry: Registry): Topology
  /** The engine's production exception handler: an input whose output the broker refuses goes to
   *  its dead-letter topic (processors/rewards/production-dlq.ts), counted into `registry`. */
  productionExceptionHandler (registry: Registry): ProductionExceptionHandler
  /** Structured, text and Mermaid descriptions (computed once). */
  readonly view: TopologyView
}

export function rewardsPlatform (config: Pick<RewardsConfig, 'topicPrefix' | 'rulesFile'>): RewardsPlatform {
  const rules = config.rulesFile === null ? defaultRuleSet() : loadRuleSet(config.rulesFile)
  const topics = platformTopics(config)
  const build = (metrics?: RewardsMetrics): Topology => buildRewardsTopology({ rules, topics, ...(metrics !== undefined ? { metrics } : {}) })
  const topology = build()
  const description = describeTopology(topology)
  return { rules, topics, topology, topologyWithMetrics: registry => build(new RewardsMetrics(registry)), productionExceptionHandler: registry => rewardsProductionDlq(topics, new RewardsMetrics(registry)), view: Object.freeze({ description, text: describeAsText(description), mermaid: describeAsMermaid(description) }) }
}
