// The records of the chaos traffic (the wire format of docs/api.md and docs/rewards.md), as a property system or a broken client
// would send them: earns, reversals, redemptions, and the bad records of each dead-letter code.
// Pure builders; the generator decides what to send when.

export const SOURCES = ['HOTEL', 'CASINO', 'DINING'] as const
export type Source = typeof SOURCES[number]

export interface OutRecord {
  readonly topic: 'reward' | 'redeem'
  readonly key: string
  readonly value: Buffer
  /** Record timestamp (ms): the event time, or the producer's wall clock for a stamped-now one. */
  readonly timestampMs: number
}

const iso = (ms: number): string => new Date(ms).toISOString()

export function earn (memberId: string, eventId: string, source: Source, amountCents: number, atMs: number, currency = 'USD'): OutRecord {
  const value = { eventId, memberId, source, type: 'EARN', amountCents, currency, occurredAt: iso(atMs), propertyId: `${source}-PROP-${amountCents % 7}` }
  return { topic: 'reward', key: memberId, value: Buffer.from(JSON.stringify(value)), timestampMs: atMs }
}

export function reversal (memberId: string, eventId: string, originalEventId: string, source: Source, atMs: number): OutRecord {
  const value = { eventId, memberId, source, type: 'REVERSAL', amountCents: 0, currency: 'USD', occurredAt: iso(atMs), propertyId: `${source}-PROP-R`, originalEventId }
  return { topic: 'reward', key: memberId, value: Buffer.from(JSON.stringify(value)), timestampMs: atMs }
}

export function redemption (memberId: string, redemptionId: string, points: number, atMs: number): OutRecord {
  const value = { redemptionId, memberId, points, rewardCode: points > 5000 ? 'ROOM-NIGHT' : 'DINNER', channel: 'ONLINE', requestedAt: iso(atMs) }
  return { topic: 'redeem', key: memberId, value: Buffer.from(JSON.stringify(value)), timestampMs: atMs }
}

/** Not JSON (a record cut short), keyed by the member; its record timestamp is all the event
 *  time it has. */
export function malformed (topic: 'reward' | 'redeem', memberId: string, id: string, timestampMs: number): OutRecord {
  const text = topic === 'reward' ? `{"eventId":"${id}","memberId":"${memberId}","source":"HOT` : `{"redemptionId":"${id}","memberId":"${memberId}","poi`
  return { topic, key: memberId, value: Buffer.from(text), timestampMs }
}

/** The same record under another member's key: KEY_MISMATCH (partitioned by that key). */
export function underKey (record: OutRecord, key: string): OutRecord {
  return { ...record, key }
}

/** A well-formed EARN with a negative amount: SCHEMA_VIOLATION. */
export function negativeEarn (memberId: string, eventId: string, atMs: number): OutRecord {
  const value = { eventId, memberId, source: 'DINING', type: 'EARN', amountCents: -100, currency: 'USD', occurredAt: iso(atMs), propertyId: 'DINING-PROP-X' }
  return { topic: 'reward', key: memberId, value: Buffer.from(JSON.stringify(value)), timestampMs: atMs }
}
