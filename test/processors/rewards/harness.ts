// Test harness: the rewards topology on the real TopologyTestDriver, with builders for valid
// events and helpers to read outputs, dead letters and stores.
import type { Headers } from '../../../log/log-port.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { TopologyTestDriver, type TestRecord } from '../../../topology/test-driver.ts'
import {
  buildRewardsTopology, defaultRuleSet, DLQ_HEADERS, REWARDS_STORES, REWARDS_TOPICS,
  type ActivityEntry, type Balance, type RedeemConfirmed, type RewardConfirmed, type RewardsTopologyOptions
} from '../../../processors/rewards/index.ts'

export const START_MS = Date.parse('2026-04-01T12:00:00Z')

export interface DeadLetter {
  key: string | null
  value: string | null
  code: string
  message: string
  headers: Record<string, string>
}

export interface Harness {
  driver: TopologyTestDriver
  /** Pipes a reward event: an object is sent as JSON, a string as is (malformed input). */
  reward (value: object | string | null, options?: { key?: string | null, headers?: Headers, timestamp?: number }): void
  redeem (value: object | string | null, options?: { key?: string | null, headers?: Headers, timestamp?: number }): void
  rewardConfirmed (): RewardConfirmed[]
  redeemConfirmed (): RedeemConfirmed[]
  rewardDlq (): DeadLetter[]
  redeemDlq (): DeadLetter[]
  rewardConfirmedRecords (): TestRecord<string, RewardConfirmed>[]
  balance (memberId: string): Balance | undefined
  activity (memberId: string): ActivityEntry[]
  storeSize (name: string): number
  close (): Promise<void>
}

function memberOf (value: object | string | null): string | null {
  if (value !== null && typeof value === 'object' && 'memberId' in value && typeof value.memberId === 'string') return value.memberId
  return 'm-1'
}

function toDeadLetter (r: TestRecord<string | null, string | null>): DeadLetter {
  const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.toString('utf8')]))
  return { key: r.key, value: r.value, code: headers[DLQ_HEADERS.code] ?? '', message: headers[DLQ_HEADERS.message] ?? '', headers }
}

export function harness (options: Partial<RewardsTopologyOptions> = {}, driverOptions: { partitions?: number, startTimeMs?: number } = {}): Harness {
  const topology = buildRewardsTopology({ rules: defaultRuleSet(), storeKind: 'in-memory', ...options })
  const driver = new TopologyTestDriver(topology, { applicationId: 'rewards-test', partitions: driverOptions.partitions ?? 1, startTimeMs: driverOptions.startTimeMs ?? START_MS })
  const rewardIn = driver.createInputTopic(REWARDS_TOPICS.rewardEvents, Serdes.string(), Serdes.string())
  const redeemIn = driver.createInputTopic(REWARDS_TOPICS.redeemEvents, Serdes.string(), Serdes.string())
  const rewardOut = driver.createOutputTopic(REWARDS_TOPICS.rewardConfirmed, Serdes.string(), Serdes.json<RewardConfirmed>())
  const redeemOut = driver.createOutputTopic(REWARDS_TOPICS.redeemConfirmed, Serdes.string(), Serdes.json<RedeemConfirmed>())
  const rewardDlq = driver.createOutputTopic(REWARDS_TOPICS.rewardEventsDlq, Serdes.string(), Serdes.string())
  const redeemDlq = driver.createOutputTopic(REWARDS_TOPICS.redeemEventsDlq, Serdes.string(), Serdes.string())
  const pipe = (input: typeof rewardIn, value: object | string | null, o: { key?: string | null, headers?: Headers, timestamp?: number } = {}): void => {
    const key = o.key === undefined ? memberOf(value) : o.key
    input.pipeInput(key, value === null ? null : typeof value === 'string' ? value : JSON.stringify(value), o.timestamp, o.headers ?? {})
  }
  return {
    driver,
    reward: (value, o) => pipe(rewardIn, value, o),
    redeem: (value, o) => pipe(redeemIn, value, o),
    rewardConfirmed: () => rewardOut.readValuesToList(),
    redeemConfirmed: () => redeemOut.readValuesToList(),
    rewardConfirmedRecords: () => rewardOut.readRecordsToList(),
    rewardDlq: () => rewardDlq.readRecordsToList().map(toDeadLetter),
    redeemDlq: () => redeemDlq.readRecordsToList().map(toDeadLetter),
    balance: memberId => driver.getKeyValueStore<string, Balance>(REWARDS_STORES.balances).get(memberId),
    activity: memberId => driver.getKeyValueStore<string, ActivityEntry>(REWARDS_STORES.activity).prefixScan(`${memberId}:`, { limit: 10_000 }).map(kv => kv.value),
    storeSize: name => driver.getKeyValueStore<string, unknown>(name).range(undefined, undefined, { limit: 1_000_000 }).length,
    close: () => driver.close()
  }
}

let counter = 0

export function earn (fields: Partial<{ eventId: string, memberId: string, source: string, amountCents: number, currency: string, occurredAt: string, propertyId: string }> = {}): Record<string, unknown> {
  return {
    eventId: `e-${++counter}`,
    memberId: 'm-1',
    source: 'HOTEL',
    type: 'EARN',
    amountCents: 10_000,
    currency: 'USD',
    occurredAt: '2026-03-01T18:30:00Z',
    propertyId: 'LV-STRIP-01',
    ...fields
  }
}

export function reversal (originalEventId: string, fields: Partial<{ eventId: string, memberId: string, source: string, amountCents: number, occurredAt: string, propertyId: string }> = {}): Record<string, unknown> {
  return { ...earn(fields), type: 'REVERSAL', originalEventId, eventId: fields.eventId ?? `rev-${++counter}` }
}

export function redeem (fields: Partial<{ redemptionId: string, memberId: string, points: number, rewardCode: string, channel: string, requestedAt: string }> = {}): Record<string, unknown> {
  return {
    redemptionId: `r-${++counter}`,
    memberId: 'm-1',
    points: 100,
    rewardCode: 'ROOM-NIGHT',
    channel: 'ONLINE',
    requestedAt: '2026-03-02T09:00:00Z',
    ...fields
  }
}

/** Pipes EARNs until the member has exactly `qualifyingPoints` (HOTEL at MEMBER tier: 1 cent =
 *  0.1 point, so 10 cents = 1 point; only valid while the member stays at MEMBER tier). */
export function seedMemberPoints (h: Harness, memberId: string, qualifyingPoints: number): void {
  if (qualifyingPoints >= 10_000) throw new Error('seedMemberPoints works below SILVER only')
  if (qualifyingPoints > 0) h.reward(earn({ memberId, amountCents: qualifyingPoints * 10 }))
}
