// The accepted end of EARN and REVERSAL alike: the reward-confirmed record (docs/contract.md "Outputs") and its
// entry in the member's activity.
import { appendActivity } from './activity.ts'
import type { Tier } from './rules-engine.ts'
import type { Balance, EarnEvent, ReversalEvent } from './schemas.ts'
import type { RewardOutcome, RewardsState } from './state.ts'

export function confirmReward (state: RewardsState, event: EarnEvent | ReversalEvent, points: number, tier: Tier, after: Balance): RewardOutcome {
  const output = {
    eventId: event.eventId,
    memberId: event.memberId,
    source: event.source,
    type: event.type,
    points,
    tier: tier.name,
    ruleVersion: state.rules.version,
    balance: after,
    occurredAt: event.occurredAt,
    processedAt: new Date(state.systemTimeMs()).toISOString()
  }
  appendActivity(state.activity, state.activityLimitPerMember, { kind: 'REWARD', record: output })
  return { kind: 'accepted', output }
}
