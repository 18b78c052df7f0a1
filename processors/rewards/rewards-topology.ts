// The platform topology (SPEC §2–§5), declared with the engine's low-level Topology API:
//
//   reward-events ─┐                          ┌─► reward-confirmed
//                  ├─► rewards-processor ─────┼─► redeem-confirmed
//   redeem-events ─┘   (stores: balances,     ├─► reward-events-dlq
//                       event-dedupe,          └─► redeem-events-dlq
//                       redemption-dedupe,
//                       redemption-index,
//                       dedupe-expiry, activity)
//
// Both inputs feed one processor, so they form one sub-topology: the engine runs one task per
// partition with both topics' partition N (co-partitioned by memberId, same partition count).
import { Serdes, Topology, type StoreKind } from '../../topology/index.ts'
import type { ActivityStoreValue } from './activity.ts'
import type { EventDedupeEntry, RedemptionDedupeEntry } from './dedupe.ts'
import { redeemEventTime, rewardEventTime } from './event-time.ts'
import type { RewardsMetrics } from './rewards-metrics.ts'
import { RewardsProcessor } from './rewards-processor.ts'
import type { RuleSet } from './rules-engine.ts'
import type { Balance } from './schemas.ts'
import { REWARDS_NODES, REWARDS_STORES, REWARDS_TOPICS, type RewardsTopics } from './topics.ts'

const DAY_MS = 24 * 60 * 60 * 1000
/** The handlers never mutate a value they read from a store (they build new ones), so the stores
 *  may share decoded values between reads (stores/typed-key-value-store.ts). */
const STATE_VALUES = { immutableValues: true }

export const REWARDS_DEFAULTS = Object.freeze({
  /** How long (of dedupe clock: event time of accepted events, dedupe-clock.ts) an accepted
   *  eventId / redemptionId is remembered: duplicates and
   *  reversals must arrive within it. */
  dedupeRetentionMs: 90 * DAY_MS,
  purgeIntervalMs: 60_000,
  maxPurgePerPunctuation: 10_000,
  activityLimitPerMember: 100,
  /** The dedupe clock is capped at wall clock + this: a far-future occurredAt
   *  must not expire every dedupe entry. */
  maxEventTimeAheadMs: DAY_MS,
  storeKind: 'rocksdb' as StoreKind
})

export interface RewardsTopologyOptions {
  readonly rules: RuleSet
  /** Topic names; default REWARDS_TOPICS. */
  readonly topics?: Partial<RewardsTopics>
  readonly dedupeRetentionMs?: number
  /** Stream-time interval of the dedupe purge. */
  readonly purgeIntervalMs?: number
  /** Bound on the work of one purge. */
  readonly maxPurgePerPunctuation?: number
  readonly activityLimitPerMember?: number
  readonly maxEventTimeAheadMs?: number
  /** Default rocksdb. */
  readonly storeKind?: StoreKind
  /** Counters of dead letters and duplicates (the processor role passes its registry's). */
  readonly metrics?: RewardsMetrics
}

export function buildRewardsTopology (options: RewardsTopologyOptions): Topology {
  const topics: RewardsTopics = { ...REWARDS_TOPICS, ...options.topics }
  const processorOptions = {
    rules: options.rules,
    topics,
    dedupeRetentionMs: options.dedupeRetentionMs ?? REWARDS_DEFAULTS.dedupeRetentionMs,
    purgeIntervalMs: options.purgeIntervalMs ?? REWARDS_DEFAULTS.purgeIntervalMs,
    maxPurgePerPunctuation: options.maxPurgePerPunctuation ?? REWARDS_DEFAULTS.maxPurgePerPunctuation,
    activityLimitPerMember: options.activityLimitPerMember ?? REWARDS_DEFAULTS.activityLimitPerMember,
    maxEventTimeAheadMs: options.maxEventTimeAheadMs ?? REWARDS_DEFAULTS.maxEventTimeAheadMs,
    ...(options.metrics !== undefined ? { metrics: options.metrics } : {})
  }
  if (!(processorOptions.dedupeRetentionMs > 0)) throw new RangeError('dedupeRetentionMs must be positive')
  if (!(processorOptions.activityLimitPerMember >= 1)) throw new RangeError('activityLimitPerMember must be at least 1')
  const kind = options.storeKind ?? REWARDS_DEFAULTS.storeKind
  const n = REWARDS_NODES
  const raw = { keySerde: Serdes.bytesOrNull(), valueSerde: Serdes.bytesOrNull() }
  const confirmed = { keySerde: Serdes.string(), valueSerde: Serdes.json<unknown>() }
  return new Topology()
    .addSource(n.rewardSource, { topics: [topics.rewardEvents], ...raw, timestampExtractor: rewardEventTime })
    .addSource(n.redeemSource, { topics: [topics.redeemEvents], ...raw, timestampExtractor: redeemEventTime })
    .addProcessor(n.processor, () => new RewardsProcessor(processorOptions), n.rewardSource, n.redeemSource)
    .addStateStore({ name: REWARDS_STORES.balances, kind, keySerde: Serdes.string(), valueSerde: Serdes.json<Balance>(STATE_VALUES), changelog: true }, n.processor)
    .addStateStore({ name: REWARDS_STORES.eventDedupe, kind, keySerde: Serdes.string(), valueSerde: Serdes.json<EventDedupeEntry>(STATE_VALUES), changelog: true }, n.processor)
    .addStateStore({ name: REWARDS_STORES.redemptionDedupe, kind, keySerde: Serdes.string(), valueSerde: Serdes.json<RedemptionDedupeEntry>(STATE_VALUES), changelog: true }, n.processor)
    .addStateStore({ name: REWARDS_STORES.redemptionIndex, kind, keySerde: Serdes.string(), valueSerde: Serdes.string(), changelog: true }, n.processor)
    .addStateStore({ name: REWARDS_STORES.dedupeExpiry, kind, keySerde: Serdes.string(), valueSerde: Serdes.string(), changelog: true }, n.processor)
    .addStateStore({ name: REWARDS_STORES.activity, kind, keySerde: Serdes.string(), valueSerde: Serdes.json<ActivityStoreValue>(STATE_VALUES), changelog: true }, n.processor)
    .addSink(n.rewardConfirmedSink, topics.rewardConfirmed, confirmed, n.processor)
    .addSink(n.redeemConfirmedSink, topics.redeemConfirmed, confirmed, n.processor)
    .addSink(n.rewardDlqSink, topics.rewardEventsDlq, raw, n.processor)
    .addSink(n.redeemDlqSink, topics.redeemEventsDlq, raw, n.processor)
}
