// The task's input buffers, one queue per partition, and the choice of the next record: the head
// with the lowest timestamp across partitions (as Kafka Streams' PartitionGroup), so two topics'
// records interleave by event time whatever the fetch timing. When some partition is empty
// (KIP-695): if it still has records in the log beyond our position, the task waits for them
// (they are being fetched); if it is caught up, the task waits up to maxTaskIdleMs for new ones,
// then processes the others until it refills. A record without a valid event time (timestamp
// null, see TimestampExtractor) is taken as soon as it heads its queue: it has no place in
// event-time order, so it neither waits for other partitions nor holds their records back.
import type { LogRecord, TopicPartition } from '../../log/log-port.ts'

export interface StampedRecord {
  readonly record: LogRecord
  /** Event time chosen by the source's timestamp extractor; null: none valid. */
  readonly timestamp: number | null
}

/** No valid event time, in a queue's timestamps (NaN keeps the array one of unboxed doubles). */
const NO_TIME = Number.NaN

/** One partition's records and their event times, in two arrays: no object per record. */
class RecordQueue {
  readonly partition: TopicPartition
  #records: Array<LogRecord | undefined> = []
  #times: number[] = []
  #head = 0

  constructor (partition: TopicPartition) {
    this.partition = partition
  }

  get size (): number { return this.#records.length - this.#head }
  get empty (): boolean { return this.#head >= this.#records.length }
  /** The head's event time: NaN when it has none, undefined when the queue is empty. */
  headTime (): number | undefined { return this.#head < this.#records.length ? this.#times[this.#head] : undefined }

  push (records: readonly LogRecord[], extract: ((record: LogRecord) => number | null) | undefined): void {
    if (this.#head > 1024 && this.#head * 2 > this.#records.length) {
      this.#records = this.#records.slice(this.#head)
      this.#times = this.#times.slice(this.#head)
      this.#head = 0
    }
    const out = this.#records
    const times = this.#times
    if (extract === undefined) {
      for (let i = 0; i < records.length; i++) { const r = records[i]!; out.push(r); times.push(r.timestamp) }
    } else {
      for (let i = 0; i < records.length; i++) { const r = records[i]!; out.push(r); times.push(extract(r) ?? NO_TIME) }
    }
  }

  pushStamped (records: readonly StampedRecord[]): void {
    for (const r of records) this.push([r.record], () => r.timestamp)
  }

  /** Takes the head; its event time is left in `takenTime`. */
  shift (): LogRecord | undefined {
    const head = this.#head
    const item = this.#records[head]
    if (item === undefined) return undefined
    this.takenTime = this.#times[head]!
    this.#records[head] = undefined // release for GC
    this.#head = head + 1
    return item
  }

  takenTime = NO_TIME

  clear (): void { this.#records = []; this.#times = []; this.#head = 0 }
}

export const partitionKey = (tp: TopicPartition): string => `${tp.topic}:${tp.partition}`

const ALWAYS = (): boolean => true

export class PartitionGroup {
  readonly #queues = new Map<string, RecordQueue>()
  readonly #maxTaskIdleMs: number
  #idleSinceMs: number | null = null
  #buffered = 0

  /** The queue, when there is only one. */
  readonly #only: RecordQueue | undefined

  constructor (partitions: TopicPartition[], maxTaskIdleMs: number) {
    for (const tp of partitions) this.#queues.set(partitionKey(tp), new RecordQueue(tp))
    this.#maxTaskIdleMs = maxTaskIdleMs
    this.#only = this.#queues.size === 1 ? this.#queues.values().next().value : undefined
  }

  get bufferedRecords (): number { return this.#buffered }

  bufferedIn (tp: TopicPartition): number {
    return this.#queues.get(partitionKey(tp))?.size ?? 0
  }

  add (tp: TopicPartition, records: StampedRecord[]): void {
    this.#queueOf(tp).pushStamped(records)
    this.#buffered += records.length
  }

  /** Adds fetched records; `extract`: their event time (default: the record's timestamp; null:
   *  none valid). */
  addRecords (tp: TopicPartition, records: readonly LogRecord[], extract?: (record: LogRecord) => number | null): void {
    this.#queueOf(tp).push(records, extract)
    this.#buffered += records.length
  }

  #queueOf (tp: TopicPartition): RecordQueue {
    const only = this.#only
    if (only !== undefined && only.partition.partition === tp.partition && only.partition.topic === tp.topic) return only
    const queue = this.#queues.get(partitionKey(tp))
    if (!queue) throw new Error(`partition ${partitionKey(tp)} is not an input of this task`)
    return queue
  }

  /** The next record to process, or undefined when none is ready at `nowMs`. `caughtUp(tp)`:
   *  the partition has no record in the log beyond what was handed to this task. */
  next (nowMs: number, caughtUp: (tp: TopicPartition) => boolean = ALWAYS): StampedRecord | undefined {
    const record = this.nextRecord(nowMs, caughtUp)
    return record === undefined ? undefined : { record, timestamp: this.takenTimestamp }
  }

  /** As next(), without the wrapper object: the record's event time is in takenTimestamp. */
  nextRecord (nowMs: number, caughtUp: (tp: TopicPartition) => boolean = ALWAYS): LogRecord | undefined {
    // One input partition (a single-source sub-topology): no choice to make, nothing to wait for.
    const best = this.#only ?? this.#choose(nowMs, caughtUp)
    if (best === undefined) return undefined
    const record = best.shift()
    if (record === undefined) return undefined
    this.#buffered--
    const t = best.takenTime
    this.takenTimestamp = Number.isNaN(t) ? null : t
    return record
  }

  /** The event time of the record nextRecord() returned last (null: none valid). */
  takenTimestamp: number | null = null

  /** Whether next() would return a record now. */
  ready (nowMs: number, caughtUp: (tp: TopicPartition) => boolean = ALWAYS): boolean {
    if (this.#only !== undefined) return !this.#only.empty
    return this.#choose(nowMs, caughtUp) !== undefined
  }

  #choose (nowMs: number, caughtUp: (tp: TopicPartition) => boolean): RecordQueue | undefined {
    for (const queue of this.#queues.values()) if (Number.isNaN(queue.headTime())) return queue
    let best: RecordQueue | undefined
    let bestTime = 0
    let empty = false
    for (const queue of this.#queues.values()) {
      const head = queue.headTime()
      if (head === undefined) {
        if (this.#buffered === 0) { this.#idleSinceMs = null; return undefined }
        // Records of this partition exist but are not here yet: taking another partition's
        // record now could break event-time order. Wait for the fetch.
        if (this.#queues.size > 1 && !caughtUp(queue.partition)) return undefined
        empty = true
        continue
      }
      // Heads are timed here: timeless ones were taken above.
      if (best === undefined || head < bestTime) { best = queue; bestTime = head }
    }
    if (best === undefined) return undefined
    if (empty && this.#queues.size > 1) {
      if (this.#idleSinceMs === null) this.#idleSinceMs = nowMs
      if (nowMs - this.#idleSinceMs < this.#maxTaskIdleMs) return undefined
    } else {
      this.#idleSinceMs = null
    }
    return best
  }

  /** When the task will be ready to process despite an empty partition (for the thread's wait). */
  idleDeadlineMs (): number | null {
    return this.#idleSinceMs === null || this.#buffered === 0 ? null : this.#idleSinceMs + this.#maxTaskIdleMs
  }

  clear (): void {
    for (const q of this.#queues.values()) q.clear()
    this.#buffered = 0
    this.#idleSinceMs = null
  }
}
