// Each input record is validated once. The timestamp extractors (event-time.ts) validate every
// record as it is buffered, to find its event time; the validation split (validation-split.ts)
// needs the same result a moment later. The extractor's result is kept here and the split takes
// it: a second validation was about 4 % of the rewards topology's CPU time (docs/benchmarks.md,
// "Rewards hot path").
//
// Kept per topic-partition in offset order (the extractor sees each partition's records in
// order, and the split takes them in the same order), and handed over only for the very same
// key and value Buffers at the same offset: validation is a pure function of those bytes, so a
// kept result is the result. Anything else — a record the extractor did not see (tests), records
// fetched again after an abort, several applications in one process — just validates afresh.
// (A WeakMap keyed by the Buffer cost more than the validation it saved: ~4 µs per set.)
import type { LogRecord, RecordMetadata } from '../../topology/index.ts'
import { validateRedeemRecord, validateRewardRecord, type Validated } from './validation.ts'
import type { RedeemEvent, RewardEvent } from './schemas.ts'

/** One partition's kept results, oldest first from `head` (taken ones are skipped, not spliced
 *  out: a fetched batch can hold thousands). */
interface Queue<T> {
  items: Array<Kept<T>>
  head: number
}

interface Kept<T> {
  readonly offset: bigint
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly result: Validated<T>
}

/** Beyond this many untaken results a partition's queue is dropped (its task went away). */
const MAX_KEPT_PER_PARTITION = 100_000

/** What a taken (or skipped) slot holds until the array is compacted: the result and the key and
 *  value Buffers are let go at once. The Buffers are views into the consumer's fetch response, so
 *  one kept record held its whole response (up to a partition's fetch) resident; taken results
 *  stayed in the array until it emptied or its first 1,024 were spliced out (docs/benchmarks.md
 *  "Memory, fourth pass"). */
const RELEASED: Kept<never> = { offset: -1n, key: null, value: null, result: { ok: false } as unknown as Validated<never> }

class ValidationMemo<T> {
  readonly #validate: (key: Buffer | null, value: Buffer | null) => Validated<T>
  readonly #kept = new Map<string, Queue<T>>()

  constructor (validate: (key: Buffer | null, value: Buffer | null) => Validated<T>) {
    this.#validate = validate
  }

  /** Validates and keeps the result for take(). */
  validate (record: LogRecord): Validated<T> {
    const result = this.#validate(record.key, record.value)
    const id = `${record.partition}:${record.topic}`
    let queue = this.#kept.get(id)
    if (queue === undefined) this.#kept.set(id, queue = { items: [], head: 0 })
    const { items } = queue
    const last = items[items.length - 1]
    // Read again from an earlier offset (an abort, a new owner): what is kept is stale. Taken
    // ones are dropped once they are most of the array.
    if ((last !== undefined && last.offset >= record.offset) || items.length - queue.head >= MAX_KEPT_PER_PARTITION) {
      items.length = 0
      queue.head = 0
    } else if (queue.head > 1024 && queue.head * 2 > items.length) {
      items.splice(0, queue.head)
      queue.head = 0
    }
    items.push({ offset: record.offset, key: record.key, value: record.value, result })
    return result
  }

  /** The kept result for this record (forgotten once taken, with any older ones), else a fresh
   *  validation. */
  take (key: Buffer | null, value: Buffer | null, metadata: RecordMetadata | null): Validated<T> {
    const queue = metadata === null ? undefined : this.#kept.get(`${metadata.partition}:${metadata.topic}`)
    if (queue !== undefined && metadata !== null) {
      const { items } = queue
      while (queue.head < items.length && (items[queue.head] as Kept<T>).offset < metadata.offset) items[queue.head++] = RELEASED
      const kept = items[queue.head]
      if (kept !== undefined && kept.offset === metadata.offset) {
        items[queue.head++] = RELEASED
        if (queue.head === items.length) { items.length = 0; queue.head = 0 }
        if (kept.key === key && kept.value === value) return kept.result
      }
    }
    return this.#validate(key, value)
  }
}

export const rewardRecords = new ValidationMemo<RewardEvent>(validateRewardRecord)
export const redeemRecords = new ValidationMemo<RedeemEvent>(validateRedeemRecord)
