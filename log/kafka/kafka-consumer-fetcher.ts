// The fetch side of KafkaGroupConsumer (kafka-group-consumer.ts keeps the group protocol): the
// assigned partitions' positions, the records fetched ahead and not yet returned by poll(),
// pauses, last stable offsets, and the one background fetch in flight. read_committed Fetch at
// explicit offsets (kafka-fetcher.ts); an offset found out of range is reset by the reset policy
// and reported (never silently).
import type { ConnectionPool } from '@platformatic/kafka'
import { StreamsError } from '../../topology/streams-error.ts'
import type { GroupConsumerOptions, LogRecord, PartitionOffset, TopicPartition } from '../log-port.ts'
import type { KafkaAdmin } from './kafka-admin.ts'
import { fetchCommittedOffsets } from './kafka-admin.ts'
import type { KafkaClient } from './kafka-client.ts'
import { isRetriable, toStreamsError } from './kafka-errors.ts'
import { fetchCommitted, partitionKey, RECORD_OVERHEAD_BYTES } from './kafka-fetcher.ts'
import { mark, timelineOn } from '../../lib/tracing/engine-timeline.ts'

/** A background fetch's wait on the broker for records (it answers as soon as there are some). */
const PREFETCH_WAIT_MS = 500
/** The same when the fetch leaves out assigned partitions (paused, or holding a full buffer): it
 *  asks only for caught-up partitions then, the broker holds it for its whole wait, and one fetch
 *  at a time means the partitions left out get nothing meanwhile once they drain or resume. With
 *  500 ms the engine's loop sat in empty polls for most of the last second of a 200k-record run,
 *  8 partitions at their end holding the fetch while 4 had records to read (docs/benchmarks.md,
 *  "branch engine7"). */
const PARTIAL_PREFETCH_WAIT_MS = 20
/** Per fetch response: a few MiB, decoded in one go on the event loop, so that the first records
 *  arrive soon and decoding interleaves with processing (the next fetch is in flight meanwhile);
 *  a 16 MiB response held the engine's loop for a second on a loaded machine (issue 16). */
const FETCH_MAX_BYTES = 2 * 1024 * 1024
const FETCH_PARTITION_MAX_BYTES = 256 * 1024
/** Fetching ahead (startPrefetch): a partition is fetched again while fewer than this many bytes
 *  (kafka-fetcher.ts `bytes`) of its records wait in the consumer, at the offset after them; and no
 *  fetch starts while all partitions together hold more than BUFFER_MAX_BYTES. A response may
 *  exceed what was asked (the broker returns at least one batch), so these bound what a new
 *  fetch is sent for, not to the byte. */
const BUFFER_PARTITION_MAX_BYTES = 4 * FETCH_PARTITION_MAX_BYTES
const BUFFER_MAX_BYTES = 4 * 1024 * 1024 // 16 MiB held ~58k decoded records (~35 MiB of heap and views) in the processor role (docs/benchmarks.md "Memory")

/** A partition's fetched records not yet returned by poll(): records[index..]. */
interface Buffered {
  records: LogRecord[]
  index: number
  /** The offset after the last fetched batch: where this partition's next fetch starts. */
  nextOffset: bigint
  /** `bytes` (kafka-fetcher.ts) of records[index..]. */
  bytes: number
}

export type FetcherOptions = Pick<GroupConsumerOptions, 'groupId' | 'clientId' | 'maxPollRecords' | 'offsetReset'> & {
  /** A fetch waits on the broker at most this long (the session timeout). */
  readonly maxWaitMs: number
}

export class KafkaConsumerFetcher {
  readonly #client: KafkaClient
  readonly #admin: KafkaAdmin
  readonly #options: FetcherOptions
  readonly #maxPollRecords: number
  readonly #pool: ConnectionPool

  #assignment: TopicPartition[] = []
  readonly #positions = new Map<string, bigint>()
  readonly #paused = new Set<string>()
  /** The next partial fetch ahead's wait: PARTIAL_PREFETCH_WAIT_MS, doubled by each one that brings
   *  nothing, up to PREFETCH_WAIT_MS, so that a partition paused for long (a failing dependency)
   *  beside caught-up ones does not cost a fetch every 20 ms; back to the start when a fetch
   *  brings records or a partition resumes. */
  #partialWaitMs = PARTIAL_PREFETCH_WAIT_MS
  /** Last stable offset per partition from the latest fetch response. */
  readonly #ends = new Map<string, bigint>()
  readonly #buffers = new Map<string, Buffered>()
  #roundRobinStart = 0
  #closed = false
  /** The background fetch (startPrefetch), and its failure, thrown by the next poll. */
  #prefetch: Promise<void> | undefined
  #prefetchError: unknown

