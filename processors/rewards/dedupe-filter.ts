// The dedupe filter (docs/rewards.md, "Topology" and "Duplicates and dedupe retention"): valid
// events of both inputs meet here, before the ledger. An eventId / redemptionId already accepted
// within the dedupe retention is a duplicate: counted and dropped, with no output and no effect.
// Any other event goes on to the ledger with the dedupe clock its decision is made at (the ledger
// records it at that clock and moves the clock when it accepts it).
//
// The ledger writes the dedupe entries in the same step as the balance; this node reads them and
// purges the expired ones (dedupe.ts): a STREAM_TIME punctuation says when to look, the dedupe
// clock — moved only by accepted events — what has expired.
import type { Processor, ProcessorContext } from '../../topology/index.ts'
import { dedupeKey, isLive, nextExpiryClockMs, purgeExpired, type DedupeStores, type EventDedupeEntry, type RedemptionDedupeEntry } from './dedupe.ts'
import { DedupeClock } from './dedupe-clock.ts'
import type { FreshEvent, ValidEvent, ValidRecord } from './ledger-records.ts'
import type { RewardsMetrics } from './rewards-metrics.ts'
import { REWARDS_STORES } from './topics.ts'

export interface DedupeFilterOptions {
  readonly dedupeRetentionMs: number
  /** Stream-time interval of the purge. */
  readonly purgeIntervalMs: number
  /** Bound on the work of one purge. */
  readonly maxPurgePerPunctuation: number
  readonly maxEventTimeAheadMs: number
  readonly metrics?: RewardsMetrics
}

/** The stores this node reads (and purges). */
export const DEDUPE_FILTER_STORES: readonly string[] = [REWARDS_STORES.eventDedupe, REWARDS_STORES.redemptionDedupe, REWARDS_STORES.redemptionIndex, REWARDS_STORES.dedupeExpiry]

export class DedupeFilter implements Processor<Buffer | null, ValidEvent, Buffer | null, FreshEvent> {
  readonly #options: DedupeFilterOptions
  #context: ProcessorContext<Buffer | null, FreshEvent> | undefined
  #stores: DedupeStores | undefined
  #clock: DedupeClock | undefined
  /** No purge finds work before the dedupe clock reaches this (dedupe.ts, nextExpiryClockMs).
   *  In memory only: after an aborted transaction brings purged entries back, they are older
   *  than this and wait for the next purge that runs; decisions never depend on the purge. */
  #purgeDueAtClockMs = Number.NEGATIVE_INFINITY

  constructor (options: DedupeFilterOptions) {
    this.#options = options
  }

  init (context: ProcessorContext<Buffer | null, FreshEvent>): void {
    this.#context = context
    const o = this.#options
    const stores: DedupeStores = this.#stores = {
      events: context.getStateStore<string, EventDedupeEntry>(REWARDS_STORES.eventDedupe),
      redemptions: context.getStateStore<string, RedemptionDedupeEntry>(REWARDS_STORES.redemptionDedupe),
      redemptionIndex: context.getStateStore<string, string>(REWARDS_STORES.redemptionIndex),
      expiry: context.getStateStore<string, string>(REWARDS_STORES.dedupeExpiry)
    }
    const clock = this.#clock = new DedupeClock(stores.expiry, o.maxEventTimeAheadMs, () => context.currentSystemTimeMs())
    // Stream time only says when to look (the task's stream time moves with every valid event
    // time); what is expired is decided by the dedupe clock, which only accepted events move.
    context.schedule(o.purgeIntervalMs, 'STREAM_TIME', () => {
      const clockMs = clock.current()
      if (clockMs < this.#purgeDueAtClockMs) return
      const removed = purgeExpired(stores, clockMs, o.dedupeRetentionMs, o.maxPurgePerPunctuation)
      // A full batch may have left expired entries: look again at the next punctuation.
      this.#purgeDueAtClockMs = removed >= o.maxPurgePerPunctuation ? clockMs : nextExpiryClockMs(stores.expiry, clockMs, o.dedupeRetentionMs)
    })
  }

  process (record: ValidRecord): void {
    const valid = record.value
    const clockMs = this.#clock!.at(valid.eventTimeMs)
    const stores = this.#stores!
    const seen: { seenAtMs: number } | undefined = valid.kind === 'reward'
      ? stores.events.get(dedupeKey(valid.event.memberId, valid.event.eventId))
      : stores.redemptions.get(dedupeKey(valid.event.memberId, valid.event.redemptionId))
    if (isLive(seen, clockMs, this.#options.dedupeRetentionMs)) {
      this.#options.metrics?.duplicate(this.#context!.recordMetadata()?.topic ?? '')
      return
    }
    this.#context!.forward({ key: record.key, value: { ...valid, clockMs }, timestamp: record.timestamp, headers: record.headers })
  }
}
