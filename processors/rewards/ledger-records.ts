// What flows between the nodes of the rewards topology (rewards-topology.ts): the validation split
// turns an input record's bytes into a valid event, the dedupe filter adds the dedupe clock its
// decision is made at, the ledger applies it. The record's key stays the input's key bytes, its
// timestamp and headers the input's, so that a dead letter written at any step is the input
// record unchanged (dlq.ts).
import type { Record } from '../../topology/index.ts'
import type { RedeemEvent, RewardEvent } from './schemas.ts'

/** An input record as read: key and value bytes. */
export type RawRecord = Record<Buffer | null, Buffer | null>

interface Valid<K extends string, E> {
  readonly kind: K
  readonly event: E
  /** occurredAt / requestedAt (event-time.ts). */
  readonly eventTimeMs: number
  /** The input value's bytes, for a dead letter of the ledger. */
  readonly input: Buffer
}

export type ValidRewardEvent = Valid<'reward', RewardEvent>
export type ValidRedeemEvent = Valid<'redeem', RedeemEvent>
export type ValidEvent = ValidRewardEvent | ValidRedeemEvent

/** A valid event whose eventId / redemptionId is not a live duplicate. */
export type FreshEvent = ValidEvent & {
  /** The dedupe clock the decision about the event is made at (DedupeClock.at). */
  readonly clockMs: number
}

export type ValidRecord = Record<Buffer | null, ValidEvent>
export type FreshRecord = Record<Buffer | null, FreshEvent>
