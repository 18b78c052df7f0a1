// Read-committed fetches at explicit offsets, shared by the group consumer and the partition
// reader. Aborted transactions are filtered here (the Java consumer's algorithm: the fetch
// response lists aborted producer ids with their first offsets; a batch of such a producer is
// dropped until that producer's ABORT marker), and control batches (commit / abort markers) are
// skipped while still advancing the next offset past them, so a reader can tell it reached the
// last stable offset even when the log ends with a marker.
import { fetchV12, protocolErrorsCodesById } from '@platformatic/kafka'
import type { ConnectionPool, RecordsBatch } from '@platformatic/kafka'
import type { Headers, LogRecord, PartitionOffset, TopicPartition } from '../log-port.ts'
import type { KafkaClient } from './kafka-client.ts'

const READ_COMMITTED = 1
const IS_TRANSACTIONAL = 1 << 4
const IS_CONTROL = 1 << 5
const ABORT_MARKER = 0

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
  let response: fetchV12.FetchResponse
  try {
    // Fetch v12 names topics (v13+ needs topic ids); session id 0 and epoch -1: a full,
    // sessionless fetch every time (positions change on every poll anyway).
    response = await fetchV12.api.async(connection, options.maxWaitMs, 1, options.maxBytes ?? 16 * 1024 * 1024, READ_COMMITTED, 0, -1, fetchRequestTopics(positions, options), [], '')
  } catch (error) {
    // Partition-level errors arrive as a ResponseError carrying the parsed response.
    const partial = (error as { response?: fetchV12.FetchResponse }).response
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
      const { records, nextOffset, bytes } = decodeCommitted(position, partition.records ?? [], partition.abortedTransactions ?? [])
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

function toHeaders (raw: Array<[Buffer | null, Buffer | null]>): Headers {
  const headers: Headers = {}
  for (const [key, value] of raw) {
    if (key === null) continue
    headers[key.toString('utf8')] = value ?? Buffer.alloc(0)
  }
  return headers
}
