// What the event handlers (earn, reversal, redemption) work with: the rule set, the task's stores
// and clocks. Handlers decide and write state; the ledger (ledger.ts) forwards what they return.
import type { KeyValueStore } from '../../topology/index.ts'
import type { ActivityStoreValue } from './activity.ts'
import type { EventDedupeEntry, RedemptionDedupeEntry } from './dedupe.ts'
import type { RuleSet } from './rules-engine.ts'
import type { Balance, RedeemConfirmed, RewardConfirmed } from './schemas.ts'
import type { DlqCode } from './validation.ts'

export interface RewardsState {
  readonly rules: RuleSet
  readonly balances: KeyValueStore<string, Balance>
  readonly events: KeyValueStore<string, EventDedupeEntry>
  readonly redemptions: KeyValueStore<string, RedemptionDedupeEntry>
  readonly redemptionIndex: KeyValueStore<string, string>
  readonly expiry: KeyValueStore<string, string>
  readonly activity: KeyValueStore<string, ActivityStoreValue>
  readonly dedupeRetentionMs: number
  readonly activityLimitPerMember: number
  /** The dedupe clock for the event being handled (dedupe-clock.ts): the highest event time of
   *  accepted events, this one's included, never more than maxEventTimeAheadMs ahead of the wall
   *  clock. Entries are live while seenAtMs + dedupeRetentionMs > it; new ones are seen at it. */
  dedupeClockMs (): number
  /** Wall-clock time (processedAt). */
  systemTimeMs (): number
}

export type Outcome<T> =
  | { readonly kind: 'accepted', readonly output: T }
  | { readonly kind: 'rejected', readonly code: DlqCode, readonly message: string }

export type RewardOutcome = Outcome<RewardConfirmed>
export type RedeemOutcome = Outcome<RedeemConfirmed>
