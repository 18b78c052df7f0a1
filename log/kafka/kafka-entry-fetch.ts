// Read-committed fetches decoded straight into changelog entries (key and value only), for the
// restore of state stores (docs/engine.md "State, checkpoints, restore"). A restore needs neither
// offsets, timestamps nor headers per record: the generic path (kafka-fetcher.ts) builds two
// objects per record (the client's record, then a LogRecord with a BigInt offset and a headers
// object), reads the response through a chunked buffer byte by byte, and was most of a restore's
// CPU. Here a partition's record batches are one contiguous Buffer, each batch's header is read
// once, and a record costs one { key, value } whose Buffers are views of that Buffer (no copy).
// Aborted transactions and control batches are handled as in kafka-fetcher.ts.
import { protocolErrorsCodesById, Reader, readRecordsBatch } from '@platformatic/kafka'
import type { ConnectionPool } from '@platformatic/kafka'
import type { PartitionEntry, PartitionOffset, TopicPartition } from '../log-port.ts'
import type { KafkaClient } from './kafka-client.ts'
import { BATCH_HEADER, COMPRESSION_MASK, type FetchArena, fetchRaw, READ_COMMITTED, type RawResponse, walkCommittedBatches } from './fetch-response.ts'
import { fetchRequestTopics, partitionKey, positionsByLeader, type FetchOptions } from './kafka-fetcher.ts'
import { COLUMNS_PER_RECORD } from '../../stores/restore-columns.ts'

export interface FetchedEntries extends TopicPartition {
  /** The partition's committed records, decoded as they are taken. */
  readonly run: EntryRun
  /** Offset to fetch next: past the last batch of the response, control batches included. */
  readonly nextOffset: bigint
  /** Protocol error id of this partition, if any (its entries are then empty). */
  readonly errorId: string | null
}



/** fetchEntries()'s options: `arena`, where a partition's records that span the socket's chunks
 *  are copied (the entries are views of it: valid until the arena is reset). */
export interface EntryFetchOptions extends FetchOptions { readonly arena?: FetchArena }

/** Fetches every position (grouped by partition leader, requests in parallel), decoded as entries. */
export async function fetchEntries (client: KafkaClient, pool: ConnectionPool, positions: PartitionOffset[], options: EntryFetchOptions): Promise<FetchedEntries[]> {
  if (positions.length === 0) return []
  const results = await Promise.all([...await positionsByLeader(client, positions)].map(async ([leader, list]) => leader < 0
    ? list.map(p => emptyResult(p, 'LEADER_NOT_AVAILABLE'))
    : await fetchFromLeader(client, pool, leader, list, options)))
  return results.flat()
}

function emptyResult (position: PartitionOffset, errorId: string | null): FetchedEntries {
  return { topic: position.topic, partition: position.partition, run: new EntryRun(null, [], 0), nextOffset: position.offset, errorId }
}

async function fetchFromLeader (client: KafkaClient, pool: ConnectionPool, leader: number, positions: PartitionOffset[], options: EntryFetchOptions): Promise<FetchedEntries[]> {
  const connection = await client.connectionToNode(pool, leader)
  let response: RawResponse
  try {
    // As kafka-fetcher.ts: v12 names topics, a sessionless full fetch every time.
    response = await (options.arena?.fetch ?? fetchRaw).async(connection, options.maxWaitMs, 1, options.maxBytes ?? 16 * 1024 * 1024, READ_COMMITTED, 0, -1, fetchRequestTopics(positions, options), [], '')
  } catch (error) {
    const partial = (error as { response?: RawResponse }).response
    if (partial?.responses === undefined) throw error
    response = partial
  }
  const wanted = new Map(positions.map(p => [partitionKey(p), p]))
  const out: FetchedEntries[] = []
  for (const topic of response.responses) {
    for (const partition of topic.partitions) {
      const key = partitionKey({ topic: topic.topicId, partition: partition.partitionIndex })
      const position = wanted.get(key)
      if (position === undefined) continue
      wanted.delete(key)
      if (partition.errorCode !== 0) {
        out.push(emptyResult(position, protocolErrorsCodesById[partition.errorCode] ?? `ERROR_${partition.errorCode}`))
        continue
      }
      const { run, nextOffset } = scanEntries(position.offset, partition.records, partition.abortedTransactions)
      out.push({ topic: position.topic, partition: position.partition, run, nextOffset, errorId: null })
    }
  }
  for (const missing of wanted.values()) out.push(emptyResult(missing, null))
  return out
}

