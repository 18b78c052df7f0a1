// Dedupe state: which reward events and redemptions were already handled, for how long.
//
// Retention is measured by the dedupe clock (dedupe-clock.ts: the highest event time of accepted
// events), so a rebuild from the topics makes the same decisions as the original run. An entry is
// live while seenAtMs + retentionMs > the clock; an expired entry is treated as absent whether or
// not the purge has removed it yet, so the purge's timing never changes a decision. The purge, a
// STREAM_TIME punctuation, walks the `dedupe-expiry` index in key (= time) order and deletes at
// most `maxPurgePerPunctuation` entries per run: the stores stay bounded by
// (input rate × retention) without a full scan. Between runs that find work it only compares the
// clock with the time the oldest entry expires (nextExpiryClockMs): a punctuation of 60 s of
// stream time fires every few records during a catch-up, and a range read each time cost a
// quarter of the processor's time (docs/benchmarks.md, "Rewards hot path").
import type { KeyValueStore } from '../../topology/index.ts'
import { DEDUPE_CLOCK_KEY } from './dedupe-clock.ts'
import type { RedeemConfirmed } from './schemas.ts'

export interface EventDedupeEntry {
  readonly type: 'EARN' | 'REVERSAL'
  /** Points this event moved: positive for an EARN, negative for a REVERSAL. */
  readonly points: number
  /** EARN only: eventId of the REVERSAL that took its points back. */
  readonly reversedBy?: string
  /** Dedupe clock when the event was accepted (retention clock). */
  readonly seenAtMs: number
  /** contentDigest of the accepted event (content-digest.ts), for the API's conflict check
   *  (docs/api.md#conflicts). Absent in entries written before it existed: they never conflict. */
  readonly digest?: string
}

export interface RedemptionDedupeEntry {
  /** The decision as published on redeem-confirmed (for status lookups). */
  readonly decision: RedeemConfirmed
  readonly seenAtMs: number
  /** contentDigest of the accepted redemption request; absent in older entries (EventDedupeEntry). */
  readonly digest?: string
}

export type DedupeKind = 'E' | 'R'

export function dedupeKey (memberId: string, id: string): string {
  return `${memberId}:${id}`
}

/** Key of the redemption-index store: redemptionId first, so a prefix scan of `${redemptionId}:`
 *  finds it in O(log n). The member id (never containing ':') is after the last ':'. */
export function redemptionIndexKey (redemptionId: string, memberId: string): string {
  return `${redemptionId}:${memberId}`
}

/** The inverse of redemptionIndexKey. */
export function parseRedemptionIndexKey (key: string): { redemptionId: string, memberId: string } | undefined {
  const at = key.lastIndexOf(':')
  return at <= 0 || at === key.length - 1 ? undefined : { redemptionId: key.slice(0, at), memberId: key.slice(at + 1) }
}

const TIME_DIGITS = 15

function paddedTime (ms: number): string {
  return String(Math.max(0, Math.trunc(ms))).padStart(TIME_DIGITS, '0')
}

export function expiryKey (seenAtMs: number, kind: DedupeKind, memberId: string, id: string): string {
  return `${paddedTime(seenAtMs)}:${kind}:${memberId}:${id}`
}

function parseExpiryKey (key: string): { seenAtMs: number, kind: DedupeKind, dedupeKey: string } | undefined {
  const m = /^(\d{15}):([ER]):(.*)$/s.exec(key)
  if (m === null) return undefined
  return { seenAtMs: Number(m[1]), kind: m[2] as DedupeKind, dedupeKey: m[3]! }
}

/** The dedupe clock at which the oldest entry of the index expires, i.e. when a purge can first
 *  find work. With no time entry, any entry written later is seen at ≥ clockMs (the dedupe clock
 *  never goes back), so none can expire before clockMs + retentionMs. */
export function nextExpiryClockMs (expiry: KeyValueStore<string, string>, clockMs: number, retentionMs: number): number {
  // Time keys (digits) sort before every other key of the store (the `clock` key).
  const [oldest] = expiry.range(undefined, undefined, { limit: 1 })
  const parsed = oldest === undefined ? undefined : parseExpiryKey(oldest.key)
  if (parsed === undefined) return oldest === undefined || oldest.key === DEDUPE_CLOCK_KEY ? clockMs + retentionMs : clockMs
  return parsed.seenAtMs + retentionMs
}

export function isLive (entry: { seenAtMs: number } | undefined, clockMs: number, retentionMs: number): boolean {
  return entry !== undefined && entry.seenAtMs + retentionMs > clockMs
}

export interface DedupeStores {
  readonly events: KeyValueStore<string, EventDedupeEntry>
  readonly redemptions: KeyValueStore<string, RedemptionDedupeEntry>
  readonly redemptionIndex: KeyValueStore<string, string>
  readonly expiry: KeyValueStore<string, string>
}

/** Deletes expired dedupe entries, oldest first, at most `max`. Returns how many index entries
 *  were removed. An index entry whose dedupe entry was re-recorded later (a new seenAtMs) only
 *  removes itself. */
export function purgeExpired (stores: DedupeStores, clockMs: number, retentionMs: number, max: number): number {
  const cutoffMs = clockMs - retentionMs // entries seen at or before this are expired
  if (cutoffMs < 0) return 0
  // ';' sorts right after ':', so this bound includes every key of time cutoffMs.
  const upper = `${paddedTime(cutoffMs)};`
  let removed = 0
  while (removed < max) {
    const batch = stores.expiry.range(undefined, upper, { limit: Math.min(1000, max - removed) })
    if (batch.length === 0) break
    for (const { key } of batch) {
      stores.expiry.delete(key)
      removed++
      const parsed = parseExpiryKey(key)
      if (parsed === undefined) continue
      const store: KeyValueStore<string, { seenAtMs: number }> = parsed.kind === 'E' ? stores.events : stores.redemptions
      const entry = store.get(parsed.dedupeKey)
      if (entry !== undefined && entry.seenAtMs === parsed.seenAtMs) {
        store.delete(parsed.dedupeKey)
        if (parsed.kind === 'R') {
          // dedupeKey is `${memberId}:${redemptionId}` and member ids never contain ':'.
          const at = parsed.dedupeKey.indexOf(':')
          stores.redemptionIndex.delete(redemptionIndexKey(parsed.dedupeKey.slice(at + 1), parsed.dedupeKey.slice(0, at)))
        }
      }
    }
  }
  return removed
}
