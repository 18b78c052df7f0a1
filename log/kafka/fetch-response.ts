// Fetch v12 (read_committed) with each partition's record batches left undecoded, one contiguous
// Buffer per partition, for the two decoders that read batches straight from bytes: the consumer's
// records (kafka-fetcher.ts decodeCommittedBuffer) and a restore's entries (kafka-entry-fetch.ts).
// The client's own decoder reads every record field by field through its chunked buffer, with a
// record object, an array of headers and BigInt varints per record: a quarter of what the engine
// allocated per input record (docs/benchmarks.md "Engine against the raw client, another pass").
// Also what both decoders share of Kafka's v2 batch format: its constants, and the walk over a
// partition's batches that keeps only committed data (walkCommittedBatches).
import { createAPI, fetchV12, Reader, readKnownTaggedFields, readRecordsBatch, ResponseError } from '@platformatic/kafka'

export const READ_COMMITTED = 1
export const IS_TRANSACTIONAL = 1 << 4
export const IS_CONTROL = 1 << 5
export const ABORT_MARKER = 0
export const COMPRESSION_MASK = 0x07
/** firstOffset (8) + length (4): the rest of a batch is `length` bytes. */
export const BATCH_LENGTH_END = 12
/** The v2 batch header up to and including its record count. */
export const BATCH_HEADER = 61

/** One partition of a fetch v12 response with its record batches left undecoded (contiguous). */
export interface RawPartition {
  readonly partitionIndex: number
  readonly errorCode: number
  readonly highWatermark: bigint
  readonly lastStableOffset: bigint
  readonly abortedTransactions: Array<{ producerId: bigint, firstOffset: bigint }>
  /** The partition's record batches (null: none). */
  readonly records: Buffer | null
}
export interface RawResponse { readonly responses: Array<{ topicId: string, partitions: RawPartition[] }> }

/** Memory a fetch's partitions are copied into when their records span the socket's chunks,
 *  reused fetch after fetch (KafkaPartitionReader's pool, released once a fetch's runs are
 *  written): a fresh Buffer per partition (the client's DynamicBuffer.slice) touched fresh pages
 *  each time, ~300 KB copied ~130 times per cold start at ~0.4 GB/s, where a reused arena copies
 *  at memory speed (docs/benchmarks.md "Cold start, twelfth pass (branch coldgc12)"). A bump
 *  allocator: what it hands out stays valid until reset(). */
export class FetchArena {
  /** One fetch's size limit (the response is at most this, bar one oversized batch). */
  static readonly CAPACITY = 16 * 1024 * 1024
  #buf: Buffer | undefined
  #used = 0
  /** Fetch v12 parsed into this arena. */
  readonly fetch = createAPI<Parameters<typeof fetchV12.createRequest>, RawResponse>(1, 12, fetchV12.createRequest, (c, k, v, r) => parseRaw(c, k, v, r, this))

