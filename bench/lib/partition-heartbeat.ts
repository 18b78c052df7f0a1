// Is every partition being processed, and since when? One heartbeat member per input partition
// earns a little every `intervalMs`; a read_committed consumer of the confirmations notes when
// each partition's confirmations arrive. A pause of processing on a partition shows as a gap
// between its arrivals (docs/benchmarks.md "High availability").
import type { Consumer, Kafka, Producer } from 'kafkajs'
import { partitionOf } from '../../test/chaos/traffic-generator.ts'

export class PartitionHeartbeat {
  /** partition → arrival times (ms) of its heartbeat confirmations. */
  readonly arrivals = new Map<number, number[]>()
  readonly #members: string[] = []
  readonly #producer: Producer
  readonly #consumer: Consumer
  readonly #inputTopic: string
  readonly #confirmedTopic: string
  readonly #intervalMs: number
  #seq = 0
  #timer: NodeJS.Timeout | undefined
  #sending = false

  constructor (kafka: Kafka, options: { tag: string, partitions: number, inputTopic: string, confirmedTopic: string, intervalMs: number }) {
    for (let p = 0; p < options.partitions; p++) {
      let n = 0
      while (partitionOf(`${options.tag}-hb${p}-${n}`, options.partitions) !== p) n++
      this.#members.push(`${options.tag}-hb${p}-${n}`)
      this.arrivals.set(p, [])
    }
    this.#producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    this.#consumer = kafka.consumer({ groupId: `${options.tag}-heartbeat-reader`, readUncommitted: false })
    this.#inputTopic = options.inputTopic
    this.#confirmedTopic = options.confirmedTopic
    this.#intervalMs = options.intervalMs
  }

  get members (): readonly string[] { return this.#members }

  async start (): Promise<void> {
    await this.#producer.connect()
    await this.#consumer.connect()
    await this.#consumer.subscribe({ topic: this.#confirmedTopic, fromBeginning: false })
    const hb = new Set(this.#members)
    await this.#consumer.run({
      eachMessage: async ({ partition, message }) => {
        const key = message.key?.toString()
        if (key !== undefined && hb.has(key)) this.arrivals.get(partition)?.push(Date.now())
      }
    })
    this.#timer = setInterval(() => { void this.#beat() }, this.#intervalMs)
  }

  async #beat (): Promise<void> {
    if (this.#sending) return // the broker is slow: skip a beat rather than queue them
    this.#sending = true
    try {
      const occurredAt = new Date().toISOString()
      await this.#producer.send({
        topic: this.#inputTopic,
        acks: -1,
        messages: this.#members.map(memberId => ({
          key: memberId,
          value: JSON.stringify({ eventId: `${memberId}-${++this.#seq}`, memberId, source: 'HOTEL', type: 'EARN', amountCents: 100, currency: 'USD', occurredAt, propertyId: 'HB' })
        }))
      })
    } catch { /* a slow broker: the next beat goes on */ } finally {
      this.#sending = false
    }
  }

  /** Per partition, the first arrival at or after `sinceMs` (ms after it; null: none yet). */
  firstAfter (sinceMs: number): Map<number, number | null> {
    const out = new Map<number, number | null>()
    for (const [p, times] of this.arrivals) {
      const t = times.find(at => at >= sinceMs)
      out.set(p, t === undefined ? null : t - sinceMs)
    }
    return out
  }

  /** Per partition, the longest time without an arrival between fromMs and toMs. */
  maxGaps (fromMs: number, toMs: number): Map<number, number> {
    const out = new Map<number, number>()
    for (const [p, times] of this.arrivals) {
      let last = fromMs
      let gap = 0
      for (const at of times) {
        if (at < fromMs || at > toMs) continue
        gap = Math.max(gap, at - last)
        last = at
      }
      out.set(p, Math.max(gap, toMs - last))
    }
    return out
  }

  async stop (): Promise<void> {
    clearInterval(this.#timer)
    await this.#consumer.disconnect().catch(() => {})
    await this.#producer.disconnect().catch(() => {})
  }
}
