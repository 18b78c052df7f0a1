// EARN (docs/rewards.md, "Earning rules"): points from the rule set at the member's tier before the event. A re-sent
// eventId never gets here: the dedupe filter (dedupe-filter.ts) drops it before the ledger.
import { confirmReward } from './confirm-reward.ts'
import { emptyBalance, laterActivity, withTotals } from './balance.ts'
import { contentDigest } from './content-digest.ts'
import { dedupeKey, expiryKey } from './dedupe.ts'
import { earnPoints, tierFor } from './rules-engine.ts'
import type { EarnEvent } from './schemas.ts'
import type { RewardOutcome, RewardsState } from './state.ts'

export function handleEarn (state: RewardsState, event: EarnEvent, eventTimeMs: number): RewardOutcome {
  const key = dedupeKey(event.memberId, event.eventId)
  const clockMs = state.dedupeClockMs()
  const before = state.balances.get(event.memberId) ?? emptyBalance(state.rules, event.memberId)
  const tier = tierFor(state.rules, before.qualifyingPoints)
  const { points: bigPoints } = earnPoints(state.rules, { source: event.source, propertyId: event.propertyId, amountCents: event.amountCents, occurredAtMs: eventTimeMs }, tier)
  const points = Number(bigPoints)
  const after = Number.isSafeInteger(points)
    ? withTotals(state.rules, before, {
      earned: before.earned + points,
      reversed: before.reversed,
      redeemed: before.redeemed,
      events: before.events + 1,
      lastActivityAt: laterActivity(before.lastActivityAt, eventTimeMs)
    })
    : undefined
  if (after === undefined) {
    return { kind: 'rejected', code: 'POINTS_OVERFLOW', message: `EARN worth ${bigPoints} points would take the balance of ${event.memberId} beyond 2^53 − 1` }
  }

  state.balances.put(event.memberId, after)
  state.events.put(key, { type: 'EARN', points, seenAtMs: clockMs, digest: contentDigest(event) })
  state.expiry.put(expiryKey(clockMs, 'E', event.memberId, event.eventId), '1')
  return confirmReward(state, event, points, tier, after)
}