  constructor (client: KafkaClient, admin: KafkaAdmin, options: FetcherOptions) {
    this.#client = client
    this.#admin = admin
    this.#options = options
    this.#maxPollRecords = options.maxPollRecords ?? 500
    this.#pool = client.createPool(30_000, options.clientId)
  }

  /** The assigned partitions (the group consumer's assignment), in assignment order. */
  get assignment (): readonly TopicPartition[] {
    return this.#assignment
  }

  /** A new assignment: start positions from the committed offsets (OffsetFetch via `groupPool`)
   *  or the reset policy; nothing kept from before. */
  async assign (partitions: TopicPartition[], groupPool: ConnectionPool): Promise<void> {
    this.#assignment = partitions
    this.#positions.clear()
    this.#buffers.clear()
    await this.#initialisePositions(partitions, groupPool)
  }

  /** Partitions added to the assignment (cooperative), positioned before they join it. */
  async add (partitions: TopicPartition[], groupPool: ConnectionPool): Promise<void> {
    await this.#initialisePositions(partitions, groupPool)
    this.#assignment.push(...partitions)
  }

  /** Forgets revoked partitions (positions, buffered records, pauses, ends). */
  drop (partitions: TopicPartition[]): void {
    const keys = new Set(partitions.map(partitionKey))
    this.#assignment = this.#assignment.filter(tp => !keys.has(partitionKey(tp)))
    for (const key of keys) {
      this.#positions.delete(key)
      this.#buffers.delete(key)
      this.#paused.delete(key)
      this.#ends.delete(key)
    }
  }

  /** No assignment any more. */
  clear (): void {
    this.#assignment = []
    this.#positions.clear()
    this.#buffers.clear()
    // Pausing is per assignment (as the Java consumer's, and the embedded backend's): a partition
    // assigned again starts unpaused. The engine forgets its paused partitions on revocation, so a
    // pause kept here would never be lifted and the partition would stall after any rebalance.
    this.#paused.clear()
  }

  pause (partitions: TopicPartition[]): void {
    // Records fetched for a paused partition stay buffered (as the Java consumer keeps them): the
    // engine pauses a partition whose task buffer is full and resumes it soon after, and dropping
    // them made it fetch and decode the same records again (issue 16). So are those of a fetch in
    // flight when it is paused (fetch): no new fetch starts for it while paused. A seek drops both.
    for (const tp of partitions) this.#paused.add(partitionKey(tp))
  }

  resume (partitions: TopicPartition[]): void {
    for (const tp of partitions) this.#paused.delete(partitionKey(tp))
    this.#partialWaitMs = PARTIAL_PREFETCH_WAIT_MS
  }