  /** Bytes copied into the arena since its last reset. */
  get used (): number { return this.#used }

  /** `length` bytes of the arena, or of a fresh Buffer when they do not fit or are more than half
   *  of it: so any value kept out of the arena is less than half its backing store, which the
   *  in-memory store copies rather than keep as a view (stores/in-memory-store.ts ownedValue). */
  take (length: number): Buffer {
    if (length > FetchArena.CAPACITY / 2 || this.#used + length > FetchArena.CAPACITY) return Buffer.allocUnsafe(length)
    this.#buf ??= Buffer.allocUnsafeSlow(FetchArena.CAPACITY)
    const out = this.#buf.subarray(this.#used, this.#used + length)
    this.#used += length
    return out
  }

  /** Everything taken is free again: only once no view of it is used any more. */
  reset (): void { this.#used = 0 }
}

/** Bytes [start, end) of the response (exported for its test): a view of the socket's chunk that holds them, or a copy
 *  when they span chunks (into `arena` when given, else a fresh Buffer as the client's slice()). */
export function responseBytes (reader: Reader, start: number, end: number, arena: FetchArena | undefined): Buffer {
  if (arena === undefined) return reader.buffer.slice(start, end)
  const chunks = reader.buffer.buffers
  let i = 0
  let at = 0
  while (i < chunks.length && at + chunks[i]!.length <= start) at += chunks[i++]!.length
  if (i < chunks.length && end - at <= chunks[i]!.length) return chunks[i]!.subarray(start - at, end - at)
  const out = arena.take(end - start)
  let written = 0
  let from = start - at
  while (written < out.length) {
    const chunk = chunks[i++]!
    written += chunk.copy(out, written, from, Math.min(chunk.length, from + out.length - written))
    from = 0
  }
  return out
}

/** Fetch v12's response as @platformatic/kafka's fetch-v12.js parses it, except that each
 *  partition's records stay one Buffer (a view of the socket's chunk, or one copy when they span
 *  chunks: into `arena` when given). */
function parseRaw (_correlationId: number, apiKey: number, apiVersion: number, reader: Reader, arena?: FetchArena): RawResponse {
  const errors: Array<[string, [number, null]]> = []
  reader.readInt32() // throttle_time_ms
  const errorCode = reader.readInt16()
  if (errorCode !== 0) errors.push(['/', [errorCode, null]])
  reader.readInt32() // session_id
  const responses = reader.readArray((r, i) => ({
    topicId: r.readString(),
    partitions: r.readArray((r, j) => {
      const partitionIndex = r.readInt32()
      const errorCode = r.readInt16()
      const highWatermark = r.readInt64()
      const lastStableOffset = r.readInt64()
      r.readInt64() // log_start_offset
      const abortedTransactions = r.readNullableArray(r => ({ producerId: r.readInt64(), firstOffset: r.readInt64() })) ?? []
      r.readInt32() // preferred_read_replica
      if (errorCode !== 0) errors.push([`/responses/${i}/partitions/${j}`, [errorCode, null]])
      let records: Buffer | null = null
      const size = r.readUnsignedVarInt()
      if (size > 1) {
        records = responseBytes(r, r.position, r.position + size - 1, arena)
        r.skip(size - 1)
      }
      readKnownTaggedFields(r, {})
      return { partitionIndex, errorCode, highWatermark, lastStableOffset, abortedTransactions, records }
    }, true, false)
  }))
  readKnownTaggedFields(reader, {})
  const response = { responses }
  if (errors.length > 0) throw new ResponseError(apiKey, apiVersion, Object.fromEntries(errors), response)
  return response
}

export const fetchRaw = createAPI<Parameters<typeof fetchV12.createRequest>, RawResponse>(1, 12, fetchV12.createRequest, (c, k, v, r) => parseRaw(c, k, v, r))

/** Walks the v2 record batches in `buf` from offset `from` the way a read_committed consumer
 *  sees them: batches of aborted transactions (per `abortedTransactions`, the fetch response's
 *  list) and control batches are passed over; `visit` gets every other batch (its bytes
 *  [start, end), how many of its first records lie below `from` (the batch spanning the fetch
 *  offset; 0 for the others) and its attributes). A batch cut short at the end of the buffer (the
 *  broker's size limit) is left for the next fetch. Returns the offset after the last batch
 *  walked (`from` when none): where the partition's next fetch starts.
 *  Per batch no BigInt (offsets below 2^53 as Numbers) and, with no aborted transaction in the
 *  response, neither a producer id nor a transaction marker is read: a changelog written
 *  exactly-once has a marker batch per transaction and partition, and decoding each through the
 *  client's record reader was ~5 % of a cold start's main thread (docs/benchmarks.md "Cold start,
 *  eleventh pass (branch coldstart11)"). */
export function walkCommittedBatches (from: bigint, buf: Buffer, abortedTransactions: ReadonlyArray<{ producerId: bigint, firstOffset: bigint }>, visit: (start: number, end: number, skipBelow: number, attributes: number) => void): bigint {
  const aborted = abortedTransactions.length === 0 ? [] : [...abortedTransactions].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0))
  const abortedProducers = new Set<bigint>()
  let abortedIndex = 0
  // `from` and the offsets as Numbers while they are exact; BigInts past 2^53 (not in practice).
  const fromSafe = from >= 0n && from <= MAX_EXACT
  const fromNumber = Number(from)
  let nextOffset: bigint | number = from
  let o = 0
  while (buf.length - o >= BATCH_HEADER) {
    const end = o + BATCH_LENGTH_END + buf.readInt32BE(o + 8)
    if (end > buf.length) break
    const magic = buf.readInt8(o + 16)
    if (magic !== 2) throw new Error(`record batch magic ${magic} at offset ${buf.readBigInt64BE(o)}: only v2 batches are supported`)
    const attributes = buf.readInt16BE(o + 21)
    const lastOffsetDelta = buf.readInt32BE(o + 23)
    const start = o
    o = end
    const high = buf.readInt32BE(start)
    let skipBelow = 0
    let lastNumber = 0
    let lastBig: bigint | undefined
    if (fromSafe && high >= 0 && high < EXACT_HIGH) {
      const firstOffset = high * 0x1_0000_0000 + buf.readUInt32BE(start + 4)
      lastNumber = firstOffset + lastOffsetDelta
      if (lastNumber < fromNumber) continue
      nextOffset = lastNumber + 1
      if (firstOffset < fromNumber) skipBelow = fromNumber - firstOffset
    } else {
      const firstOffset = buf.readBigInt64BE(start)
      lastBig = firstOffset + BigInt(lastOffsetDelta)
      if (lastBig < from) continue
      nextOffset = lastBig + 1n
      if (firstOffset < from) skipBelow = Number(from - firstOffset)
    }
    const control = (attributes & IS_CONTROL) !== 0
    if ((attributes & IS_TRANSACTIONAL) !== 0 && aborted.length > 0) {
      const producerId = buf.readBigInt64BE(start + 43)
      const lastOffset = lastBig ?? BigInt(lastNumber)
      while (abortedIndex < aborted.length && aborted[abortedIndex]!.firstOffset <= lastOffset) {
        abortedProducers.add(aborted[abortedIndex]!.producerId)
        abortedIndex++
      }
      if (control) {
        // The marker's key: version (int16), type (int16); ABORT ends the producer's aborted run
        // (read only for a producer in one: otherwise it changes nothing).
        if (!abortedProducers.has(producerId)) continue
        const marker = readRecordsBatch(Reader.from(buf.subarray(start, end))).records[0]?.key
        if (marker !== undefined && marker !== null && marker.length >= 4 && marker.readInt16BE(2) === ABORT_MARKER) abortedProducers.delete(producerId)
        continue
      }
      if (abortedProducers.has(producerId)) continue
    } else if (control) {
      // No aborted transaction in the response: every marker commits (or aborts nothing fetched).
      continue
    }
    visit(start, end, skipBelow, attributes)
  }
  return typeof nextOffset === 'bigint' ? nextOffset : BigInt(nextOffset)
}

/** The largest offset handled as a Number (2^53 − 1), and the high 32 bits below which a
 *  batch's first offset is exact as one. */
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER)
const EXACT_HIGH = 0x1f_ffff
