// The platform topology (docs/rewards.md, "Topology"), declared with the engine's
// DSL: both inputs are validated (bad records to their dead-letter topics), re-sends are dropped
// by the dedupe filter, and reward events and redemptions meet in the ledger, which owns the
// balances and confirms each accepted event.
//
//   reward-events ─► validation ─┬─ invalid ──────────────────────────────────► reward-events-dlq
//                                └─ valid ─┐
//                                          ├─► dedupe ─► ledger ─┬─► reward-confirmed, redeem-confirmed
//                                ┌─ valid ─┘                     └─ rejected ─► reward-events-dlq, redeem-events-dlq
//   redeem-events ─► validation ─┴─ invalid ──────────────────────────────────► redeem-events-dlq
//
// Stores: the ledger owns all six (balances, event-dedupe, redemption-dedupe, redemption-index,
// dedupe-expiry, activity); the dedupe filter reads the four dedupe ones and purges them. Both
// inputs lead to the dedupe filter, so the graph is one sub-topology: the engine runs one task
// per partition with both topics' partition N (co-partitioned by memberId, same partition count),
// task ids 0_N as before the DSL, and the stores and changelog topics keep their names
// (REWARDS_STORES).
import { processMerged, processRouted, Serdes, StreamsBuilder, type StoreKind, type Topology } from '../../topology/index.ts'
import type { ActivityStoreValue } from './activity.ts'
import type { EventDedupeEntry, RedemptionDedupeEntry } from './dedupe.ts'
import { DEDUPE_FILTER_STORES, DedupeFilter } from './dedupe-filter.ts'
import { redeemEventTime, rewardEventTime } from './event-time.ts'
import { Ledger, LEDGER_STORES, type LedgerOutputs } from './ledger.ts'
import type { FreshEvent, ValidEvent } from './ledger-records.ts'
import { addPointsWindows, type IssuedPoints, type PointsWindowsOptions } from './points-windows.ts'
import type { RewardsMetrics } from './rewards-metrics.ts'
import type { RuleSet } from './rules-engine.ts'
import type { Balance, RedeemConfirmed, RewardConfirmed } from './schemas.ts'
import { REWARDS_NODES, REWARDS_STORES, REWARDS_TOPICS, type RewardsTopics } from './topics.ts'
import { redeemValidation, rewardValidation, type ValidationOutputs } from './validation-split.ts'

const DAY_MS = 24 * 60 * 60 * 1000
/** The handlers never mutate a value they read from a store (they build new ones), so the stores
 *  may share decoded values between reads (stores/typed-key-value-store.ts). Only where a value is
 *  read back per record (balances): a dedupe entry or an activity entry is written once and read
 *  rarely, and keeping its object next to its bytes took cache space from the balances and kept
 *  the object alive for the GC (docs/benchmarks.md, "Rewards at 500k events"). */
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
  /** Grace and retention of the points windows; default POINTS_WINDOWS. */
  readonly pointsWindows?: PointsWindowsOptions['windows']
}

type Bytes = Buffer | null

/** What the validation split emits: valid events on, input records to the dead-letter topic. */
interface ValidationStreams {
  valid: { key: Bytes, value: ValidEvent }
  invalid: { key: Bytes, value: Bytes }
}

/** What the ledger emits, per output (LedgerOutputs). */
interface LedgerStreams {
  'reward-confirmed': { key: string, value: RewardConfirmed }
  'redeem-confirmed': { key: string, value: RedeemConfirmed }
  'reward-rejected': { key: Bytes, value: Bytes }
  'redeem-rejected': { key: Bytes, value: Bytes }
  'points-issued': { key: string, value: IssuedPoints }
}

const VALIDATION_OUTPUTS: ReadonlyArray<keyof ValidationOutputs> = ['valid', 'invalid']
const LEDGER_OUTPUTS: ReadonlyArray<keyof LedgerOutputs> = ['reward-confirmed', 'redeem-confirmed', 'reward-rejected', 'redeem-rejected', 'points-issued']

