// The names of the platform's six topics (docs/rewards.md), before REWARDS_TOPIC_PREFIX. They are
// the platform's contract, shared by the API (ingest), the rewards topology, the archiver, the
// reports and the CLI, so lib/ owns them: lib/ sits below the applications and imports none of
// them (docs/engine.md "Public entry"; eslint.config.js), and processors/rewards/topics.ts
// takes its topic names from here rather than lib/platform-topics.ts importing the rewards
// topology. Changelog topics are `<application-id>-<store>-changelog`, named by the engine.

export interface RewardsTopics {
  readonly rewardEvents: string
  readonly redeemEvents: string
  readonly rewardConfirmed: string
  readonly redeemConfirmed: string
  readonly rewardEventsDlq: string
  readonly redeemEventsDlq: string
}

export const REWARDS_TOPICS: RewardsTopics = Object.freeze({
  rewardEvents: 'reward-events',
  redeemEvents: 'redeem-events',
  rewardConfirmed: 'reward-confirmed',
  redeemConfirmed: 'redeem-confirmed',
  rewardEventsDlq: 'reward-events-dlq',
  redeemEventsDlq: 'redeem-events-dlq'
})
