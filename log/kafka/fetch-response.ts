// Fetch v12 (read_committed) with each partition's record batches left undecoded, one contiguous
// Buffer per partition, for the two decoders that read batches straight from bytes: the consumer's
// records (kafka-fetcher.ts decodeCommittedBuffer) and a restore's entries (kafka-entry-fetch.ts).
// The client's own decoder reads every record field by field through its chunked buffer, with a
// record object, an array of headers and BigInt varints per record: a quarter of what the engine
// allocated per input record (docs/benchmarks.md "Engine against the raw client, another pass").
// Also the record-batch constants both decoders use (Kafka's v2 batch format).
import { createAPI, fetchV12, readKnownTaggedFields, ResponseError, type Reader } from '@platformatic/kafka'

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

/** Fetch v12's response as @platformatic/kafka's fetch-v12.js parses it, except that each
 *  partition's records stay one Buffer (a view of the socket's chunk, or one copy when they span
 *  chunks). */
function parseRaw (_correlationId: number, apiKey: number, apiVersion: number, reader: Reader): RawResponse {
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
        records = r.buffer.slice(r.position, r.position + size - 1)
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

export const fetchRaw = createAPI<Parameters<typeof fetchV12.createRequest>, RawResponse>(1, 12, fetchV12.createRequest, parseRaw)
