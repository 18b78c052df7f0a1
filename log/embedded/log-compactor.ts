// Log compaction for topics with cleanup.policy=compact (the stores' changelogs): in the
// background, removes every record of a partition that a later record with the same key
// supersedes, so a changelog holds about one record per key and restoring a store costs its
// size, not its write history. Offsets never change (compaction leaves gaps, as in Kafka); the
// end offset and the latest record of every key stay. Tombstones (null values) are kept (the
// last one of a key: growth bounded by the number of distinct keys ever written); records with a
// null key are kept.
//
// A partition is compacted once its records appended since the last compaction ("dirty") reach
// both minDirtyRecords and the count left by the last compaction (Kafka's
// min.cleanable.dirty.ratio 0.5). Compaction reads with the asynchronous iterator (off the event
// loop) up to the end offset seen when it starts; the deletes are unsynced write batches: losing
// some in a crash only leaves superseded records that the next compaction removes.
import type { TopicPartition } from '../log-port.ts'
import type { AppendedRecords, LogStorage, TopicState } from './log-storage.ts'
import { recordKeyIdentity } from './record-codec.ts'
import type { RocksDatabase } from './rocks-database.ts'
import { offsetOfRecordKey, recordKey } from './storage-keys.ts'

const SCAN_CHUNK = 1000
const DELETE_BATCH = 1000

export const DEFAULT_MIN_DIRTY_RECORDS = 10_000

export function isCompacted (topic: TopicState): boolean {
  return (topic.config['cleanup.policy'] ?? '').split(',').map(p => p.trim()).includes('compact')
}

interface PartitionCounters {
  dirty: number
  /** Records left by the last compaction (0 until one ran in this process). */
  clean: number
}

export class LogCompactor {
  readonly #db: RocksDatabase
  readonly #storage: LogStorage
  readonly #minDirtyRecords: number
  readonly #counters = new Map<string, PartitionCounters>()
  readonly #queue = new Map<string, TopicPartition>()
  readonly #inFlight = new Set<Promise<number>>()
  #running: Promise<void> | undefined
  #closed = false
  #onError: (error: unknown) => void

  constructor (db: RocksDatabase, storage: LogStorage, options: { minDirtyRecords?: number, onError?: (error: unknown) => void } = {}) {
    this.#db = db
    this.#storage = storage
    this.#minDirtyRecords = options.minDirtyRecords ?? DEFAULT_MIN_DIRTY_RECORDS
    this.#onError = options.onError ?? (error => { process.emitWarning(`embedded log compaction failed: ${(error as Error).message}`) })
  }

  /** Counts appended records of compacted topics and schedules the partitions due. */
  appended (appended: AppendedRecords): void {
    if (this.#closed) return
    for (const { topic, partition, count } of appended.partitions) {
      if (!isCompacted(topic)) continue
      const key = `${topic.name}\u0000${partition}`
      let counters = this.#counters.get(key)
      if (counters === undefined) {
        counters = { dirty: 0, clean: 0 }
        this.#counters.set(key, counters)
      }
      counters.dirty += count
      if (counters.dirty >= this.#minDirtyRecords && counters.dirty >= counters.clean) {
        this.#queue.set(key, { topic: topic.name, partition })
      }
    }
    this.#kick()
  }

  #kick (): void {
    if (this.#running !== undefined || this.#queue.size === 0 || this.#closed) return
    this.#running = this.#drain().finally(() => {
      this.#running = undefined
      this.#kick()
    })
  }

  async #drain (): Promise<void> {
    for (const [key, tp] of this.#queue) {
      if (this.#closed) return
      this.#queue.delete(key)
      try {
        await this.compact(tp)
      } catch (error) {
        this.#onError(error)
      }
    }
  }

  /** Compacts one partition now (no-op for a missing or non-compacted topic); returns the number
   *  of records removed. */
  compact (tp: TopicPartition): Promise<number> {
    const run = this.#compact(tp)
    this.#inFlight.add(run)
    const forget = (): void => { this.#inFlight.delete(run) }
    run.then(forget, forget)
    return run
  }

  async #compact (tp: TopicPartition): Promise<number> {
    const topic = this.#storage.topic(tp.topic)
    if (topic === undefined || !isCompacted(topic)) return 0
    const end = topic.endOffsets[tp.partition]
    if (end === undefined || end === 0n) return 0
    const key = `${tp.topic}\u0000${tp.partition}`
    const counters = this.#counters.get(key) ?? { dirty: 0, clean: 0 }
    this.#counters.set(key, counters)
    const dirtyAtStart = counters.dirty
    const range = { gte: recordKey(topic.id, tp.partition, 0n), lt: recordKey(topic.id, tp.partition, end) }

    const latest = new Map<string, bigint>()
    let total = 0
    await this.#scan(range, (offset, identity) => {
      total++
      if (identity !== null) latest.set(identity, offset)
    })
    if (this.#closed) return 0

    let removed = 0
    let batch = this.#db.batch()
    const flush = async (): Promise<void> => {
      if (batch.length > 0) batch._writeSync({ sync: false })
      await batch.close()
      batch = this.#db.batch()
    }
    try {
      await this.#scan(range, (offset, identity) => {
        if (identity === null || latest.get(identity)! <= offset) return
        batch.del(recordKey(topic.id, tp.partition, offset))
        removed++
      }, async () => { if (batch.length >= DELETE_BATCH) await flush() })
      await flush()
    } finally {
      await batch.close()
    }
    counters.dirty -= dirtyAtStart
    counters.clean = total - removed
    return removed
  }

  async #scan (range: { gte: Buffer, lt: Buffer }, visit: (offset: bigint, identity: string | null) => void, afterChunk?: () => Promise<void>): Promise<void> {
    const iterator = this.#db.iterator(range)
    try {
      for (;;) {
        if (this.#closed) return
        const entries = await iterator.nextv(SCAN_CHUNK)
        if (entries.length === 0) return
        for (const [key, value] of entries) visit(offsetOfRecordKey(key), recordKeyIdentity(value))
        await afterChunk?.()
      }
    } finally {
      await iterator.close()
    }
  }

  /** Resolves once no compaction is running or queued. */
  async idle (): Promise<void> {
    while (this.#running !== undefined || this.#inFlight.size > 0) {
      await this.#running
      await Promise.allSettled([...this.#inFlight])
    }
  }

  /** Stops scheduling and waits for a running compaction to stop (before the database closes). */
  async close (): Promise<void> {
    this.#closed = true
    this.#queue.clear()
    await this.#running
    await Promise.allSettled([...this.#inFlight])
  }
}
