// Publishes demo load to the platform's input topics through the log port (Kafka or the embedded
// log): keys are memberIds (murmur2-partitioned by the producer, as every backend does), record
// timestamps are the event times. Paced to `ratePerSecond` (0: as fast as the log takes it), in
// batches of at most `batchSize` records, one batch in flight at a time (bounded memory).
import type { Log, ProducerRecord } from '../../../topology/index.ts'
import { REWARDS_TOPICS, type RewardsTopics } from '../topics.ts'
import { DemoGenerator, type DemoOptions } from './demo-generator.ts'

export interface PublishDemoOptions extends DemoOptions {
  /** Records to publish; 0 or Infinity: until the signal aborts. */
  readonly count: number
  /** Records per second; 0: unpaced. */
  readonly ratePerSecond: number
  /** Default 500. */
  readonly batchSize?: number
  readonly topics?: RewardsTopics
  readonly clientId?: string
  readonly signal?: AbortSignal
  /** Called after each batch. */
  readonly onProgress?: (progress: DemoProgress) => void
}

export interface DemoProgress {
  readonly sent: number
  readonly rewardEvents: number
  readonly redeemEvents: number
  readonly elapsedMs: number
}

const sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
  if (ms <= 0) return
  await new Promise<void>(resolve => {
    const timer = setTimeout(done, ms)
    function done (): void { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve() }
    signal?.addEventListener('abort', done, { once: true })
  })
}

export async function publishDemo (log: Log, options: PublishDemoOptions): Promise<DemoProgress> {
  const topics = options.topics ?? REWARDS_TOPICS
  const batchSize = options.batchSize ?? 500
  const total = options.count > 0 ? options.count : Number.POSITIVE_INFINITY
  const rate = options.ratePerSecond
  const generator = new DemoGenerator({
    ...options,
    // Live demo: event time starts now and advances at the publishing rate.
    startTimeMs: options.startTimeMs ?? Date.now(),
    meanGapMs: options.meanGapMs ?? (rate > 0 ? 1000 / rate : 1)
  })
  const producer = await log.createProducer({ clientId: options.clientId ?? 'rewards-demo' })
  const startMs = Date.now()
  let sent = 0
  let rewardEvents = 0
  let redeemEvents = 0
  const progress = (): DemoProgress => ({ sent, rewardEvents, redeemEvents, elapsedMs: Date.now() - startMs })
  try {
    while (sent < total && options.signal?.aborted !== true) {
      const n = Math.min(batchSize, total - sent, rate > 0 ? Math.max(1, Math.ceil(rate / 10)) : batchSize)
      const batch: ProducerRecord[] = generator.take(n).map(r => {
        const isReward = r.topic === REWARDS_TOPICS.rewardEvents
        if (isReward) rewardEvents++
        else redeemEvents++
        return {
          topic: isReward ? topics.rewardEvents : topics.redeemEvents,
          key: Buffer.from(r.key, 'utf8'),
          value: Buffer.from(r.value, 'utf8'),
          timestamp: r.timestamp
        }
      })
      await producer.send(batch)
      sent += batch.length
      options.onProgress?.(progress())
      if (rate > 0) await sleep(startMs + (sent / rate) * 1000 - Date.now(), options.signal)
    }
  } finally {
    await producer.close()
  }
  return progress()
}