/** The committed records at or after `from` in a partition's record batches (magic v2), as
 *  entries (records without a key are skipped: a store has nothing to do with them), and the
 *  offset to fetch next (past control batches and aborted data too). A batch cut short at the
 *  end of the buffer (the broker's size limit) is left for the next fetch. */
export function decodeEntries (from: bigint, buf: Buffer | null, abortedTransactions: ReadonlyArray<{ producerId: bigint, firstOffset: bigint }>): { entries: PartitionEntry[], nextOffset: bigint } {
  const { run, nextOffset } = scanEntries(from, buf, abortedTransactions)
  return { entries: run.take(Infinity), nextOffset }
}

/** decodeEntries() in two steps: the batch headers are read now (which batches hold committed
 *  data, the next offset), the records only as run.take() asks for them. A restore writes each
 *  slice before it decodes the next, so the entries of a 16 MiB fetch (~100k records, a key and
 *  a value view each) never live all at once: decoded all at once, they outlived a few young
 *  generation collections and were copied into the old one, a fifth of a cold start's main
 *  thread in the garbage collector (docs/benchmarks.md "Cold start, third pass"). */
export function scanEntries (from: bigint, buf: Buffer | null, abortedTransactions: ReadonlyArray<{ producerId: bigint, firstOffset: bigint }>): { run: EntryRun, nextOffset: bigint } {
  if (buf === null) return { run: new EntryRun(null, [], 0), nextOffset: from }
  // Per batch to decode: its start, end and the records to skip at its start (negative when
  // compressed).
  const batches: number[] = []
  let records = 0
  // Only the batch spanning `from` (the first one fetched, when the fetch offset falls inside a
  // batch) has records to skip (skipBelow > 0): their offset deltas are compared.
  const nextOffset = walkCommittedBatches(from, buf, abortedTransactions, (start, end, skipBelow, attributes) => {
    const count = buf.readInt32BE(start + 57)
    batches.push(start, end, (attributes & COMPRESSION_MASK) !== 0 ? -1 - skipBelow : skipBelow)
    records += Math.max(0, count - skipBelow)
  })
  return { run: new EntryRun(buf, batches, records), nextOffset }
}

/** A partition's committed records of one fetch, decoded a slice at a time (scanEntries). */
export class EntryRun {
  /** Records in the batches to decode, from their headers (those below the fetch offset left
   *  out; records without a key, which take() skips, counted). */
  readonly records: number
  readonly #buf: Buffer | null
  readonly #batches: number[]
  /** Next batch (index of its triple in #batches). */
  #batch = 0
  /** Inside the batch being decoded: next record's position, records left, records to skip. */
  #p = 0
  #end = 0
  #left = 0
  #skipBelow = 0
  /** #decode()'s offsets, reused take() after take(). */
  #scratch = new Int32Array(0)
  /** A compressed batch, decoded by the client at once, and how far take() handed it out. */
  #unpacked: PartitionEntry[] = []
  #unpackedAt = 0

  constructor (buf: Buffer | null, batches: number[], records: number) {
    this.#buf = buf
    this.#batches = batches
    this.records = records
  }

