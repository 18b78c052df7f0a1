// Topic, store and node names of the rewards topology (docs/rewards.md). Changelog topics are
// `<application-id>-<store>-changelog`, named by the engine.

// The topic names are the platform's (lib/platform-topic-names.ts says why they live there);
// re-exported so that the rewards topology's names are found in one place.
export { REWARDS_TOPICS, type RewardsTopics } from '../../lib/platform-topic-names.ts'

export const REWARDS_STORES = Object.freeze({
  /** memberId → Balance (docs/contract.md "Balances and redemptions"). */
  balances: 'balances',
  /** `${memberId}:${eventId}` → EventDedupeEntry: accepted reward events, for dedupe and reversals. */
  eventDedupe: 'event-dedupe',
  /** `${memberId}:${redemptionId}` → RedemptionDedupeEntry: decisions, for dedupe and lookups. */
  redemptionDedupe: 'redemption-dedupe',
  /** `${redemptionId}:${memberId}` → '1': finds a redemption's member (and so its decision) by
   *  redemptionId alone, for GET /v1/redemptions/{id}; purged with the redemption's dedupe entry. */
  redemptionIndex: 'redemption-index',
  /** `${seenAtMs, 15 digits}:${E|R}:${memberId}:${id}` → '1': expiry index of both dedupe stores. */
  dedupeExpiry: 'dedupe-expiry',
  /** `${memberId}:${999999999999 − seq, 12 digits}` → ActivityEntry: newest first, bounded per
   *  member; `!${memberId}` → ActivityHead (latest seq). */
  activity: 'activity'
})

/** Node names inside the topology (rewards-topology.ts; they show in `rewards topology`, in
 *  GET /v1/topology and in processing errors). The outputs of a routed node are named
 *  `<node>-<output>` (topology/dsl/process-routed.ts). */
export const REWARDS_NODES = Object.freeze({
  rewardSource: 'reward-events-source',
  redeemSource: 'redeem-events-source',
  rewardValidation: 'reward-events-validation',
  redeemValidation: 'redeem-events-validation',
  dedupe: 'rewards-dedupe',
  ledger: 'rewards-ledger',
  rewardDeadLetters: 'reward-events-dead-letters',
  redeemDeadLetters: 'redeem-events-dead-letters',
  rewardConfirmedSink: 'reward-confirmed-sink',
  redeemConfirmedSink: 'redeem-confirmed-sink',
  rewardDlqSink: 'reward-events-dlq-sink',
  redeemDlqSink: 'redeem-events-dlq-sink'
})
