// Demo load: a deterministic (seeded) stream of realistic input records for reward-events and
// redeem-events. Members have a home property and a spending profile; the mix is hotel stays,
// casino play (coin-in), dining checks, reversals of recent earns (refunds, voided play),
// redemptions sized from what the member has probably earned (some too large: rejected), producer
// re-sends (duplicates) and a few bad records of each dead-letter kind.
//
// Memory is bounded: per member a few numbers and its last RECENT_EARNS eventIds.
import { REWARDS_TOPICS } from '../topics.ts'

export interface DemoOptions {
  readonly seed: number
  /** Number of distinct members (default 1000). */
  readonly members?: number
  /** Event time of the first record (default 2026-03-01T00:00:00Z). */
  readonly startTimeMs?: number
  /** Mean event-time gap between consecutive records (default 1000 ms). */
  readonly meanGapMs?: number
  /** Share of bad records (default 0.005) and of exact re-sends (default 0.01). */
  readonly badRecordRate?: number
  readonly duplicateRate?: number
}

export interface DemoRecord {
  readonly topic: string
  /** Normally the memberId (a key-mismatch record has another member's id). */
  readonly key: string
  /** JSON text (malformed for a MALFORMED_JSON record). */
  readonly value: string
  /** Record timestamp = the event time. */
  readonly timestamp: number
}

export const DEMO_PROPERTIES = [
  { id: 'LV-SUNSET-PALMS', kinds: ['HOTEL', 'CASINO', 'DINING'] },
  { id: 'LV-DESERT-ROSE', kinds: ['HOTEL', 'CASINO', 'DINING'] },
  { id: 'LV-NEON-GARDEN', kinds: ['CASINO', 'DINING'] },
  { id: 'AC-BOARDWALK-BAY', kinds: ['HOTEL', 'CASINO', 'DINING'] },
  { id: 'MO-HARBOUR-LIGHTS', kinds: ['HOTEL', 'CASINO'] },
  { id: 'NY-PARK-AVENUE', kinds: ['HOTEL', 'DINING'] },
  { id: 'MI-RIVERSIDE-GRILL', kinds: ['DINING'] },
  { id: 'NV-LAKE-TAHOE-LODGE', kinds: ['HOTEL', 'DINING'] }
] as const

const REWARDS = [
  { code: 'ROOM-NIGHT', channel: 'HOTEL', points: 25_000 },
  { code: 'SUITE-UPGRADE', channel: 'HOTEL', points: 15_000 },
  { code: 'SPA-CREDIT-50', channel: 'HOTEL', points: 5_000 },
  { code: 'FREE-PLAY-25', channel: 'CASINO', points: 2_500 },
  { code: 'FREE-PLAY-100', channel: 'CASINO', points: 10_000 },
  { code: 'BUFFET-FOR-TWO', channel: 'DINING', points: 6_000 },
  { code: 'STEAKHOUSE-DINNER', channel: 'DINING', points: 18_000 },
  { code: 'SHOW-TICKETS', channel: 'ONLINE', points: 12_000 },
  { code: 'GIFT-CARD-20', channel: 'ONLINE', points: 2_000 }
] as const

type Profile = 'casual' | 'regular' | 'high-roller'
const RECENT_EARNS = 4

interface Member {
  readonly id: string
  readonly profile: Profile
  readonly home: number
  /** The generator's own estimate of points available (MEMBER-tier rates: a guess, on purpose). */
  estimate: number
  readonly recentEarns: Array<{ eventId: string, record: DemoRecord }>
  seq: number
}

/** mulberry32: small, fast, good enough for load generation, and the same everywhere. */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function demoMemberId (n: number): string {
  return `M${String(n).padStart(7, '0')}`
}

export class DemoGenerator {
  readonly #random: () => number
  readonly #members: Member[]
  readonly #badRate: number
  readonly #duplicateRate: number
  readonly #meanGapMs: number
  #timeMs: number
  #count = 0
  #lastRecords: DemoRecord[] = []

