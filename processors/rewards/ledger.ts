// The ledger (docs/rewards.md, "Topology"): reward events and redemptions of both inputs, fresh
// from the dedupe filter, meet the member's balance here — one processor owning the balances
// store, so each member's earns, reversals and redemptions are applied by one task, one at a
// time, in event-time order (docs/rewards.md, "Event time and order"), and a redemption is checked against the balance the
// earns before it left. The handlers (earn.ts, reversal.ts, redemption.ts) decide and write the
// stores; the ledger forwards their outcome: a confirmation to reward-confirmed / redeem-confirmed,
// or the unchanged input to the dead-letter topic with the reason in headers.
import type { Processor, ProcessorContext } from '../../topology/index.ts'
import type { ActivityStoreValue } from './activity.ts'
import type { EventDedupeEntry, RedemptionDedupeEntry } from './dedupe.ts'
import { DedupeClock } from './dedupe-clock.ts'
import { deadLetter } from './dlq.ts'
import { handleEarn } from './earn.ts'
import type { FreshEvent, FreshRecord } from './ledger-records.ts'
import type { IssuedPoints } from './points-windows.ts'
import { handleRedemption } from './redemption.ts'
import { handleReversal } from './reversal.ts'
import type { RewardsMetrics } from './rewards-metrics.ts'
import type { RuleSet } from './rules-engine.ts'
import type { Balance } from './schemas.ts'
import type { Outcome, RewardsState } from './state.ts'
import { REWARDS_STORES, type RewardsTopics } from './topics.ts'

export interface LedgerOptions {
  readonly rules: RuleSet
  readonly topics: RewardsTopics
  readonly dedupeRetentionMs: number
  readonly activityLimitPerMember: number
  readonly maxEventTimeAheadMs: number
  readonly metrics?: RewardsMetrics
}

/** The ledger's outputs: node names to forward to. */
export interface LedgerOutputs {
  readonly 'reward-confirmed': string
  readonly 'redeem-confirmed': string
  readonly 'reward-rejected': string
  readonly 'redeem-rejected': string
  /** Each accepted reward decision as IssuedPoints keyed by its propertyId, for the points
   *  windows (points-windows.ts); written to no user-visible topic. */
  readonly 'points-issued': string
}

/** The stores this node reads and writes: all of the topology's. */
export const LEDGER_STORES: readonly string[] = Object.values(REWARDS_STORES)

export class Ledger implements Processor<Buffer | null, FreshEvent, unknown, unknown> {
  readonly #options: LedgerOptions
  readonly #outputs: LedgerOutputs
  #context: ProcessorContext<unknown, unknown> | undefined
  #state: RewardsState | undefined
  #clock: DedupeClock | undefined
  /** The dedupe clock of the event being applied (FreshEvent.clockMs). */
  #clockMs = -1

  constructor (options: LedgerOptions, outputs: LedgerOutputs) {
    this.#options = options
    this.#outputs = outputs
  }

  init (context: ProcessorContext<unknown, unknown>): void {
    this.#context = context
    const o = this.#options
    const expiry = context.getStateStore<string, string>(REWARDS_STORES.dedupeExpiry)
    this.#clock = new DedupeClock(expiry, o.maxEventTimeAheadMs, () => context.currentSystemTimeMs())
    this.#state = {
      rules: o.rules,
      balances: context.getStateStore<string, Balance>(REWARDS_STORES.balances),
      events: context.getStateStore<string, EventDedupeEntry>(REWARDS_STORES.eventDedupe),
      redemptions: context.getStateStore<string, RedemptionDedupeEntry>(REWARDS_STORES.redemptionDedupe),
      redemptionIndex: context.getStateStore<string, string>(REWARDS_STORES.redemptionIndex),
      expiry,
      activity: context.getStateStore<string, ActivityStoreValue>(REWARDS_STORES.activity),
      dedupeRetentionMs: o.dedupeRetentionMs,
      activityLimitPerMember: o.activityLimitPerMember,
      dedupeClockMs: () => this.#clockMs,
      systemTimeMs: () => context.currentSystemTimeMs()
    }
  }

  process (record: FreshRecord): void {
    const state = this.#state!
    const fresh = record.value
    this.#clockMs = fresh.clockMs
    if (fresh.kind === 'reward') {
      const outcome = fresh.event.type === 'EARN'
        ? handleEarn(state, fresh.event, fresh.eventTimeMs)
        : handleReversal(state, fresh.event, fresh.eventTimeMs)
      this.#emit(record, outcome, this.#outputs['reward-confirmed'], this.#outputs['reward-rejected'], this.#options.topics.rewardEventsDlq)
      if (outcome.kind === 'accepted') {
        const issued: IssuedPoints = { type: outcome.output.type, points: outcome.output.points }
        this.#context!.forward({ key: fresh.event.propertyId, value: issued, timestamp: record.timestamp, headers: record.headers }, this.#outputs['points-issued'])
      }
    } else {
      this.#emit(record, handleRedemption(state, fresh.event, fresh.eventTimeMs), this.#outputs['redeem-confirmed'], this.#outputs['redeem-rejected'], this.#options.topics.redeemEventsDlq)
    }
  }

  #emit (record: FreshRecord, outcome: Outcome<{ memberId: string }>, confirmed: string, rejected: string, dlqTopic: string): void {
    const context = this.#context!
    if (outcome.kind === 'accepted') {
      this.#clock!.advance(this.#clockMs)
      // Input headers (traceparent…) travel on with the confirmation.
      context.forward({ key: outcome.output.memberId, value: outcome.output, timestamp: record.timestamp, headers: record.headers }, confirmed)
      return
    }
    this.#options.metrics?.deadLettered(dlqTopic, outcome.code)
    const input = { key: record.key, value: record.value.input, timestamp: record.timestamp, headers: record.headers }
    context.forward(deadLetter(input, outcome.code, outcome.message, context.recordMetadata()), rejected)
  }
}
