// The rewards processor: one processor with both inputs as parents, so each member's reward
// events and redemptions are handled by one task, one record at a time, in event-time order
// (SPEC §4). It sees raw bytes (key and value), validates them, hands valid events to the
// handlers and forwards their outcome: a confirmation, nothing (a duplicate), or the unchanged
// input to the dead-letter topic with the reason in headers. Nothing is dropped silently and no
// bad record stops the task.
import type { Processor, ProcessorContext, Record } from '../../topology/index.ts'
import type { ActivityStoreValue } from './activity.ts'
import { nextExpiryClockMs, purgeExpired, type EventDedupeEntry, type RedemptionDedupeEntry } from './dedupe.ts'
import { DedupeClock } from './dedupe-clock.ts'
import { dlqHeaders } from './dlq.ts'
import { handleEarn } from './earn.ts'
import { handleRedemption } from './redemption.ts'
import { handleReversal } from './reversal.ts'
import type { RuleSet } from './rules-engine.ts'
import type { Balance } from './schemas.ts'
import type { Outcome, RewardsState } from './state.ts'
import type { RewardsMetrics } from './rewards-metrics.ts'
import { REWARDS_NODES, REWARDS_STORES, type RewardsTopics } from './topics.ts'
import { redeemRecords, rewardRecords } from './validated-records.ts'
import type { DlqCode } from './validation.ts'

export interface RewardsProcessorOptions {
  readonly rules: RuleSet
  readonly topics: RewardsTopics
  readonly dedupeRetentionMs: number
  readonly purgeIntervalMs: number
  readonly maxPurgePerPunctuation: number
  readonly activityLimitPerMember: number
  readonly maxEventTimeAheadMs: number
  /** Prometheus counters (dead letters by code, duplicates); absent in tests that need none. */
  readonly metrics?: RewardsMetrics
}

/** Counters since the processor started (for metrics and tests). */
export interface RewardsProcessorCounters {
  accepted: number
  duplicates: number
  deadLettered: Partial<globalThis.Record<DlqCode, number>>
  purged: number
}

type RawRecord = Record<Buffer | null, Buffer | null>

export class RewardsProcessor implements Processor<Buffer | null, Buffer | null, unknown, unknown> {
  readonly #options: RewardsProcessorOptions
  #context: ProcessorContext<unknown, unknown> | undefined
  #state: RewardsState | undefined
  #clock: DedupeClock | undefined
  /** The dedupe clock of the record being handled (DedupeClock.at). */
  #recordClockMs = -1
  /** No purge finds work before the dedupe clock reaches this (dedupe.ts, nextExpiryClockMs).
   *  In memory only: after an aborted transaction brings purged entries back, they are older
   *  than this and wait for the next purge that runs; decisions never depend on the purge. */
  #purgeDueAtClockMs = Number.NEGATIVE_INFINITY
  readonly counters: RewardsProcessorCounters = { accepted: 0, duplicates: 0, deadLettered: {}, purged: 0 }

  constructor (options: RewardsProcessorOptions) {
    this.#options = options
  }