  constructor (options: DemoOptions) {
    this.#random = seededRandom(options.seed)
    const members = options.members ?? 1000
    if (!Number.isInteger(members) || members < 1) throw new RangeError('members must be a positive integer')
    this.#badRate = options.badRecordRate ?? 0.005
    this.#duplicateRate = options.duplicateRate ?? 0.01
    this.#meanGapMs = options.meanGapMs ?? 1000
    this.#timeMs = options.startTimeMs ?? Date.parse('2026-03-01T00:00:00Z')
    this.#members = Array.from({ length: members }, (_, i) => {
      const r = this.#random()
      const profile: Profile = r < 0.05 ? 'high-roller' : r < 0.35 ? 'regular' : 'casual'
      return { id: demoMemberId(i + 1), profile, home: Math.floor(this.#random() * DEMO_PROPERTIES.length), estimate: 0, recentEarns: [], seq: 0 }
    })
  }

  /** Records generated so far. */
  get count (): number { return this.#count }

  next (): DemoRecord {
    this.#count++
    this.#timeMs += Math.max(1, Math.round(-Math.log(1 - this.#random()) * this.#meanGapMs))
    const roll = this.#random()
    let record: DemoRecord
    if (roll < this.#duplicateRate && this.#lastRecords.length > 0) {
      // A producer retry: the same record again, unchanged.
      record = this.#lastRecords[Math.floor(this.#random() * this.#lastRecords.length)]!
    } else if (roll < this.#duplicateRate + this.#badRate) {
      record = this.#bad()
    } else {
      record = this.#good()
    }
    this.#lastRecords.push(record)
    if (this.#lastRecords.length > 64) this.#lastRecords.shift()
    return record
  }

  /** The next `n` records. */
  take (n: number): DemoRecord[] {
    const out: DemoRecord[] = []
    for (let i = 0; i < n; i++) out.push(this.next())
    return out
  }

  #pickMember (): Member {
    // Activity is skewed: high rollers and regulars show up far more often than casual guests.
    for (;;) {
      const m = this.#members[Math.floor(this.#random() * this.#members.length)]!
      const weight = m.profile === 'high-roller' ? 1 : m.profile === 'regular' ? 0.5 : 0.15
      if (this.#random() < weight) return m
    }
  }

  #at (): string {
    return new Date(this.#timeMs).toISOString()
  }

  #property (member: Member, kind: 'HOTEL' | 'CASINO' | 'DINING'): string {
    const home = DEMO_PROPERTIES[member.home]!
    if (this.#random() < 0.7 && (home.kinds as readonly string[]).includes(kind)) return home.id
    const options = DEMO_PROPERTIES.filter(p => (p.kinds as readonly string[]).includes(kind))
    return options[Math.floor(this.#random() * options.length)]!.id
  }

  /** Log-normal-ish amount in cents between min and max dollars. */
  #dollars (min: number, max: number, skew = 2): number {
    const u = Math.pow(this.#random(), skew)
    return Math.round((min + u * (max - min)) * 100)
  }

  #good (): DemoRecord {
    const member = this.#pickMember()
    const roll = this.#random()
    if (roll < 0.03 && member.recentEarns.length > 0) return this.#reversal(member)
    if (roll < 0.18) return this.#redemption(member)
    const kindRoll = this.#random()
    const source = kindRoll < 0.25 ? 'HOTEL' : kindRoll < 0.65 ? 'CASINO' : 'DINING'
    const factor = member.profile === 'high-roller' ? 8 : member.profile === 'regular' ? 2 : 1
    const amountCents = source === 'HOTEL'
      ? (1 + Math.floor(this.#random() * 4)) * this.#dollars(129, 499) + this.#dollars(0, 300, 3)
      : source === 'CASINO'
        ? this.#dollars(20, 5000, 3) * factor
        : this.#dollars(18, 250) * (factor > 2 ? 2 : 1)
    const eventId = `${member.id}-${source[0]}${++member.seq}`
    const value = JSON.stringify({ eventId, memberId: member.id, source, type: 'EARN', amountCents, currency: 'USD', occurredAt: this.#at(), propertyId: this.#property(member, source) })
    const record = { topic: REWARDS_TOPICS.rewardEvents, key: member.id, value, timestamp: this.#timeMs }
    member.estimate += Math.floor(amountCents * (source === 'HOTEL' ? 10 : source === 'DINING' ? 5 : 0.1) / 100)
    member.recentEarns.push({ eventId, record })
    if (member.recentEarns.length > RECENT_EARNS) member.recentEarns.shift()
    return record
  }

  #reversal (member: Member): DemoRecord {
    const i = Math.floor(this.#random() * member.recentEarns.length)
    const original = member.recentEarns[i]!
    member.recentEarns.splice(i, 1)
    const o = JSON.parse(original.record.value) as { source: string, amountCents: number, propertyId: string }
    const value = JSON.stringify({ eventId: `${original.eventId}-REV`, memberId: member.id, source: o.source, type: 'REVERSAL', amountCents: o.amountCents, currency: 'USD', occurredAt: this.#at(), propertyId: o.propertyId, originalEventId: original.eventId })
    return { topic: REWARDS_TOPICS.rewardEvents, key: member.id, value, timestamp: this.#timeMs }
  }

  #redemption (member: Member): DemoRecord {
    const affordable = REWARDS.filter(r => r.points <= member.estimate)
    // Mostly something the member can afford; sometimes a wish beyond the balance (rejected).
    const reward = affordable.length > 0 && this.#random() < 0.85
      ? affordable[Math.floor(this.#random() * affordable.length)]!
      : REWARDS[Math.floor(this.#random() * REWARDS.length)]!
    if (reward.points <= member.estimate) member.estimate -= reward.points
    const value = JSON.stringify({ redemptionId: `${member.id}-R${++member.seq}`, memberId: member.id, points: reward.points, rewardCode: reward.code, channel: reward.channel, requestedAt: this.#at() })
    return { topic: REWARDS_TOPICS.redeemEvents, key: member.id, value, timestamp: this.#timeMs }
  }

  #bad (): DemoRecord {
    const member = this.#pickMember()
    const eventId = `${member.id}-X${++member.seq}`
    const good = { eventId, memberId: member.id, source: 'DINING', type: 'EARN', amountCents: this.#dollars(10, 80), currency: 'USD', occurredAt: this.#at(), propertyId: this.#property(member, 'DINING') }
    const base = { topic: REWARDS_TOPICS.rewardEvents, key: member.id, timestamp: this.#timeMs }
    switch (Math.floor(this.#random() * 6)) {
      case 0: return { ...base, value: JSON.stringify(good).slice(0, -7) } // truncated: MALFORMED_JSON
      case 1: return { ...base, value: JSON.stringify({ ...good, currency: 'EUR' }) } // UNSUPPORTED_CURRENCY
      case 2: { // KEY_MISMATCH: published under another member's key
        const other = this.#pickMember()
        return { ...base, key: other.id === member.id ? `${member.id}-other` : other.id, value: JSON.stringify(good) }
      }
      case 3: return { ...base, value: JSON.stringify({ ...good, amountCents: -good.amountCents - 1 }) } // SCHEMA_VIOLATION
      case 4: return { ...base, value: JSON.stringify({ ...good, type: 'REVERSAL', originalEventId: `${member.id}-NEVER` }) } // ORIGINAL_NOT_FOUND
      default: return { topic: REWARDS_TOPICS.redeemEvents, key: member.id, timestamp: this.#timeMs, value: JSON.stringify({ redemptionId: eventId, memberId: member.id, points: 0, rewardCode: 'NOTHING', channel: 'ONLINE', requestedAt: this.#at() }) } // SCHEMA_VIOLATION
    }
  }
}

/** Convenience: `count` records from a fresh generator. */
export function demoRecords (options: DemoOptions & { count: number }): DemoRecord[] {
  return new DemoGenerator(options).take(options.count)
}
