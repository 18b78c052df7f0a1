// Realistic traffic from an independent client (kafkajs, idempotent, murmur2 as Java), spread
// evenly over the run so every fault lands while records flow.
//
// Members are split by the partition their key maps to, because the dedupe window is kept per
// task in event time:
// - "historical" partitions (the lower half) carry a backfill: events 200 to 140 days old, their
//   malformed records dated like them or stamped with the wall clock. Nothing there is 90 days
//   apart, so no dedupe entry may expire; a duplicate accepted twice means a rejected record moved
//   the clock (issue 14, item 2).
// - "current" partitions carry events of today next to late arrivals two months old: output
//   batches with timestamps more than 24.9 days apart (the client's varint bug, issue 14 item 0).
// Every member's own records are produced in event-time order.
//
// `timestamps: 'recent'` is the control: every record within 20 days of now (backfill 20 days,
// late arrivals 10 days), so the client's varint bug cannot fire and a rejected record stamped
// now jumps the clock by less than the dedupe window.
import { Partitioners, type Kafka, type Message, type Producer } from 'kafkajs'
import type { RewardsTopics } from '../../processors/rewards/topics.ts'
import { earn, malformed, negativeEarn, redemption, reversal, SOURCES, underKey, type OutRecord, type Source } from './traffic-records.ts'

const DAY_MS = 86_400_000

export type Era = 'historical' | 'late' | 'today'

interface MemberState {
  readonly id: string
  readonly era: Era
  cursorMs: number
  readonly stepMs: number
  seq: number
  readonly earns: Array<{ eventId: string, source: Source, reversed: boolean }>
  readonly sent: OutRecord[]
  /** A rough points estimate (base rate only), to size redemptions around the balance. */
  estimate: number
}

/** mulberry32: a small seeded PRNG, so a run's traffic can be repeated from its seed. */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The partition Kafka's default partitioner (murmur2, as the Java client) gives `key`. */
export function partitionOf (key: string, partitions: number): number {
  const partitioner = Partitioners.DefaultPartitioner()
  return partitioner({ topic: 'any', partitionMetadata: Array.from({ length: partitions }, (_, i) => ({ partitionId: i, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 })), message: { key, value: null } })
}

export interface TrafficOptions {
  readonly tag: string
  readonly members: number
  /** Records to produce in all (valid and bad). */
  readonly records: number
  readonly durationMs: number
  readonly partitions: number
  readonly seed: number
  readonly timestamps: 'mixed' | 'recent'
}

export type TrafficKind = 'earn' | 'reversal' | 'duplicate' | 'unknown-original' | 'double-reversal' | 'redemption' | 'redemption-duplicate'
  | 'unknown-member-redemption' | 'malformed-dated' | 'malformed-now' | 'eur' | 'key-mismatch' | 'negative-amount' | 'zero-points'

const WEIGHTS: Array<[TrafficKind, number]> = [
  ['earn', 66], ['reversal', 4], ['duplicate', 4], ['unknown-original', 1], ['double-reversal', 1], ['redemption', 13],
  ['redemption-duplicate', 1.5], ['unknown-member-redemption', 0.5], ['malformed-dated', 2], ['malformed-now', 2],
  ['eur', 1], ['key-mismatch', 1], ['negative-amount', 1], ['zero-points', 1]
]

export class TrafficGenerator {
  readonly members: MemberState[]
  readonly counts = new Map<TrafficKind, number>()
  produced = 0
  sendFailures = 0
  readonly #options: TrafficOptions
  readonly #producer: Producer
  readonly #topics: RewardsTopics
  readonly #random: () => number
  #unique = 0

