// The rewards component: topology, schemas and validation (reused by the HTTP API), rules engine.
export { buildRewardsTopology, REWARDS_DEFAULTS, type RewardsTopologyOptions } from './rewards-topology.ts'
export { REWARDS_NODES, REWARDS_STORES, REWARDS_TOPICS, type RewardsTopics } from './topics.ts'
export * from './schemas.ts'
export {
  validateRewardEvent, validateRedeemEvent, validateRewardRecord, validateRedeemRecord, parseJsonBytes,
  describeSchemaErrors, type DlqCode, type Validated
} from './validation.ts'
export { defaultRuleSet, loadRuleSet, parseRuleSet, earnPoints, tierFor, DEFAULT_RULE_SET_URL, type RuleSet, type Tier, type Promotion } from './rules-engine.ts'
export { DLQ_HEADERS } from './dlq.ts'
export { activityHeadKey, activityKey, activityPrefix, readActivity, type ActivityEntry, type ActivityHead, type ActivityStoreValue } from './activity.ts'
export { dedupeKey, parseRedemptionIndexKey, redemptionIndexKey, type EventDedupeEntry, type RedemptionDedupeEntry } from './dedupe.ts'
export { parseRfc3339, isRfc3339 } from './rfc3339.ts'
