// Key layout of the embedded log in RocksDB. Every key starts with a one-byte kind; numbers are
// fixed-width big-endian so that keys sort in numeric order (records of a partition are one
// contiguous, offset-ordered range).
//
//   'T' topic-name (utf8)                       -> topic metadata (JSON: id, partitions, config)
//   'N'                                         -> next topic id (u32)
//   'E' topic-id u32, partition u32             -> end offset (u64): offset of the next record
//   'R' topic-id u32, partition u32, offset u64 -> one record (record-codec.ts)
//   'G' JSON [groupId, topic, partition]        -> committed offset (u64)
//
// Records are keyed by a topic id, not the name: deleting a topic drops its metadata in one
// atomic write, and a topic created again under the same name gets a new id, so records of the
// old one can never show through while they are being range-deleted.

const KIND_TOPIC = 0x54 // 'T'
const KIND_NEXT_TOPIC_ID = 0x4e // 'N'
const KIND_END_OFFSET = 0x45 // 'E'
const KIND_RECORD = 0x52 // 'R'
const KIND_GROUP_OFFSET = 0x47 // 'G'

export function topicKey (name: string): Buffer {
  return Buffer.concat([Buffer.of(KIND_TOPIC), Buffer.from(name, 'utf8')])
}

export function topicNameOfKey (key: Buffer): string {
  return key.subarray(1).toString('utf8')
}

export const TOPIC_RANGE = { gte: Buffer.of(KIND_TOPIC), lt: Buffer.of(KIND_TOPIC + 1) }

export const NEXT_TOPIC_ID_KEY = Buffer.of(KIND_NEXT_TOPIC_ID)

export function endOffsetKey (topicId: number, partition: number): Buffer {
  const key = Buffer.allocUnsafe(9)
  key[0] = KIND_END_OFFSET
  key.writeUInt32BE(topicId, 1)
  key.writeUInt32BE(partition, 5)
  return key
}

export function recordKey (topicId: number, partition: number, offset: bigint): Buffer {
  const key = Buffer.allocUnsafe(17)
  key[0] = KIND_RECORD
  key.writeUInt32BE(topicId, 1)
  key.writeUInt32BE(partition, 5)
  key.writeBigUInt64BE(offset, 9)
  return key
}

export function offsetOfRecordKey (key: Buffer): bigint {
  return key.readBigUInt64BE(9)
}

/** All records of one topic (every partition). */
export function topicRecordsRange (topicId: number): { gte: Buffer, lt: Buffer } {
  const gte = Buffer.alloc(5)
  gte[0] = KIND_RECORD
  gte.writeUInt32BE(topicId, 1)
  const lt = Buffer.alloc(5)
  lt[0] = KIND_RECORD
  lt.writeUInt32BE(topicId + 1, 1)
  return { gte, lt }
}

/** End-offset keys of one topic (every partition). */
export function topicEndOffsetsRange (topicId: number): { gte: Buffer, lt: Buffer } {
  const gte = Buffer.alloc(5)
  gte[0] = KIND_END_OFFSET
  gte.writeUInt32BE(topicId, 1)
  const lt = Buffer.alloc(5)
  lt[0] = KIND_END_OFFSET
  lt.writeUInt32BE(topicId + 1, 1)
  return { gte, lt }
}

export function groupOffsetKey (groupId: string, topic: string, partition: number): Buffer {
  return Buffer.concat([Buffer.of(KIND_GROUP_OFFSET), Buffer.from(JSON.stringify([groupId, topic, partition]), 'utf8')])
}

export function parseGroupOffsetKey (key: Buffer): { groupId: string, topic: string, partition: number } {
  const [groupId, topic, partition] = JSON.parse(key.subarray(1).toString('utf8')) as [string, string, number]
  return { groupId, topic, partition }
}

export const GROUP_OFFSET_RANGE = { gte: Buffer.of(KIND_GROUP_OFFSET), lt: Buffer.of(KIND_GROUP_OFFSET + 1) }

export function encodeU64 (value: bigint): Buffer {
  const buffer = Buffer.allocUnsafe(8)
  buffer.writeBigUInt64BE(value)
  return buffer
}

export function decodeU64 (buffer: Buffer): bigint {
  return buffer.readBigUInt64BE(0)
}

export function encodeU32 (value: number): Buffer {
  const buffer = Buffer.allocUnsafe(4)
  buffer.writeUInt32BE(value)
  return buffer
}