  constructor (kafka: Kafka, topics: RewardsTopics, options: TrafficOptions, nowMs = Date.now()) {
    this.#options = options
    this.#topics = topics
    this.#random = seededRandom(options.seed)
    this.#producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 3000 } })
    this.members = Array.from({ length: options.members }, (_, i) => {
      const id = `${options.tag}-m${i}`
      const historical = this.#historical(id)
      const era: Era = historical ? 'historical' : i % 2 === 0 ? 'late' : 'today'
      // Steps keep a member's span well inside 60 days (historical, late) or 6 hours (today).
      const recent = options.timestamps === 'recent'
      const startMs = nowMs - (era === 'historical' ? (recent ? 20 : 200) * DAY_MS : era === 'late' ? (recent ? 10 : 60) * DAY_MS : 6 * 3600_000)
      const stepMs = era === 'today' ? 10_000 : recent ? 300_000 : 1800_000
      return { id, era, cursorMs: startMs + Math.floor(this.#random() * 3600_000), stepMs, seq: 0, earns: [], sent: [], estimate: 0 }
    })
  }

  #historical (key: string): boolean {
    return partitionOf(key, this.#options.partitions) < Math.ceil(this.#options.partitions / 2)
  }

  membersOf (era: Era): string[] {
    return this.members.filter(m => m.era === era).map(m => m.id)
  }

  /** Produces options.records records evenly over options.durationMs (or until stop() says so). */
  async run (stop: () => boolean = () => false): Promise<void> {
    await this.#producer.connect()
    try {
      const started = Date.now()
      while (this.produced < this.#options.records && !stop()) {
        const due = Math.min(this.#options.records, Math.ceil(this.#options.records * (Date.now() - started) / this.#options.durationMs))
        const batch: OutRecord[] = []
        while (this.produced + batch.length < due && batch.length < 500) batch.push(...this.#next())
        if (batch.length > 0) await this.#send(batch, stop)
        this.produced += batch.length
        await new Promise(resolve => setTimeout(resolve, 50)) // pacing, not synchronisation
      }
    } finally {
      await this.#producer.disconnect()
    }
  }

  async #send (batch: OutRecord[], stop: () => boolean): Promise<void> {
    const byTopic = new Map<string, Message[]>()
    for (const r of batch) {
      const topic = r.topic === 'reward' ? this.#topics.rewardEvents : this.#topics.redeemEvents
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), { key: r.key, value: r.value, timestamp: String(r.timestampMs) }])
    }
    const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }))
    // The broker may be down (a fault of the run): keep the batch and send it again. A repeat of
    // a batch that did land is harmless to the checks, which read the inputs back from the topics.
    for (;;) {
      try {
        await this.#producer.sendBatch({ topicMessages, acks: -1 })
        return
      } catch (error) {
        this.sendFailures++
        if (stop()) throw error
        await new Promise(resolve => setTimeout(resolve, 1000))
      }
    }
  }

  #pick<T> (items: readonly T[]): T {
    return items[Math.floor(this.#random() * items.length)]!
  }

  #kind (): TrafficKind {
    const total = WEIGHTS.reduce((n, [, w]) => n + w, 0)
    let r = this.#random() * total
    for (const [kind, w] of WEIGHTS) {
      r -= w
      if (r < 0) return kind
    }
    return 'earn'
  }

  #id (m: MemberState, what: string): string {
    return `${m.id}-${what}${++m.seq}-${++this.#unique}`
  }

  /** The member's next event time (its records go out in event-time order). */
  #tick (m: MemberState): number {
    m.cursorMs += 1 + Math.floor(this.#random() * m.stepMs)
    return m.cursorMs
  }

  #count (kind: TrafficKind): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1)
  }

  /** One or two records (a re-sent record follows its original later). */
  #next (): OutRecord[] {
    const m = this.#pick(this.members)
    let kind = this.#kind()
    const unreversed = m.earns.filter(e => !e.reversed)
    const reversed = m.earns.filter(e => e.reversed)
    if ((kind === 'reversal' && unreversed.length === 0) || (kind === 'double-reversal' && reversed.length === 0) || (kind === 'duplicate' && m.sent.length === 0)) kind = 'earn'
    if (kind === 'redemption-duplicate' && !m.sent.some(r => r.topic === 'redeem')) kind = 'redemption'
    this.#count(kind)
    const keep = (r: OutRecord): OutRecord[] => { m.sent.push(r); return [r] }
    switch (kind) {
      case 'earn': {
        const source = this.#pick(SOURCES)
        const amountCents = source === 'HOTEL' ? 5_000 + Math.floor(this.#random() * 85_000) : source === 'DINING' ? 2_000 + Math.floor(this.#random() * 23_000) : 10_000 + Math.floor(this.#random() * 2_000_000)
        const eventId = this.#id(m, 'e')
        m.earns.push({ eventId, source, reversed: false })
        m.estimate += Math.floor(amountCents * (source === 'HOTEL' ? 10_000 : source === 'DINING' ? 5_000 : 100) / 1e9 * 1e4) // MEMBER tier
        return keep(earn(m.id, eventId, source, amountCents, this.#tick(m)))
      }
      case 'reversal': {
        const original = this.#pick(unreversed)
        original.reversed = true
        return keep(reversal(m.id, this.#id(m, 'r'), original.eventId, original.source, this.#tick(m)))
      }
      case 'double-reversal': {
        const original = this.#pick(reversed)
        return [reversal(m.id, this.#id(m, 'rr'), original.eventId, original.source, this.#tick(m))]
      }
      case 'unknown-original':
        return [reversal(m.id, this.#id(m, 'ru'), `${m.id}-never-sent`, 'HOTEL', this.#tick(m))]
      case 'duplicate':
        return [this.#pick(m.sent)]
      case 'redemption': {
        // Around the member's balance: some fit, some are too large (REJECTED).
        const points = 1 + Math.floor(this.#random() * Math.max(10, m.estimate * 1.3))
        if (points <= m.estimate) m.estimate -= points
        return keep(redemption(m.id, this.#id(m, 'x'), points, this.#tick(m)))
      }
      case 'redemption-duplicate':
        return [this.#pick(m.sent.filter(r => r.topic === 'redeem'))]
      case 'unknown-member-redemption': {
        // A valid record moves its task's stream time: keep it on a partition of the member's era.
        let stranger: string
        do stranger = `${this.#options.tag}-stranger${++this.#unique}`
        while (this.#historical(stranger) !== (m.era === 'historical'))
        return [redemption(stranger, this.#id(m, 'xs'), 100, this.#tick(m))]
      }
      case 'malformed-dated':
        return [malformed(this.#random() < 0.7 ? 'reward' : 'redeem', m.id, this.#id(m, 'bad'), this.#tick(m))]
      case 'malformed-now':
        return [malformed(this.#random() < 0.7 ? 'reward' : 'redeem', m.id, this.#id(m, 'badnow'), Date.now())]
      case 'eur':
        return [earn(m.id, this.#id(m, 'eur'), 'DINING', 5000, this.#tick(m), 'EUR')]
      case 'key-mismatch':
        return [underKey(earn(m.id, this.#id(m, 'km'), 'HOTEL', 10_000, this.#tick(m)), this.#pick(this.members).id === m.id ? `${m.id}-other` : this.#pick(this.members).id)]
      case 'negative-amount':
        return [negativeEarn(m.id, this.#id(m, 'neg'), this.#tick(m))]
      case 'zero-points':
        return [redemption(m.id, this.#id(m, 'x0'), 0, this.#tick(m))]
    }
  }
}