  init (context: ProcessorContext<unknown, unknown>): void {
    this.#context = context
    const o = this.#options
    const expiry = context.getStateStore<string, string>(REWARDS_STORES.dedupeExpiry)
    const clock = this.#clock = new DedupeClock(expiry, o.maxEventTimeAheadMs, () => context.currentSystemTimeMs())
    const state: RewardsState = {
      rules: o.rules,
      balances: context.getStateStore<string, Balance>(REWARDS_STORES.balances),
      events: context.getStateStore<string, EventDedupeEntry>(REWARDS_STORES.eventDedupe),
      redemptions: context.getStateStore<string, RedemptionDedupeEntry>(REWARDS_STORES.redemptionDedupe),
      redemptionIndex: context.getStateStore<string, string>(REWARDS_STORES.redemptionIndex),
      expiry,
      activity: context.getStateStore<string, ActivityStoreValue>(REWARDS_STORES.activity),
      dedupeRetentionMs: o.dedupeRetentionMs,
      activityLimitPerMember: o.activityLimitPerMember,
      dedupeClockMs: () => this.#recordClockMs,
      systemTimeMs: () => context.currentSystemTimeMs()
    }
    this.#state = state
    // Stream time only says when to look (the task's stream time moves with every valid event
    // time); what is expired is decided by the dedupe clock, which only accepted events move.
    context.schedule(o.purgeIntervalMs, 'STREAM_TIME', () => {
      const clockMs = clock.current()
      if (clockMs < this.#purgeDueAtClockMs) return
      const removed = purgeExpired(state, clockMs, o.dedupeRetentionMs, o.maxPurgePerPunctuation)
      this.counters.purged += removed
      // A full batch may have left expired entries: look again at the next punctuation.
      this.#purgeDueAtClockMs = removed >= o.maxPurgePerPunctuation ? clockMs : nextExpiryClockMs(state.expiry, clockMs, o.dedupeRetentionMs)
    })
  }

  process (record: RawRecord): void {
    const context = this.#context!
    const state = this.#state!
    const metadata = context.recordMetadata()
    const topic = metadata?.topic
    if (topic === this.#options.topics.rewardEvents) {
      const validated = rewardRecords.take(record.key, record.value, metadata)
      if (!validated.ok) { this.#deadLetter(record, REWARDS_NODES.rewardDlqSink, validated.code, validated.message); return }
      const event = validated.value
      this.#recordClockMs = this.#clock!.at(validated.eventTimeMs)
      const outcome = event.type === 'EARN'
        ? handleEarn(state, event, validated.eventTimeMs)
        : handleReversal(state, event, validated.eventTimeMs)
      this.#emit(record, outcome, REWARDS_NODES.rewardConfirmedSink, REWARDS_NODES.rewardDlqSink)
    } else if (topic === this.#options.topics.redeemEvents) {
      const validated = redeemRecords.take(record.key, record.value, metadata)
      if (!validated.ok) { this.#deadLetter(record, REWARDS_NODES.redeemDlqSink, validated.code, validated.message); return }
      this.#recordClockMs = this.#clock!.at(validated.eventTimeMs)
      this.#emit(record, handleRedemption(state, validated.value, validated.eventTimeMs), REWARDS_NODES.redeemConfirmedSink, REWARDS_NODES.redeemDlqSink)
    } else {
      throw new Error(`record from unexpected topic ${String(topic)}`)
    }
  }

  #emit (record: RawRecord, outcome: Outcome<{ memberId: string }>, sink: string, dlqSink: string): void {
    switch (outcome.kind) {
      case 'accepted':
        this.counters.accepted++
        this.#clock!.advance(this.#recordClockMs)
        // Input headers (traceparent…) travel on with the confirmation.
        this.#context!.forward({ key: outcome.output.memberId, value: outcome.output, timestamp: record.timestamp, headers: record.headers }, sink)
        return
      case 'duplicate':
        this.counters.duplicates++
        this.#options.metrics?.duplicate(this.#context!.recordMetadata()?.topic ?? '')
        return
      case 'rejected':
        this.#deadLetter(record, dlqSink, outcome.code, outcome.message)
    }
  }

  #deadLetter (record: RawRecord, sink: string, code: DlqCode, message: string): void {
    this.counters.deadLettered[code] = (this.counters.deadLettered[code] ?? 0) + 1
    const topics = this.#options.topics
    this.#options.metrics?.deadLettered(sink === REWARDS_NODES.rewardDlqSink ? topics.rewardEventsDlq : topics.redeemEventsDlq, code)
    const headers = dlqHeaders(record.headers, code, message, this.#context!.recordMetadata())
    this.#context!.forward({ key: record.key, value: record.value, timestamp: record.timestamp, headers }, sink)
  }
}
