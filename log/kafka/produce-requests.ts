// Produce requests for a list of records: split by size (a commit's records can exceed the
// broker's per-batch and per-request limits by far), sent one request after the other, and each
// record's offset read back from the responses. Partitions named in `isolate` go one record per
// request, so that a refusal names exactly one record (refused-records.ts).
import type { MessageToProduce, ProduceResult } from '@platformatic/kafka'
import type { PartitionOffset, TopicPartition } from '../log-port.ts'
import { refusedRecords, type Refusal } from './refused-records.ts'

export type Message = MessageToProduce<Buffer, Buffer, Buffer, Buffer>

/** Sends `messages` in order, one produce request per size-bounded chunk (a commit's records can
 *  exceed the broker's request and batch limits, message.max.bytes, 1 MiB by default, by far);
 *  the records of `isolate`d partitions go one per request, so that a refusal names exactly one.
 *  On a refusal, `refusal.found` says which records (indexes into `messages`). */
export async function sendAll (messages: Message[], isolate: readonly TopicPartition[], refusal: { found: Refusal | null }, send: (chunk: Message[]) => Promise<ProduceResult>, base = 0): Promise<PartitionOffset[]> {
  if (isolate.length === 0) return await sendChunks(messages, refusal, send, base)
  const isolated = new Set(isolate.map(tp => `${tp.topic}:${tp.partition}`))
  const indexed = messages.map((message, index) => ({ message, index }))
  const calls: Array<Array<{ message: Message, index: number }>> = []
  const grouped = indexed.filter(m => !isolated.has(`${m.message.topic}:${m.message.partition!}`))
  let at = 0
  for (const chunk of chunkBySize(grouped.map(m => m.message))) { calls.push(grouped.slice(at, at + chunk.length)); at += chunk.length }
  for (const m of indexed) if (isolated.has(`${m.message.topic}:${m.message.partition!}`)) calls.push([m])
  const offsets: PartitionOffset[] = new Array<PartitionOffset>(messages.length)
  for (const call of calls) {
    const chunk = call.map(m => m.message)
    let result: ProduceResult
    try {
      result = await send(chunk)
    } catch (error) {
      const found = refusedRecords(error, chunk)
      if (found !== null) refusal.found = { exact: found.exact, refused: found.refused.map(r => ({ ...r, index: call[r.index]!.index + base })) }
      throw error
    }
    offsetsOf(chunk, result).forEach((offset, i) => { offsets[call[i]!.index] = offset })
  }
  return offsets
}

/** sendAll() without isolated partitions (the usual case): no per-record bookkeeping. */
async function sendChunks (messages: Message[], refusal: { found: Refusal | null }, send: (chunk: Message[]) => Promise<ProduceResult>, base: number): Promise<PartitionOffset[]> {
  const offsets: PartitionOffset[] = []
  for (const chunk of chunkBySize(messages)) {
    const from = offsets.length
    let result: ProduceResult
    try {
      result = await send(chunk)
    } catch (error) {
      const found = refusedRecords(error, chunk)
      if (found !== null) refusal.found = { exact: found.exact, refused: found.refused.map(r => ({ ...r, index: r.index + from + base })) }
      throw error
    }
    for (const offset of offsetsOf(chunk, result)) offsets.push(offset)
  }
  return offsets
}

/** Below the broker's default max.message.bytes (1 MiB), with room for batch headers: the bound on
 *  one partition's record batch in a produce request. */
const MAX_CHUNK_BYTES = 768 * 1024
/** The bound on one produce request (the broker accepts up to socket.request.max.bytes, 100 MiB):
 *  a commit's records for many partitions go in one round trip, not one per 768 KiB
 *  (docs/benchmarks.md, "sixth pass"), while encoding one stays short on the event loop. */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024

/** Splits messages, keeping their order, into chunks (produce requests, sent one after the other)
 *  of at most `maxBytes` per partition and `maxRequestBytes` in all (estimated). */
export function chunkBySize (messages: Message[], maxBytes = MAX_CHUNK_BYTES, maxRequestBytes = Math.max(maxBytes, MAX_REQUEST_BYTES)): Message[][] {
  const chunks: Message[][] = []
  let current: Message[] = []
  let bytes = 0
  /** Bytes in the current chunk per topic, by partition (no key string per record). */
  let perPartition = new Map<string, number[]>()
  for (const m of messages) {
    let size = 64 + (m.key?.length ?? 0) + (m.value?.length ?? 0)
    // Most records have no headers (#toMessages leaves them unset): no entries array for those.
    if (m.headers !== undefined) for (const [k, v] of m.headers instanceof Map ? m.headers : Object.entries(m.headers)) size += String(k).length + ((v as Buffer | undefined)?.length ?? 0) + 8
    const partition = m.partition ?? 0
    let sizes = perPartition.get(m.topic)
    if (current.length > 0 && ((sizes?.[partition] ?? 0) + size > maxBytes || bytes + size > maxRequestBytes)) {
      chunks.push(current); current = []; bytes = 0; perPartition = new Map(); sizes = undefined
    }
    if (sizes === undefined) perPartition.set(m.topic, sizes = [])
    sizes[partition] = (sizes[partition] ?? 0) + size
    current.push(m)
    bytes += size
  }
  if (current.length > 0) chunks.push(current)
  return chunks
}

/** Each record's offset: the produce response gives the base offset per partition, and records
 *  of one partition are appended in request order. */
function offsetsOf (messages: Message[], result: ProduceResult): PartitionOffset[] {
  // Per topic, then partition: no key string built per record.
  const next = new Map<string, Map<number, bigint>>()
  for (const o of result.offsets ?? []) {
    let byPartition = next.get(o.topic)
    if (byPartition === undefined) next.set(o.topic, byPartition = new Map())
    byPartition.set(o.partition, o.offset)
  }
  const out = new Array<PartitionOffset>(messages.length)
  // Records come in runs of one partition: its next offset is looked up at a run's start and
  // stored back at its end, not per record.
  let runTopic: string | undefined
  let runPartition = -1
  let runMap: Map<number, bigint> | undefined
  let offset = -1n
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!
    const partition = m.partition!
    if (m.topic !== runTopic || partition !== runPartition) {
      runMap?.set(runPartition, offset)
      let byPartition = next.get(m.topic)
      if (byPartition === undefined) next.set(m.topic, byPartition = new Map())
      runTopic = m.topic
      runPartition = partition
      runMap = byPartition
      offset = byPartition.get(partition) ?? -1n
    }
    out[i] = { topic: m.topic, partition, offset }
    offset = offset + 1n
  }
  return out
}
