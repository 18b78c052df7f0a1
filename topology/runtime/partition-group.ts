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

class RecordQueue {
  readonly partition: TopicPartition
  #items: StampedRecord[] = []
  #head = 0

  constructor (partition: TopicPartition) {
    this.partition = partition
  }

  get size (): number { return this.#items.length - this.#head }
  peek (): StampedRecord | undefined { return this.#items[this.#head] }

  push (records: StampedRecord[]): void {
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    for (const r of records) this.#items.push(r)
  }

  shift (): StampedRecord | undefined {
    const item = this.#items[this.#head]
    if (item === undefined) return undefined
    this.#items[this.#head++] = undefined as unknown as StampedRecord // release for GC
    return item
  }

  clear (): void { this.#items = []; this.#head = 0 }
}

export const partitionKey = (tp: TopicPartition): string => `${tp.topic}:${tp.partition}`

const ALWAYS = (): boolean => true

export class PartitionGroup {
  readonly #queues = new Map<string, RecordQueue>()
  readonly #maxTaskIdleMs: number
  #idleSinceMs: number | null = null
  #buffered = 0

  constructor (partitions: TopicPartition[], maxTaskIdleMs: number) {
    for (const tp of partitions) this.#queues.set(partitionKey(tp), new RecordQueue(tp))
    this.#maxTaskIdleMs = maxTaskIdleMs
  }

  get bufferedRecords (): number { return this.#buffered }

  bufferedIn (tp: TopicPartition): number {
    return this.#queues.get(partitionKey(tp))?.size ?? 0
  }

  add (tp: TopicPartition, records: StampedRecord[]): void {
    const queue = this.#queues.get(partitionKey(tp))
    if (!queue) throw new Error(`partition ${partitionKey(tp)} is not an input of this task`)
    queue.push(records)
    this.#buffered += records.length
  }

  /** The next record to process, or undefined when none is ready at `nowMs`. `caughtUp(tp)`:
   *  the partition has no record in the log beyond what was handed to this task. */
  next (nowMs: number, caughtUp: (tp: TopicPartition) => boolean = ALWAYS): StampedRecord | undefined {
    const best = this.#choose(nowMs, caughtUp)
    if (best === undefined) return undefined
    this.#buffered--
    return best.shift()
  }

  /** Whether next() would return a record now. */
  ready (nowMs: number, caughtUp: (tp: TopicPartition) => boolean = ALWAYS): boolean {
    return this.#choose(nowMs, caughtUp) !== undefined
  }

  #choose (nowMs: number, caughtUp: (tp: TopicPartition) => boolean): RecordQueue | undefined {
    for (const queue of this.#queues.values()) if (queue.peek()?.timestamp === null) return queue
    let best: RecordQueue | undefined
    let empty = false
    for (const queue of this.#queues.values()) {
      const head = queue.peek()
      if (head === undefined) {
        if (this.#buffered === 0) { this.#idleSinceMs = null; return undefined }
        // Records of this partition exist but are not here yet: taking another partition's
        // record now could break event-time order. Wait for the fetch.
        if (this.#queues.size > 1 && !caughtUp(queue.partition)) return undefined
        empty = true
        continue
      }
      // Heads are timed here: timeless ones were taken above.
      if (best === undefined || head.timestamp! < best.peek()!.timestamp!) best = queue
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