  seek (position: PartitionOffset): void {
    const key = partitionKey(position)
    if (!this.#isAssigned(key)) throw new StreamsError('TASK_MIGRATED', `seek: ${position.topic}/${position.partition} is not assigned`)
    this.#positions.set(key, position.offset)
    this.#buffers.delete(key)
  }

  endOffset (partition: TopicPartition): bigint | undefined {
    return this.#ends.get(partitionKey(partition))
  }

  position (partition: TopicPartition): bigint {
    const key = partitionKey(partition)
    const position = this.#positions.get(key)
    if (position === undefined || !this.#isAssigned(key)) throw new StreamsError('TASK_MIGRATED', `position: ${partition.topic}/${partition.partition} is not assigned`)
    return position
  }

  /** Records for poll(): what is buffered, else what a fetch (the one in flight, or a new one)
   *  brings within `maxWaitMs`; `idle` waits when every partition is paused. */
  async records (maxWaitMs: number, idle: (ms: number) => Promise<void>): Promise<LogRecord[]> {
    const deadline = Date.now() + maxWaitMs
    this.#throwPrefetchError()
    const records = this.#drain()
    if (records.length > 0) return records
    const remaining = Math.max(0, deadline - Date.now())
    if (this.#prefetch !== undefined) {
      await this.#awaitPrefetch(remaining)
      this.#throwPrefetchError()
    } else {
      const active = this.#assignment.filter(tp => !this.#paused.has(partitionKey(tp)))
      if (active.length === 0) {
        await idle(remaining)
        return []
      }
      await this.#fetch(active, remaining)
    }
    return this.#drain()
  }

  /** Fetches ahead, in the background, while the caller processes what poll() returned (the Java
   *  consumer's pipelining): every unpaused partition holding fewer than BUFFER_PARTITION_MAX_BYTES
   *  unreturned, at the offset after what it holds, so that a partition's next records are on
   *  their way while its buffered ones drain (issue 16: the loop waited for a fetch whenever a
   *  partition drained). One fetch at a time; a fetch that brought records is followed by the next
   *  at once, without waiting for a poll, while `allowed()` says so (not while an eager member
   *  must rejoin). Its results are dropped for partitions sought or reassigned meanwhile (#fetch
   *  compares the offset it asked for with #fetchOffset). */
  startPrefetch (allowed: () => boolean): void {
    if (this.#prefetch !== undefined || this.#closed || !allowed()) return
    let total = 0
    for (const buffer of this.#buffers.values()) total += buffer.bytes
    if (total >= BUFFER_MAX_BYTES) return
    const wanted = this.#assignment.filter(tp => { const key = partitionKey(tp); return !this.#paused.has(key) && (this.#buffers.get(key)?.bytes ?? 0) < BUFFER_PARTITION_MAX_BYTES })
    if (wanted.length === 0) return
    let progressed = false
    const partial = wanted.length < this.#assignment.length
    const run = this.#fetch(wanted, partial ? this.#partialWaitMs : PREFETCH_WAIT_MS, BUFFER_MAX_BYTES - total).then(brought => {
      progressed = brought
      if (partial) this.#partialWaitMs = brought ? PARTIAL_PREFETCH_WAIT_MS : Math.min(PREFETCH_WAIT_MS, this.#partialWaitMs * 2)
    }, (error: unknown) => {
      if (!this.#closed) this.#prefetchError ??= error
    }).finally(() => {
      if (this.#prefetch !== run) return
      this.#prefetch = undefined
      // Not after a fetch that brought nothing (caught up, or failed: the next poll sends one).
      if (progressed) this.startPrefetch(allowed)
    })
    this.#prefetch = run
  }

  /** Closing: no fetch starts any more, and a failing one is not reported. */
  stop (): void {
    this.#closed = true
    this.clear()
  }

  async close (): Promise<void> {
    this.stop()
    await this.#client.closePool(this.#pool)
  }

  /** Waits for the background fetch, at most `ms`. */
  async #awaitPrefetch (ms: number): Promise<void> {
    const prefetch = this.#prefetch
    if (prefetch === undefined || ms <= 0) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([prefetch, new Promise<void>(resolve => { timer = setTimeout(resolve, ms) })])
    clearTimeout(timer)
  }

  #throwPrefetchError (): void {
    const error = this.#prefetchError
    if (error === undefined) return
    this.#prefetchError = undefined
    throw error
  }

  /** Start positions of newly assigned partitions: the committed offset (OffsetFetch with
   *  require_stable) or, without one, where the reset policy says. */
  async #initialisePositions (partitions: TopicPartition[], groupPool: ConnectionPool): Promise<void> {
    if (partitions.length === 0) return
    const committed = await fetchCommittedOffsets(this.#client, groupPool, this.#options.groupId, partitions)
    for (const c of committed) this.#positions.set(partitionKey(c), c.offset)
    const missing = partitions.filter(tp => !this.#positions.has(partitionKey(tp)))
    if (missing.length > 0) {
      const policy = this.#resetPolicy()
      if (policy === 'none') throw this.#noValidOffset(missing, 'has no committed offset')
      for (const o of await this.#admin.listOffsets(missing, policy)) this.#positions.set(partitionKey(o), o.offset)
    }
  }

  #isAssigned (key: string): boolean {
    return this.#assignment.some(tp => partitionKey(tp) === key)
  }

  /** Where a partition's next fetch starts: after its buffered records, else at its position;
   *  undefined when it is not assigned. */
  #fetchOffset (key: string): bigint | undefined {
    return this.#buffers.get(key)?.nextOffset ?? this.#positions.get(key)
  }

  /** One fetch of `active` (each at #fetchOffset); true when it buffered records. */
  async #fetch (active: TopicPartition[], maxWaitMs: number, maxBytes = FETCH_MAX_BYTES): Promise<boolean> {
    const positions = active.map(tp => ({ topic: tp.topic, partition: tp.partition, offset: this.#fetchOffset(partitionKey(tp)) ?? 0n }))
    let fetched
    const t = performance.now()
    try {
      fetched = await fetchCommitted(this.#client, this.#pool, positions, { maxWaitMs: Math.min(maxWaitMs, this.#options.maxWaitMs), maxBytes: Math.min(FETCH_MAX_BYTES, Math.max(maxBytes, FETCH_PARTITION_MAX_BYTES)), partitionMaxBytes: FETCH_PARTITION_MAX_BYTES })
    } catch (error) {
      if (isRetriable(error)) {
        this.#client.admin.clearMetadata()
        return false
      }
      throw toStreamsError(error, 'LOG_CONNECTION', 'fetch')
    }
    if (timelineOn()) {
      let n = 0
      for (const result of fetched) n += result.records.length
      mark('fetch', t, { partitions: positions.length, records: n, waitMs: maxWaitMs })
    }
    const requested = new Map(positions.map(p => [partitionKey(p), p.offset]))
    const outOfRange: TopicPartition[] = []
    let brought = false
    for (const result of fetched) {
      const key = partitionKey(result)
      // The assignment or a seek may have changed while the fetch was in flight: its results
      // count only where the partition's next fetch would still start at the offset asked for
      // (unassigned: undefined; sought: the buffer is gone and the position moved). A pause
      // keeps them, as it keeps what was buffered before it (pause()).
      const buffer = this.#buffers.get(key)
      if ((buffer?.nextOffset ?? this.#positions.get(key)) !== requested.get(key)) continue
      if (result.lastStableOffset >= 0n) this.#ends.set(key, result.lastStableOffset)
      if (result.errorId !== null) {
        // Out of range ahead of buffered records: handled once they drained and the position is
        // there (a fetch from the position then meets it again), so the reset is from the position.
        if (result.errorId === 'OFFSET_OUT_OF_RANGE') { if (buffer === undefined) outOfRange.push(result) } else this.#client.admin.clearMetadata()
        continue
      }
      if (result.records.length === 0) {
        if (buffer === undefined) this.#positions.set(key, result.nextOffset)
        else buffer.nextOffset = result.nextOffset
        continue
      }
      brought = true
      if (buffer === undefined) {
        this.#buffers.set(key, { records: result.records, index: 0, nextOffset: result.nextOffset, bytes: result.bytes })
        continue
      }
      // Appended behind what the partition still holds (the returned head dropped first).
      if (buffer.index > 0) { buffer.records = buffer.records.slice(buffer.index); buffer.index = 0 }
      for (const record of result.records) buffer.records.push(record)
      buffer.nextOffset = result.nextOffset
      buffer.bytes += result.bytes
    }
    if (outOfRange.length > 0) {
      // auto.offset.reset: never silent (the listener logs and counts every reset).
      const policy = this.#resetPolicy()
      if (policy === 'none') throw this.#noValidOffset(outOfRange, 'is at an offset out of range')
      for (const o of await this.#admin.listOffsets(outOfRange, policy)) {
        const key = partitionKey(o)
        // Moved meanwhile (a seek, a new assignment): that position stands.
        if (this.#positions.get(key) !== requested.get(key)) continue
        this.#positions.set(key, o.offset)
        this.#options.offsetReset?.onReset?.({ groupId: this.#options.groupId, topic: o.topic, partition: o.partition, policy, from: requested.get(key)!, to: o.offset })
      }
    }
    return brought
  }

  #resetPolicy (): 'earliest' | 'latest' | 'none' {
    return this.#options.offsetReset?.policy ?? 'earliest'
  }

  #noValidOffset (partitions: TopicPartition[], what: string): StreamsError {
    const names = partitions.map(tp => `${tp.topic}-${tp.partition}`).join(', ')
    return new StreamsError('LOG_OFFSET_OUT_OF_RANGE', `group ${this.#options.groupId} ${what} on ${names} and the offset reset policy is none (REWARDS_AUTO_OFFSET_RESET): set the group's offsets (rewards reprocess / kafka-consumer-groups --reset-offsets) or choose earliest or latest`)
  }

  /** Up to maxPollRecords buffered records of assigned, unpaused partitions (rotating the first
   *  partition between polls for fairness); positions advance past what is returned. */
  #drain (): LogRecord[] {
    const out: LogRecord[] = []
    if (this.#buffers.size === 0) return out
    const keys = this.#assignment.map(partitionKey)
    const start = this.#roundRobinStart++ % Math.max(1, keys.length)
    for (let i = 0; i < keys.length && out.length < this.#maxPollRecords; i++) {
      const key = keys[(start + i) % keys.length]!
      const buffer = this.#buffers.get(key)
      if (buffer === undefined || this.#paused.has(key)) continue
      const from = buffer.index
      let bytes = 0
      while (buffer.index < buffer.records.length && out.length < this.#maxPollRecords) {
        const record = buffer.records[buffer.index++]!
        bytes += RECORD_OVERHEAD_BYTES + (record.key?.length ?? 0) + (record.value?.length ?? 0)
        out.push(record)
      }
      buffer.bytes -= bytes
      // The position moves once per partition and poll, past the last record returned.
      if (buffer.index > from) this.#positions.set(key, buffer.records[buffer.index - 1]!.offset + 1n)
      if (buffer.index >= buffer.records.length) {
        this.#buffers.delete(key)
        this.#positions.set(key, buffer.nextOffset)
      }
    }
    return out
  }
}
