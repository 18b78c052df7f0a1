// The stream thread's consumer lag metric: every few seconds, in the background, each input
// partition's end offset minus the consumer's position, plus what its task still buffers.
import type { GroupConsumer, LogAdmin } from '../../log/log-port.ts'
import type { EngineMetrics } from './engine-metrics.ts'
import { partitionKey } from './partition-group.ts'
import type { TaskManager } from './task-manager.ts'

const LAG_SAMPLE_INTERVAL_MS = 5000

export class ConsumerLagSampler {
  readonly #admin: LogAdmin
  readonly #metrics: EngineMetrics
  readonly #clock: () => number
  #lastSampleMs = 0
  #sampling = false

  constructor (admin: LogAdmin, metrics: EngineMetrics, clock: () => number) {
    this.#admin = admin
    this.#metrics = metrics
    this.#clock = clock
  }

  /** Starts a sample when one is due and none runs; never waits for it. */
  maybeSample (consumer: GroupConsumer, tasks: TaskManager): void {
    const now = this.#clock()
    if (this.#sampling || now - this.#lastSampleMs < LAG_SAMPLE_INTERVAL_MS) return
    this.#lastSampleMs = now
    const assigned = consumer.assignment()
    if (assigned.length === 0) return
    this.#sampling = true
    this.#admin.listOffsets(assigned, 'latest').then(ends => {
      for (const end of ends) {
        let position: bigint
        try { position = consumer.position(end) } catch { continue } // moved away meanwhile
        const buffered = BigInt(tasks.taskForInput(partitionKey(end))?.task.bufferedIn(end) ?? 0)
        const lag = end.offset - position + buffered
        this.#metrics.consumerLag.set({ topic: end.topic, partition: String(end.partition) }, Number(lag > 0n ? lag : 0n))
      }
    }, () => { /* a lag sample is best effort */ }).finally(() => { this.#sampling = false })
  }
}
