// The consumer runner's offset commits and lag (consumer-runner.ts): for each owned partition the
// first offset still pending (offset-tracker.ts) is committed, one commit at a time; the lag of
// each partition is estimated after a commit from the ends the last fetch saw, and measured (one
// listOffsets) on demand.
import type { Logger } from '../../lib/logger.ts'
import type { GroupConsumer, LogAdmin, PartitionOffset, TopicPartition } from '../../log/log-port.ts'
import type { ConsumerRunnerMetrics } from './consumer-runner-metrics.ts'
import { lagOf, tpKey, type OwnedPartition } from './consumer-runner-partition.ts'
import type { PartitionLag } from './consumer-runner-types.ts'
import type { OffsetTracker } from './offset-tracker.ts'

export interface RunnerCommitsOptions {
  readonly consumer: Pick<GroupConsumer, 'commitOffsets' | 'endOffset'>
  readonly admin: () => LogAdmin
  readonly owned: ReadonlyMap<string, OwnedPartition>
  readonly tracker: OffsetTracker
  /** Next offset read of an owned partition (consumer-runner.ts readPosition). */
  readonly readPosition: (at: OwnedPartition) => bigint
  readonly metrics: ConsumerRunnerMetrics
  readonly group: { readonly group: string }
  /** In log lines. */
  readonly name: string
  readonly logger?: Logger | undefined
  readonly onCommitted?: ((offsets: readonly PartitionOffset[]) => void) | undefined
  readonly onLag?: ((lags: readonly PartitionLag[]) => void) | undefined
}

export class RunnerCommits {
  readonly #o: RunnerCommitsOptions
  #lastCommitAt = Date.now()
  #lastLagAt = 0
  #lastLag = 0
  #chain: Promise<void> = Promise.resolve()

  constructor (options: RunnerCommitsOptions) {
    this.#o = options
  }

  get lastCommitAt (): number { return this.#lastCommitAt }
  get lastLagAt (): number { return this.#lastLagAt }
  /** Last measured lag (sum over assigned partitions). */
  get lastLag (): number { return this.#lastLag }

  /** Commits, for the partitions given (default: every owned one), the first pending offset. */
  commit (partitions?: readonly TopicPartition[]): Promise<void> {
    // One commit at a time: a later one never lands before an earlier one.
    const next = this.#chain.then(() => this.#commitNow(partitions))
    this.#chain = next.catch(() => {})
    return next
  }

  async #commitNow (partitions?: readonly TopicPartition[]): Promise<void> {
    const { owned, group, metrics } = this.#o
    this.#lastCommitAt = Date.now()
    const offsets: PartitionOffset[] = []
    const targets = partitions === undefined ? [...owned.values()] : partitions.flatMap(tp => { const at = owned.get(tpKey(tp)); return at === undefined ? [] : [at] })
    for (const at of targets) {
      const next = this.#o.tracker.committable(at.tp, this.#o.readPosition(at))
      if (next > at.committed) offsets.push({ ...at.tp, offset: next })
    }
    if (offsets.length > 0) {
      try {
        await this.#o.consumer.commitOffsets(offsets)
        for (const off of offsets) { const at = owned.get(tpKey(off)); if (at !== undefined && off.offset > at.committed) at.committed = off.offset }
        this.#o.onCommitted?.(offsets)
      } catch (error) {
        // Nothing is lost: the same offsets go next time (or the next owner re-reads).
        metrics.errors.inc({ ...group, stage: 'commit' })
        this.#o.logger?.warn({ err: error }, `${this.#o.name}: offset commit failed: ${(error as Error).message}`)
      }
    }
    // A cheap lag estimate from the ends the last fetch saw; measureLag() asks the log.
    const lags: PartitionLag[] = []
    for (const at of owned.values()) {
      const end = this.#o.consumer.endOffset(at.tp)
      if (end !== undefined) lags.push(lagOf(at, end))
    }
    if (lags.length > 0) this.#reportLag(lags, lags.length === owned.size)
  }

  async measureLag (): Promise<PartitionLag[]> {
    const owned = this.#o.owned
    this.#lastLagAt = Date.now()
    const assigned = [...owned.values()]
    if (assigned.length === 0) { this.#lastLag = 0; this.#o.onLag?.([]); return [] }
    const ends = await this.#o.admin().listOffsets(assigned.map(at => at.tp), 'latest')
    const lags: PartitionLag[] = []
    for (const end of ends) {
      const at = owned.get(tpKey(end))
      if (at !== undefined) lags.push(lagOf(at, end.offset))
    }
    this.#reportLag(lags, true)
    return lags
  }

  #reportLag (lags: readonly PartitionLag[], complete: boolean): void {
    for (const l of lags) this.#o.metrics.lag.set({ ...this.#o.group, topic: l.topic, partition: String(l.partition) }, l.lag)
    if (complete) this.#lastLag = lags.reduce((sum, l) => sum + l.lag, 0)
    this.#o.onLag?.(lags)
  }
}
