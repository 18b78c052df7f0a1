// Purge of repartition topics (docs/engine.md "Repartition topics"), as Kafka Streams does after a
// commit: at most every repartitionPurgeIntervalMs, the records of the repartition topics (and
// foreign-key join subscription / response topics) below the offsets this thread committed are
// deleted (LogAdmin.deleteRecords). Their only reader is the application itself, and a committed
// offset is never read below again, so nothing still needed goes. The purge runs in the
// background: a commit never waits for it, at most one runs at a time, and a failure is reported
// (warn) and counted, never thrown into processing: the next purge covers the same offsets.
import type { PartitionOffset } from '../../log/log-port.ts'
import { partitionKey } from './partition-group.ts'

export interface RepartitionPurgerOptions {
  readonly intervalMs: number
  readonly clock: () => number
  /** Repartition-like topics: their records are the application's own, read by itself only. */
  readonly isRepartitionTopic: (topic: string) => boolean
  readonly deleteRecords: (offsets: PartitionOffset[]) => Promise<unknown>
  /** After each purge: its partitions and offsets, and the error when it failed. */
  readonly onPurged?: (result: { readonly ok: boolean, readonly offsets: readonly PartitionOffset[], readonly error?: unknown }) => void
}

export class RepartitionPurger {
  readonly #o: RepartitionPurgerOptions
  /** Latest committed offset of each repartition partition this thread committed. */
  readonly #committed = new Map<string, PartitionOffset>()
  /** What the last successful purges deleted up to, per partition. */
  readonly #purgedTo = new Map<string, bigint>()
  #lastPurgeMs: number
  #inflight: Promise<void> | undefined

  constructor (options: RepartitionPurgerOptions) {
    this.#o = options
    this.#lastPurgeMs = options.clock()
  }

  /** A purge runs in the background. */
  get inflight (): boolean { return this.#inflight !== undefined }

  /** After a successful commit, with the offsets it committed: starts a purge when one is due. */
  committed (offsets: readonly PartitionOffset[]): void {
    for (const o of offsets) {
      if (!this.#o.isRepartitionTopic(o.topic)) continue
      const key = partitionKey(o)
      const known = this.#committed.get(key)
      if (known === undefined || o.offset > known.offset) this.#committed.set(key, { topic: o.topic, partition: o.partition, offset: o.offset })
    }
    if (this.#inflight !== undefined) return
    const now = this.#o.clock()
    if (now - this.#lastPurgeMs < this.#o.intervalMs) return
    const due = [...this.#committed].filter(([key, o]) => o.offset > (this.#purgedTo.get(key) ?? 0n)).map(([, o]) => o)
    if (due.length === 0) return
    this.#lastPurgeMs = now
    let run: Promise<unknown>
    try { run = this.#o.deleteRecords(due) } catch (error) { run = Promise.reject(error) }
    this.#inflight = run.then(() => {
      for (const o of due) {
        const key = partitionKey(o)
        if (o.offset > (this.#purgedTo.get(key) ?? 0n)) this.#purgedTo.set(key, o.offset)
      }
      this.#report({ ok: true, offsets: due })
    }, (error: unknown) => {
      this.#report({ ok: false, offsets: due, error })
    }).finally(() => { this.#inflight = undefined })
  }

  /** Resolves once no purge runs (shutdown waits for it before the log closes). */
  async idle (): Promise<void> {
    await this.#inflight
  }

  #report (result: { ok: boolean, offsets: readonly PartitionOffset[], error?: unknown }): void {
    try { this.#o.onPurged?.(result) } catch { /* a listener's failure is its own */ }
  }
}
