// Redemptions (docs/contract.md "Balances and redemptions"): CONFIRMED iff available ≥ points when processed, else REJECTED
// INSUFFICIENT_POINTS (balance unchanged). `available` never goes negative through a redemption.
// A re-sent redemptionId gets no second effect and no second output (the dedupe filter,
// dedupe-filter.ts, drops it before the ledger); its decision stays in the redemption-dedupe
// store (for status lookups) for the dedupe retention, and the redemption-index store maps its
// redemptionId to the member (status lookups by id alone).
import { appendActivity } from './activity.ts'
import { emptyBalance, laterActivity, withTotals } from './balance.ts'
import { contentDigest } from './content-digest.ts'
import { dedupeKey, expiryKey, redemptionIndexKey } from './dedupe.ts'
import type { RedeemConfirmed, RedeemEvent } from './schemas.ts'
import type { RedeemOutcome, RewardsState } from './state.ts'

export function handleRedemption (state: RewardsState, event: RedeemEvent, eventTimeMs: number): RedeemOutcome {
  const key = dedupeKey(event.memberId, event.redemptionId)
  const clockMs = state.dedupeClockMs()
  const stored = state.balances.get(event.memberId)
  const before = stored ?? emptyBalance(state.rules, event.memberId)
  const processedAt = new Date(state.systemTimeMs()).toISOString()
  let decision: RedeemConfirmed
  if (before.available >= event.points) {
    const after = withTotals(state.rules, before, {
      earned: before.earned,
      reversed: before.reversed,
      redeemed: before.redeemed + event.points,
      events: before.events,
      lastActivityAt: laterActivity(before.lastActivityAt, eventTimeMs)
    })
    // available ≥ points ≥ 1 keeps every total a safe integer; assert it all the same.
    if (after === undefined || after.available < 0) throw new Error(`redemption ${event.redemptionId}: balance invariant broken`)
    state.balances.put(event.memberId, after)
    decision = { redemptionId: event.redemptionId, memberId: event.memberId, points: event.points, rewardCode: event.rewardCode, status: 'CONFIRMED', balance: after, requestedAt: event.requestedAt, processedAt }
  } else {
    decision = { redemptionId: event.redemptionId, memberId: event.memberId, points: event.points, rewardCode: event.rewardCode, status: 'REJECTED', reason: 'INSUFFICIENT_POINTS', balance: before, requestedAt: event.requestedAt, processedAt }
  }
  state.redemptions.put(key, { decision, seenAtMs: clockMs, digest: contentDigest(event) })
  state.redemptionIndex.put(redemptionIndexKey(event.redemptionId, event.memberId), '1')
  state.expiry.put(expiryKey(clockMs, 'R', event.memberId, event.redemptionId), '1')
  appendActivity(state.activity, state.activityLimitPerMember, { kind: 'REDEMPTION', record: decision })
  return { kind: 'accepted', output: decision }
}
