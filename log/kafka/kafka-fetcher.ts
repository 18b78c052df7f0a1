// Read-committed fetches at explicit offsets, shared by the group consumer and the partition
// reader. Aborted transactions are filtered here (the Java consumer's algorithm: the fetch
// response lists aborted producer ids with their first offsets; a batch of such a producer is
// dropped until that producer's ABORT marker), and control batches (commit / abort markers) are
// skipped while still advancing the next offset past them, so a reader can tell it reached the
// last stable offset even when the log ends with a marker.
import { protocolErrorsCodesById, Reader, readRecordsBatch } from '@platformatic/kafka'
import type { ConnectionPool, RecordsBatch } from '@platformatic/kafka'
import type { Headers, LogRecord, PartitionOffset, TopicPartition } from '../log-port.ts'
import type { KafkaClient } from './kafka-client.ts'
import { ABORT_MARKER, BATCH_HEADER, COMPRESSION_MASK, fetchRaw, IS_CONTROL, IS_TRANSACTIONAL, READ_COMMITTED, type RawResponse, walkCommittedBatches } from './fetch-response.ts'


export interface FetchedPartition extends TopicPartition {
  readonly records: LogRecord[]
  /** Offset to fetch next: past the last batch of the response, control batches included. */
  readonly nextOffset: bigint
  readonly lastStableOffset: bigint
  readonly highWatermark: bigint
  /** Keys' and values' bytes of `records` plus a fixed overhead per record: what holding them
   *  costs, for a consumer bounding what it buffers. */
  readonly bytes: number
  /** Protocol error id of this partition, if any (its records are then empty). */
  readonly errorId: string | null
}

export interface FetchOptions {
  readonly maxWaitMs: number
  readonly maxBytes?: number
  readonly partitionMaxBytes?: number
}

export function partitionKey (tp: TopicPartition): string {
  return `${tp.topic}\u0000${tp.partition}`
}

/** Positions by the broker leading their partition (-1: no leader known). */
export async function positionsByLeader (client: KafkaClient, positions: PartitionOffset[]): Promise<Map<number, PartitionOffset[]>> {
  const metadata = await client.metadata([...new Set(positions.map(p => p.topic))])
  const byLeader = new Map<number, PartitionOffset[]>()
  for (const position of positions) {
    const leader = metadata.topics.get(position.topic)?.partitions[position.partition]?.leader ?? -1
    let list = byLeader.get(leader)
    if (list === undefined) byLeader.set(leader, list = [])
    list.push(position)
  }
  return byLeader
}

/** A fetch request's topics: one entry per topic, each position's partition at its offset. */
export function fetchRequestTopics (positions: PartitionOffset[], options: FetchOptions): Array<{ topicId: string, partitions: Array<{ partition: number, currentLeaderEpoch: number, fetchOffset: bigint, lastFetchedEpoch: number, partitionMaxBytes: number }> }> {
  const topics = new Map<string, { topicId: string, partitions: Array<{ partition: number, currentLeaderEpoch: number, fetchOffset: bigint, lastFetchedEpoch: number, partitionMaxBytes: number }> }>()
  for (const p of positions) {
    let topic = topics.get(p.topic)
    if (topic === undefined) topics.set(p.topic, topic = { topicId: p.topic, partitions: [] })
    topic.partitions.push({ partition: p.partition, currentLeaderEpoch: -1, fetchOffset: p.offset, lastFetchedEpoch: -1, partitionMaxBytes: options.partitionMaxBytes ?? 1024 * 1024 })
  }
  return [...topics.values()]
}

/** Fetches every position (grouped by partition leader, requests in parallel). */
export async function fetchCommitted (client: KafkaClient, pool: ConnectionPool, positions: PartitionOffset[], options: FetchOptions): Promise<FetchedPartition[]> {
  if (positions.length === 0) return []
  const byLeader = await positionsByLeader(client, positions)
  const results = await Promise.all([...byLeader].map(async ([leader, list]) => {
    if (leader < 0) {
      return list.map(p => emptyResult(p, 'LEADER_NOT_AVAILABLE'))
    }
    return await fetchFromLeader(client, pool, leader, list, options)
  }))
  return results.flat()
}

function emptyResult (position: PartitionOffset, errorId: string | null): FetchedPartition {
  return { topic: position.topic, partition: position.partition, records: [], nextOffset: position.offset, lastStableOffset: -1n, highWatermark: -1n, bytes: 0, errorId }
}