  /** The bytes takeColumns() points into, when it can decode this run: no compressed batch
   *  (those are decoded by the client into Buffers of their own); undefined otherwise. */
  get columnBuffer (): Buffer | undefined {
    if (this.#buf === null) return undefined
    for (let i = 2; i < this.#batches.length; i += 3) if (this.#batches[i]! < 0) return undefined
    return this.#buf
  }

  /** take() as offsets into columnBuffer (stores/restore-columns.ts): the next up to `max`
   *  records' key start and length, value start and length (−1: null), COLUMNS_PER_RECORD Int32s
   *  each from `at[0]`. Returns how many (0: none left). Only where columnBuffer is defined; may
   *  alternate with take(). */
  takeColumns (max: number, at: Int32Array): number {
    const buf = this.#buf
    if (buf === null) return 0
    let n = 0
    while (n < max) {
      if (this.#left === 0) {
        if (this.#batch >= this.#batches.length) break
        const start = this.#batches[this.#batch]!
        const skip = this.#batches[this.#batch + 2]!
        if (skip < 0) throw new Error('takeColumns: a compressed batch (see columnBuffer)')
        this.#end = this.#batches[this.#batch + 1]!
        this.#batch += 3
        this.#p = start + BATCH_HEADER
        this.#left = buf.readInt32BE(start + 57)
        this.#skipBelow = skip
      }
      n = this.#decodeColumns(buf, max, at, n)
    }
    return n
  }

  /** The next up to `max` entries, in log order (empty: none left). */
  take (max: number): PartitionEntry[] {
    const out: PartitionEntry[] = []
    const buf = this.#buf
    if (buf === null) return out
    while (out.length < max) {
      if (this.#unpackedAt < this.#unpacked.length) {
        while (out.length < max && this.#unpackedAt < this.#unpacked.length) out.push(this.#unpacked[this.#unpackedAt++]!)
        continue
      }
      if (this.#left === 0) {
        if (this.#batch >= this.#batches.length) break
        const start = this.#batches[this.#batch]!
        const end = this.#batches[this.#batch + 1]!
        const skip = this.#batches[this.#batch + 2]!
        this.#batch += 3
        if (skip < 0) {
          // Compressed: the client decompresses and decodes it (not on the engine's changelogs).
          const skipBelow = -1 - skip
          this.#unpacked = []
          this.#unpackedAt = 0
          for (const record of readRecordsBatch(Reader.from(buf.subarray(start, end))).records) {
            if (record.offsetDelta >= skipBelow && record.key !== null) this.#unpacked.push({ key: record.key, value: record.value })
          }
          continue
        }
        this.#p = start + BATCH_HEADER
        this.#end = end
        this.#left = buf.readInt32BE(start + 57)
        this.#skipBelow = skip
      }
      this.#decode(buf, max, out)
    }
    return out
  }

  /** Uncompressed v2 records: length, attributes, timestamp delta, offset delta, key, value,
   *  headers (varints zigzag-encoded). Only the key and value are kept, as offsets into `buf`
   *  (stores/restore-columns.ts) from record `n` of `at` on: the rest is skipped by the record's
   *  length. Stops once `at` holds `max` records (take()/takeColumns() resume from there); returns
   *  how many it holds. No object or view per record: this loop is the restore's hottest code. */
  #decodeColumns (buf: Buffer, max: number, at: Int32Array, n: number): number {
    let p = this.#p
    let left = this.#left
    const end = this.#end
    const skipBelow = this.#skipBelow
    let j = n * COLUMNS_PER_RECORD
    // Inline varint reads.
    while (left > 0 && p < end && n < max) {
      left--
      let v = 0
      let shift = 0
      let b: number
      do { b = buf[p++]!; v |= (b & 0x7f) << shift; shift += 7 } while ((b & 0x80) !== 0)
      const recordEnd = p + ((v >>> 1) ^ -(v & 1))
      p++ // attributes
      while ((buf[p++]! & 0x80) !== 0) { /* timestamp delta (varlong): skipped */ }
      v = 0; shift = 0
      do { b = buf[p++]!; v |= (b & 0x7f) << shift; shift += 7 } while ((b & 0x80) !== 0)
      const offsetDelta = (v >>> 1) ^ -(v & 1)
      v = 0; shift = 0
      do { b = buf[p++]!; v |= (b & 0x7f) << shift; shift += 7 } while ((b & 0x80) !== 0)
      const keyLength = (v >>> 1) ^ -(v & 1)
      const keyStart = p
      if (keyLength > 0) p += keyLength
      v = 0; shift = 0
      do { b = buf[p++]!; v |= (b & 0x7f) << shift; shift += 7 } while ((b & 0x80) !== 0)
      const valueLength = (v >>> 1) ^ -(v & 1)
      const valueStart = p
      if (keyLength >= 0 && offsetDelta >= skipBelow) {
        at[j] = keyStart
        at[j + 1] = keyLength
        at[j + 2] = valueStart
        at[j + 3] = valueLength < 0 ? -1 : valueLength
        j += COLUMNS_PER_RECORD
        n++
      }
      p = recordEnd
    }
    // A batch cut short (its records overrun its length): the rest of it is dropped.
    this.#left = p < end ? left : 0
    this.#p = p
    return n
  }

  /** #decodeColumns() as entries (views of `buf`), for take(): one walk of the records for both. */
  #decode (buf: Buffer, max: number, out: PartitionEntry[]): void {
    // No more than the run holds: a small run does not take a slice-sized array.
    const want = Math.min(max - out.length, this.records)
    if (this.#scratch.length < want * COLUMNS_PER_RECORD) this.#scratch = new Int32Array(want * COLUMNS_PER_RECORD)
    const at = this.#scratch
    const n = this.#decodeColumns(buf, want, at, 0)
    for (let i = 0, j = 0; i < n; i++, j += COLUMNS_PER_RECORD) {
      out.push({ key: buf.subarray(at[j]!, at[j]! + at[j + 1]!), value: at[j + 3]! < 0 ? null : buf.subarray(at[j + 2]!, at[j + 2]! + at[j + 3]!) })
    }
  }
}