export function buildRewardsTopology (options: RewardsTopologyOptions): Topology {
  const topics: RewardsTopics = { ...REWARDS_TOPICS, ...options.topics }
  const o = {
    rules: options.rules,
    topics,
    dedupeRetentionMs: options.dedupeRetentionMs ?? REWARDS_DEFAULTS.dedupeRetentionMs,
    purgeIntervalMs: options.purgeIntervalMs ?? REWARDS_DEFAULTS.purgeIntervalMs,
    maxPurgePerPunctuation: options.maxPurgePerPunctuation ?? REWARDS_DEFAULTS.maxPurgePerPunctuation,
    activityLimitPerMember: options.activityLimitPerMember ?? REWARDS_DEFAULTS.activityLimitPerMember,
    maxEventTimeAheadMs: options.maxEventTimeAheadMs ?? REWARDS_DEFAULTS.maxEventTimeAheadMs,
    ...(options.metrics !== undefined ? { metrics: options.metrics } : {})
  }
  if (!(o.dedupeRetentionMs > 0)) throw new RangeError('dedupeRetentionMs must be positive')
  if (!(o.activityLimitPerMember >= 1)) throw new RangeError('activityLimitPerMember must be at least 1')
  const kind = options.storeKind ?? REWARDS_DEFAULTS.storeKind
  const n = REWARDS_NODES
  const raw = { keySerde: Serdes.bytesOrNull(), valueSerde: Serdes.bytesOrNull() }
  const builder = new StreamsBuilder()

  // The stores, connected below to the nodes that use them. Declared in this order since the
  // first version (the order stores open in).
  builder.topology
    .addStateStore({ name: REWARDS_STORES.balances, kind, keySerde: Serdes.string(), valueSerde: Serdes.json<Balance>(STATE_VALUES), changelog: true })
    .addStateStore({ name: REWARDS_STORES.eventDedupe, kind, keySerde: Serdes.string(), valueSerde: Serdes.json<EventDedupeEntry>(), changelog: true })
    .addStateStore({ name: REWARDS_STORES.redemptionDedupe, kind, keySerde: Serdes.string(), valueSerde: Serdes.json<RedemptionDedupeEntry>(), changelog: true })
    .addStateStore({ name: REWARDS_STORES.redemptionIndex, kind, keySerde: Serdes.string(), valueSerde: Serdes.string(), changelog: true })
    .addStateStore({ name: REWARDS_STORES.dedupeExpiry, kind, keySerde: Serdes.string(), valueSerde: Serdes.string(), changelog: true })
    .addStateStore({ name: REWARDS_STORES.activity, kind, keySerde: Serdes.string(), valueSerde: Serdes.json<ActivityStoreValue>(), changelog: true })

  // Both inputs as bytes: a record that is not a valid event must still reach its dead-letter
  // topic unchanged. The extractors validate (event time = occurredAt / requestedAt).
  const rewardEvents = builder.stream<Bytes, Bytes>(topics.rewardEvents, { name: n.rewardSource, ...raw, timestampExtractor: rewardEventTime })
  const redeemEvents = builder.stream<Bytes, Bytes>(topics.redeemEvents, { name: n.redeemSource, ...raw, timestampExtractor: redeemEventTime })

  // Validation split: valid events on, every other record to its input's dead-letter topic.
  const rewards = processRouted<Bytes, Bytes, ValidationStreams>(builder, rewardEvents,
    outputs => rewardValidation(outputs, topics.rewardEventsDlq, o.metrics), { name: n.rewardValidation, outputs: VALIDATION_OUTPUTS })
  const redeems = processRouted<Bytes, Bytes, ValidationStreams>(builder, redeemEvents,
    outputs => redeemValidation(outputs, topics.redeemEventsDlq, o.metrics), { name: n.redeemValidation, outputs: VALIDATION_OUTPUTS })

  // Dedupe: a re-sent eventId / redemptionId is dropped here.
  const fresh = processMerged<Bytes, ValidEvent, Bytes, FreshEvent>(builder, [rewards.valid, redeems.valid],
    () => new DedupeFilter(o), { name: n.dedupe, stores: DEDUPE_FILTER_STORES })

  // The ledger: reward events and redemptions against the balances, in one task per member.
  const ledger = processRouted<Bytes, FreshEvent, LedgerStreams>(builder, fresh,
    outputs => new Ledger(o, outputs), { name: n.ledger, stores: LEDGER_STORES, outputs: LEDGER_OUTPUTS })

  ledger['reward-confirmed'].to(topics.rewardConfirmed, { name: n.rewardConfirmedSink, keySerde: Serdes.string(), valueSerde: Serdes.json<RewardConfirmed>() })
  ledger['redeem-confirmed'].to(topics.redeemConfirmed, { name: n.redeemConfirmedSink, keySerde: Serdes.string(), valueSerde: Serdes.json<RedeemConfirmed>() })
  rewards.invalid.merge(ledger['reward-rejected'], n.rewardDeadLetters).to(topics.rewardEventsDlq, { name: n.rewardDlqSink, ...raw })
  redeems.invalid.merge(ledger['redeem-rejected'], n.redeemDeadLetters).to(topics.redeemEventsDlq, { name: n.redeemDlqSink, ...raw })

  // Points issued per property per hour and per day: a second sub-topology behind a
  // repartition topic, queryable window stores only (points-windows.ts).
  addPointsWindows(ledger['points-issued'], { storeKind: kind, ...(options.pointsWindows !== undefined ? { windows: options.pointsWindows } : {}) })
  return builder.build()
}
