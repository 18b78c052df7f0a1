// REVERSAL (docs/contract.md "Earning rules"): takes back exactly the points its original EARN was awarded, whatever its
// own amountCents says. The original must be a live EARN of the same member (ORIGINAL_NOT_FOUND)
// not reversed yet (ALREADY_REVERSED). A re-sent REVERSAL (same eventId) is a duplicate, not a
// second reversal: the dedupe filter (dedupe-filter.ts) drops it before the ledger.
import { confirmReward } from './confirm-reward.ts'
import { emptyBalance, laterActivity, withTotals } from './balance.ts'
import { contentDigest } from './content-digest.ts'
import { dedupeKey, expiryKey, isLive } from './dedupe.ts'
import { tierFor } from './rules-engine.ts'
import type { ReversalEvent } from './schemas.ts'
import type { RewardOutcome, RewardsState } from './state.ts'

export function handleReversal (state: RewardsState, event: ReversalEvent, eventTimeMs: number): RewardOutcome {
  const key = dedupeKey(event.memberId, event.eventId)
  const clockMs = state.dedupeClockMs()
  const originalKey = dedupeKey(event.memberId, event.originalEventId)
  const original = state.events.get(originalKey)
  if (original === undefined || !isLive(original, clockMs, state.dedupeRetentionMs) || original.type !== 'EARN') {
    const why = original !== undefined && original.type !== 'EARN' && isLive(original, clockMs, state.dedupeRetentionMs)
      ? `event ${event.originalEventId} of member ${event.memberId} is a REVERSAL, not an EARN`
      : `no accepted EARN ${event.originalEventId} for member ${event.memberId} (unknown, or older than the ${state.dedupeRetentionMs} ms dedupe retention)`
    return { kind: 'rejected', code: 'ORIGINAL_NOT_FOUND', message: why }
  }
  if (original.reversedBy !== undefined) {
    return { kind: 'rejected', code: 'ALREADY_REVERSED', message: `EARN ${event.originalEventId} of member ${event.memberId} was already reversed by ${original.reversedBy}` }
  }

  const before = state.balances.get(event.memberId) ?? emptyBalance(state.rules, event.memberId)
  const tier = tierFor(state.rules, before.qualifyingPoints)
  const after = withTotals(state.rules, before, {
    earned: before.earned,
    reversed: before.reversed + original.points,
    redeemed: before.redeemed,
    events: before.events + 1,
    lastActivityAt: laterActivity(before.lastActivityAt, eventTimeMs)
  })
  if (after === undefined) {
    return { kind: 'rejected', code: 'POINTS_OVERFLOW', message: `REVERSAL of ${original.points} points would take the balance of ${event.memberId} beyond 2^53 − 1` }
  }

  state.balances.put(event.memberId, after)
  state.events.put(originalKey, { ...original, reversedBy: event.eventId })
  state.events.put(key, { type: 'REVERSAL', points: -original.points, seenAtMs: clockMs, digest: contentDigest(event) })
  state.expiry.put(expiryKey(clockMs, 'E', event.memberId, event.eventId), '1')
  return confirmReward(state, event, -original.points, tier, after)
}
