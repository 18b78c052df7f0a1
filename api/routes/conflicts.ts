// The HTTP door's conflict check (docs/api.md#conflicts): an id already accepted with other
// content is 409, never a silent 202. Content is compared by contentDigest (sha256 of the
// canonical JSON of the validated event, processors/rewards/content-digest.ts).
//
// Two windows:
// - before the processor has handled the first version: the recent-accepts record in the shared
//   cache (Redis when configured, else in-process), claimed atomically (SET NX) per id when a POST
//   is accepted and kept `ttlMs` (24 h);
// - after: the dedupe entry of the member's task (its `digest`), read through the query routing
//   (local store or the owner's internal route); for redemptions the by-id lookup of every
//   instance (decisions/0007), so a redemptionId is unique platform-wide.
// A store that cannot answer (restoring, rebalancing, owner unreachable) does not block ingestion:
// the cache's check stands alone then. What the door cannot see — two different bodies sent at
// the same moment through instances that do not share a cache (no Redis, or Redis down), records
// produced to the topics directly, entries older than the cache's window whose task is not
// readable — falls to the topology, where the first processed wins and counts once.
import { isRewardsError } from '../../lib/errors.ts'
import { contentDigest } from '../../processors/rewards/content-digest.ts'
import type { RedeemEvent, RewardEvent } from '../../processors/rewards/schemas.ts'
import type { SharedCache } from '../cache/shared-cache.ts'
import type { RedemptionRecord } from '../query/local-reader.ts'
import type { CallContext, MemberQueries } from '../query/member-queries.ts'

export interface ConflictCheckOptions {
  readonly cache: SharedCache
  readonly queries: MemberQueries
  /** How long an accepted digest is remembered in the cache; default 24 h. */
  readonly ttlMs: number
}

export interface EventConflict {
  readonly index: number
  readonly eventId: string
  readonly memberId: string
  readonly acceptedDigest: string
  readonly sentDigest: string
}

/** Cache keys this request claimed: released when it ends without publishing. */
export interface Claim {
  release (): Promise<void>
}

export type EventCheck =
  | { readonly ok: true, readonly claim: Claim }
  | { readonly ok: false, readonly conflicts: EventConflict[] }

export type RedemptionCheck =
  | { readonly kind: 'new', readonly claim: Claim }
  /** The same content was accepted and decided already: its decision, nothing to publish. */
  | { readonly kind: 'decided', readonly decision: RedemptionRecord['decision'] }
  | { readonly kind: 'conflict', readonly acceptedDigest: string, readonly sentDigest: string, readonly memberId: string }

/** Cache keys of the recent-accepts record (exported for tests). */
export const eventCacheKey = (memberId: string, eventId: string): string => `accepted:event:${memberId}:${eventId}`
export const redemptionCacheKey = (redemptionId: string): string => `accepted:redemption:${redemptionId}`

/** A store lookup that may be unavailable; unavailable → undefined (the cache's check stands). */
async function unlessUnavailable<T> (lookup: () => Promise<T>): Promise<T | undefined> {
  try {
    return await lookup()
  } catch (error) {
    if (isRewardsError(error, 'STORE_NOT_READY') || (error as Error).name === 'OwnerUnavailable' || (error as Error).name === 'OwnersUnreachable') return undefined
    throw error
  }
}

function claimOf (cache: SharedCache, keys: string[]): Claim {
  return { release: async () => { if (keys.length > 0) await cache.del(keys) } }
}

/** Claims the eventIds of a batch (all or nothing): conflicts with earlier items of the batch,
 *  the cache's recent accepts, and the members' dedupe stores. */
export async function checkEvents (options: ConflictCheckOptions, events: readonly RewardEvent[], call: CallContext): Promise<EventCheck> {
  const { cache } = options
  const digests = events.map(e => contentDigest(e))
  const conflicts: EventConflict[] = []
  const conflict = (index: number, acceptedDigest: string): void => {
    const e = events[index]!
    conflicts.push({ index, eventId: e.eventId, memberId: e.memberId, acceptedDigest, sentDigest: digests[index]! })
  }

  // Within the batch: the first item of an id sets its content.
  const first = new Map<string, number>()
  events.forEach((e, index) => {
    const key = eventCacheKey(e.memberId, e.eventId)
    const at = first.get(key)
    if (at === undefined) first.set(key, index)
    else if (digests[at] !== digests[index]) conflict(index, digests[at]!)
  })

  // The cache: claim each id; an id already there must carry the same digest.
  const claimed: string[] = []
  const fresh: number[] = []
  await Promise.all([...first].map(async ([key, index]) => {
    if (await cache.setIfAbsent(key, digests[index]!, options.ttlMs)) {
      claimed.push(key)
      fresh.push(index)
      return
    }
    const accepted = await cache.get(key)
    if (accepted !== null && accepted !== digests[index]) conflict(index, accepted)
  }))

  const claim = claimOf(cache, claimed)
  // The stores, for ids the cache did not know (older than its window, or produced directly).
  const byMember = new Map<string, number[]>()
  for (const index of fresh) byMember.set(events[index]!.memberId, [...(byMember.get(events[index]!.memberId) ?? []), index])
  await Promise.all([...byMember].map(async ([memberId, indexes]) => {
    const found = await unlessUnavailable(() => options.queries.eventDigests(memberId, indexes.map(i => events[i]!.eventId), call))
    for (const index of indexes) {
      const accepted = found?.get(events[index]!.eventId)
      // null: an entry written before digests existed, which cannot conflict.
      if (typeof accepted === 'string' && accepted !== digests[index]) conflict(index, accepted)
    }
  })).catch(async (error: unknown) => { await claim.release(); throw error })

  if (conflicts.length === 0) return { ok: true, claim }
  await claim.release()
  return { ok: false, conflicts: conflicts.sort((a, b) => a.index - b.index) }
}

/** Claims a redemptionId platform-wide: the cache's recent accepts, then the by-id lookup of
 *  every instance. An entry older than digests is compared on the fields its decision keeps. */
export async function checkRedemption (options: ConflictCheckOptions, event: RedeemEvent, call: CallContext): Promise<RedemptionCheck> {
  const { cache } = options
  const sentDigest = contentDigest(event)
  const key = redemptionCacheKey(event.redemptionId)
  const claimed = await cache.setIfAbsent(key, sentDigest, options.ttlMs)
  const claim = claimOf(cache, claimed ? [key] : [])
  if (!claimed) {
    const accepted = await cache.get(key)
    if (accepted !== null && accepted !== sentDigest) return { kind: 'conflict', acceptedDigest: accepted, sentDigest, memberId: event.memberId }
  }
  const found = await unlessUnavailable(() => options.queries.redemptionRecordById(event.redemptionId, call))
    .catch(async (error: unknown) => { await claim.release(); throw error })
  if (found === undefined) return { kind: 'new', claim }
  const { decision, digest } = found
  const same = digest !== null
    ? digest === sentDigest
    : decision.memberId === event.memberId && decision.points === event.points && decision.rewardCode === event.rewardCode && decision.requestedAt === event.requestedAt
  if (same) return { kind: 'decided', decision }
  await claim.release()
  return { kind: 'conflict', acceptedDigest: digest ?? contentDigest({ memberId: decision.memberId, points: decision.points, redemptionId: decision.redemptionId, requestedAt: decision.requestedAt, rewardCode: decision.rewardCode }), sentDigest, memberId: event.memberId }
}
