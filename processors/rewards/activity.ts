// The `activity` store: each member's accepted reward events and redemption decisions, newest
// first, at most `limitPerMember` of them (the oldest is deleted when a new one arrives).
//
// Key: `${memberId}:${999999999999 − seq}` (12 digits), so a prefix scan of `${memberId}:` returns
// the newest first and a page continues with a range from the last key seen. `seq` counts the
// member's activity from 1. The member's latest seq sits under `!${memberId}` (an ActivityHead):
// a point read per record instead of a scan, which matters because scans merge the task's whole
// uncommitted write cache. '!' is no member id character and sorts before them all, so the heads
// are outside every `${memberId}:` scan and together at the start of the store: a head read finds
// its block in RocksDB's block cache. Under the bare `${memberId}`, between the member's entries,
// every head read missed it once the store outgrew the cache (docs/benchmarks.md, "Rewards at
// 500k events"). A head written under the bare key by an earlier version is read once and moved.
import type { KeyValueStore } from '../../topology/index.ts'
import type { RedeemConfirmed, RewardConfirmed } from './schemas.ts'

const MAX_SEQ = 999_999_999_999

export type ActivityEntry =
  | ({ readonly seq: number, readonly kind: 'REWARD', readonly available: number } & Omit<RewardConfirmed, 'balance'>)
  | ({ readonly seq: number, readonly kind: 'REDEMPTION', readonly available: number } & Omit<RedeemConfirmed, 'balance'>)

/** Value under the bare `${memberId}` key: the member's latest seq. */
export interface ActivityHead {
  readonly seq: number
}

export type ActivityStoreValue = ActivityEntry | ActivityHead

export function activityPrefix (memberId: string): string {
  return `${memberId}:`
}

/** Key of the member's ActivityHead. */
export function activityHeadKey (memberId: string): string {
  return `!${memberId}`
}

export function activityKey (memberId: string, seq: number): string {
  return `${memberId}:${String(MAX_SEQ - seq).padStart(12, '0')}`
}

/** Newest first; `limit` entries at most. */
export function readActivity (store: Pick<KeyValueStore<string, ActivityStoreValue>, 'prefixScan'>, memberId: string, limit: number): ActivityEntry[] {
  return store.prefixScan(activityPrefix(memberId), { limit }).map(kv => kv.value as ActivityEntry)
}

export function appendActivity (store: KeyValueStore<string, ActivityStoreValue>, limitPerMember: number, output: { kind: 'REWARD', record: RewardConfirmed } | { kind: 'REDEMPTION', record: RedeemConfirmed }): void {
  const memberId = output.record.memberId
  const headKey = activityHeadKey(memberId)
  const seq = (latestSeq(store, memberId, headKey) ?? 0) + 1
  const { balance, ...rest } = output.record
  const entry = { seq, kind: output.kind, available: balance.available, ...rest } as ActivityEntry
  store.put(activityKey(memberId, seq), entry)
  store.put(headKey, { seq })
  if (seq > limitPerMember) store.delete(activityKey(memberId, seq - limitPerMember))
}

/** The member's latest seq: its head, else a head under the bare member id (written before the
 *  heads moved), which is deleted as the caller writes the new one. Undefined for no activity. */
function latestSeq (store: KeyValueStore<string, ActivityStoreValue>, memberId: string, headKey: string): number | undefined {
  const head = store.get(headKey)
  if (head !== undefined) return head.seq
  const legacy = store.get(memberId)
  if (legacy === undefined) return undefined
  store.delete(memberId)
  return legacy.seq
}