async function fetchFromLeader (client: KafkaClient, pool: ConnectionPool, leader: number, positions: PartitionOffset[], options: FetchOptions): Promise<FetchedPartition[]> {
  const connection = await client.connectionToNode(pool, leader)
  let response: RawResponse
  try {
    // Fetch v12 names topics (v13+ needs topic ids); session id 0 and epoch -1: a full,
    // sessionless fetch every time (positions change on every poll anyway).
    response = await fetchRaw.async(connection, options.maxWaitMs, 1, options.maxBytes ?? 16 * 1024 * 1024, READ_COMMITTED, 0, -1, fetchRequestTopics(positions, options), [], '')
  } catch (error) {
    // Partition-level errors arrive as a ResponseError carrying the parsed response.
    const partial = (error as { response?: RawResponse }).response
    if (partial?.responses === undefined) throw error
    response = partial
  }
  const wanted = new Map(positions.map(p => [partitionKey(p), p]))
  const out: FetchedPartition[] = []
  for (const topic of response.responses) {
    for (const partition of topic.partitions) {
      const position = wanted.get(partitionKey({ topic: topic.topicId, partition: partition.partitionIndex }))
      if (position === undefined) continue
      wanted.delete(partitionKey(position))
      if (partition.errorCode !== 0) {
        out.push(emptyResult(position, protocolErrorsCodesById[partition.errorCode] ?? `ERROR_${partition.errorCode}`))
        continue
      }
      const { records, nextOffset, bytes } = decodeCommittedBuffer(position, partition.records, partition.abortedTransactions)
      out.push({ topic: position.topic, partition: position.partition, records, nextOffset, lastStableOffset: partition.lastStableOffset, highWatermark: partition.highWatermark, bytes, errorId: null })
    }
  }
  for (const missing of wanted.values()) out.push(emptyResult(missing, null))
  return out
}

/** What a decoded record is counted for besides its key and value (the record object, its
 *  offset and headers), in `bytes`. */
export const RECORD_OVERHEAD_BYTES = 64

export function decodeCommitted (position: PartitionOffset, batches: RecordsBatch[], abortedTransactions: Array<{ producerId: bigint, firstOffset: bigint }>): { records: LogRecord[], nextOffset: bigint, bytes: number } {
  const aborted = [...abortedTransactions].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0))
  const abortedProducers = new Set<bigint>()
  const records: LogRecord[] = []
  let nextOffset = position.offset
  let abortedIndex = 0
  let bytes = 0
  for (const batch of batches) {
    const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta)
    if (lastOffset < position.offset) continue
    const control = (batch.attributes & IS_CONTROL) !== 0
    if ((batch.attributes & IS_TRANSACTIONAL) !== 0) {
      while (abortedIndex < aborted.length && aborted[abortedIndex]!.firstOffset <= lastOffset) {
        abortedProducers.add(aborted[abortedIndex]!.producerId)
        abortedIndex++
      }
      if (control) {
        const marker = batch.records[0]?.key
        if (marker !== undefined && marker !== null && marker.length >= 4 && marker.readInt16BE(2) === ABORT_MARKER) abortedProducers.delete(batch.producerId)
        nextOffset = lastOffset + 1n
        continue
      }
      if (abortedProducers.has(batch.producerId)) {
        nextOffset = lastOffset + 1n
        continue
      }
    } else if (control) {
      nextOffset = lastOffset + 1n
      continue
    }
    // Per record only what differs: the batch's base offset and timestamp are converted once
    // (milliseconds are exact as Numbers), the position compared only in the batch that spans it.
    const firstTimestamp = Number(batch.firstTimestamp)
    const spansPosition = batch.firstOffset < position.offset
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta)
      if (spansPosition && offset < position.offset) continue
      bytes += RECORD_OVERHEAD_BYTES + (record.key?.length ?? 0) + (record.value?.length ?? 0)
      records.push({
        topic: position.topic,
        partition: position.partition,
        offset,
        timestamp: firstTimestamp + Number(record.timestampDelta),
        key: record.key,
        value: record.value,
        headers: record.headers.length === 0 ? {} : toHeaders(record.headers)
      })
    }
    nextOffset = lastOffset + 1n
  }
  return { records, nextOffset, bytes }
}

/** decodeCommitted over a partition's record batches as the broker sent them (magic v2, one
 *  Buffer): the same records, offsets, timestamps, headers, next offset and bytes, read in one pass
 *  without the client's per-record objects. Keys, values and header values are views of `buf`.
 *  A batch cut short at the end of the buffer (the broker's size limit) is left for the next
 *  fetch, as the client's readRecordsBatches leaves it. Compressed batches go through the client's
 *  decoder (it decompresses them). */
