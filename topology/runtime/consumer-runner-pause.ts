// Which partitions the consumer runner keeps paused (consumer-runner.ts): every assigned one while
// the runner is full (too many records pending, or the handler says so) or, unless failurePause
// is 'batch', while a batch waits for a retry (the dependency is down); with 'batch', only the
// partitions of the waiting batches. The loop keeps polling (heartbeats, rebalances) meanwhile.
import type { GroupConsumer, TopicPartition } from '../../log/log-port.ts'
import { tpKey } from './consumer-runner-partition.ts'

export interface PartitionPauserOptions {
  readonly consumer: Pick<GroupConsumer, 'pause' | 'resume'>
  /** Still assigned to the runner (only those are resumed). */
  readonly owns: (key: string) => boolean
  /** The number of paused partitions changed (from `before`). */
  readonly onChange: (paused: number, before: number) => void
}

export interface PauseCauses {
  /** Too many records pending, or the handler is full: evaluated first. */
  readonly full: () => boolean
  /** The partitions (keys) of each batch waiting for a retry. */
  readonly failing: ReadonlyArray<ReadonlySet<string>>
  /** A waiting batch pauses every partition ('all'), not only its own ('batch'). */
  readonly pauseAllOnFailure: boolean
}

export class PartitionPauser {
  readonly #o: PartitionPauserOptions
  /** Paused by the runner (key → partition). */
  readonly #paused = new Map<string, TopicPartition>()

  constructor (options: PartitionPauserOptions) {
    this.#o = options
  }

  get size (): number { return this.#paused.size }

  /** Pauses the assigned partitions the causes call for, resumes the others it paused. */
  apply (assigned: TopicPartition[], causes: PauseCauses): void {
    let want: TopicPartition[]
    if (causes.full() || (causes.failing.length > 0 && causes.pauseAllOnFailure)) {
      want = assigned
    } else if (causes.failing.length > 0) {
      const keys = new Set(causes.failing.flatMap(k => [...k]))
      want = assigned.filter(tp => keys.has(tpKey(tp)))
    } else {
      want = []
    }
    const wanted = new Set(want.map(tpKey))
    const toPause = want.filter(tp => !this.#paused.has(tpKey(tp)))
    const toResume = [...this.#paused].filter(([key]) => !wanted.has(key)).map(([, tp]) => tp)
    if (toPause.length > 0) this.#o.consumer.pause(toPause)
    if (toResume.length > 0) this.#o.consumer.resume(toResume.filter(tp => this.#o.owns(tpKey(tp))))
    const before = this.#paused.size
    for (const tp of toPause) this.#paused.set(tpKey(tp), tp)
    for (const tp of toResume) this.#paused.delete(tpKey(tp))
    if (this.#paused.size !== before) this.#o.onChange(this.#paused.size, before)
  }

  /** A partition that went (revoked or lost): nothing to resume. */
  forget (key: string): void {
    this.#paused.delete(key)
  }
}