export function decodeCommittedBuffer (position: PartitionOffset, buf: Buffer | null, abortedTransactions: ReadonlyArray<{ producerId: bigint, firstOffset: bigint }>): { records: LogRecord[], nextOffset: bigint, bytes: number } {
  const records: LogRecord[] = []
  let bytes = 0
  if (buf === null) return { records, nextOffset: position.offset, bytes }
  const nextOffset = walkCommittedBatches(position.offset, buf, abortedTransactions, (start, end, skipBelow, attributes) => {
    if ((attributes & COMPRESSION_MASK) !== 0) {
      // Compressed: the client decompresses and decodes it; then as decodeCommitted does.
      const decoded = decodeCommitted(position, [readRecordsBatch(Reader.from(buf.subarray(start, end)))], [])
      for (const record of decoded.records) records.push(record)
      bytes += decoded.bytes
    } else {
      // Per record only what differs: the batch's base offset and timestamp are read once
      // (milliseconds are exact as Numbers), the position compared only in the batch spanning it.
      bytes += decodeRecords(position, buf, start + BATCH_HEADER, end, buf.readInt32BE(start + 57), buf.readBigInt64BE(start), Number(buf.readBigInt64BE(start + 27)), skipBelow, records)
    }
  })
  return { records, nextOffset, bytes }
}

/** Uncompressed v2 records (length, attributes, timestamp delta, offset delta, key, value,
 *  headers; varints zigzag-encoded) into LogRecords; returns their `bytes`. */
function decodeRecords (tp: TopicPartition, buf: Buffer, start: number, end: number, count: number, firstOffset: bigint, firstTimestamp: number, skipBelow: number, out: LogRecord[]): number {
  const { topic, partition } = tp
  let bytes = 0
  let p = start
  for (let n = 0; n < count && p < end; n++) {
    // Inline 32-bit varint reads (this loop runs once per fetched record).
    let v = 0
    let shift = 0
    let b: number
    do { b = buf[p++]!; v |= (b & 0x7f) << shift; shift += 7 } while ((b & 0x80) !== 0)
    const recordEnd = p + ((v >>> 1) ^ -(v & 1))
    p++ // attributes
    // Timestamp delta: a varlong; past 28 bits, read it with Numbers (exact up to 2^53).
    let t = 0
    let scale = 1
    do { b = buf[p++]!; t += (b & 0x7f) * scale; scale *= 128 } while ((b & 0x80) !== 0)
    const timestampDelta = t % 2 === 0 ? t / 2 : -(t + 1) / 2
    v = 0; shift = 0
    do { b = buf[p++]!; v |= (b & 0x7f) << shift; shift += 7 } while ((b & 0x80) !== 0)
    const offsetDelta = (v >>> 1) ^ -(v & 1)
    v = 0; shift = 0
    do { b = buf[p++]!; v |= (b & 0x7f) << shift; shift += 7 } while ((b & 0x80) !== 0)
    const keyLength = (v >>> 1) ^ -(v & 1)
    const key = keyLength < 0 ? null : buf.subarray(p, p + keyLength)
    if (keyLength > 0) p += keyLength
    v = 0; shift = 0
    do { b = buf[p++]!; v |= (b & 0x7f) << shift; shift += 7 } while ((b & 0x80) !== 0)
    const valueLength = (v >>> 1) ^ -(v & 1)
    const value = valueLength < 0 ? null : buf.subarray(p, p + valueLength)
    if (valueLength > 0) p += valueLength
    v = 0; shift = 0
    do { b = buf[p++]!; v |= (b & 0x7f) << shift; shift += 7 } while ((b & 0x80) !== 0)
    const headerCount = (v >>> 1) ^ -(v & 1)
    let headers: Headers = {}
    if (headerCount > 0) headers = readHeaders(buf, p, headerCount)
    p = recordEnd
    if (offsetDelta < skipBelow) continue
    bytes += RECORD_OVERHEAD_BYTES + (key?.length ?? 0) + (value?.length ?? 0)
    out.push({ topic, partition, offset: firstOffset + BigInt(offsetDelta), timestamp: firstTimestamp + timestampDelta, key, value, headers })
  }
  return bytes
}

/** A record's headers as toHeaders() makes them from the client's [key, value] pairs. */
function readHeaders (buf: Buffer, from: number, count: number): Headers {
  const headers: Headers = {}
  let p = from
  for (let h = 0; h < count; h++) {
    let v = 0
    let shift = 0
    let b: number
    do { b = buf[p++]!; v |= (b & 0x7f) << shift; shift += 7 } while ((b & 0x80) !== 0)
    const keyLength = (v >>> 1) ^ -(v & 1)
    const key = keyLength < 0 ? null : buf.toString('utf8', p, p + keyLength)
    if (keyLength > 0) p += keyLength
    v = 0; shift = 0
    do { b = buf[p++]!; v |= (b & 0x7f) << shift; shift += 7 } while ((b & 0x80) !== 0)
    const valueLength = (v >>> 1) ^ -(v & 1)
    const value = valueLength < 0 ? Buffer.alloc(0) : buf.subarray(p, p + valueLength)
    if (valueLength > 0) p += valueLength
    if (key !== null) headers[key] = value
  }
  return headers
}

function toHeaders (raw: Array<[Buffer | null, Buffer | null]>): Headers {
  const headers: Headers = {}
  for (const [key, value] of raw) {
    if (key === null) continue
    headers[key.toString('utf8')] = value ?? Buffer.alloc(0)
  }
  return headers
}
