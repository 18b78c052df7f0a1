// The durable part of the embedded log: topics, records, end offsets and committed group offsets
// in one RocksDB database, with an in-memory copy of the small metadata (topics, end offsets,
// committed offsets) loaded at open.
//
// Every change is ONE RocksDB write batch written with sync: true (the WAL is fsync'd before the
// call returns), so a transaction's records, the new end offsets of its partitions and its
// consumer-offset commit become durable together or not at all, and a kill -9 at any moment
// leaves either the whole batch or none of it. The in-memory end offsets move only after the
// write returned, and readers never read past them: nothing partial is ever visible
// (read_committed for free).
import { StreamsError } from '../../topology/streams-error.ts'
import type { LogRecord, PartitionOffset, ProducerRecord, TopicPartition, TopicSpec } from '../log-port.ts'
import { partitionForKey } from '../murmur2-partitioner.ts'
import { decodeRecord, encodeRecord } from './record-codec.ts'
import { readRange, type RocksDatabase } from './rocks-database.ts'
import {
  GROUP_OFFSET_RANGE, NEXT_TOPIC_ID_KEY, TOPIC_RANGE, decodeU64, encodeU32, encodeU64, endOffsetKey, groupOffsetKey,
  offsetOfRecordKey, parseGroupOffsetKey, recordKey, topicEndOffsetsRange, topicKey, topicNameOfKey, topicRecordsRange
} from './storage-keys.ts'

export interface TopicState {
  readonly name: string
  readonly id: number
  readonly partitions: number
  readonly config: Record<string, string>
  /** End offset (next offset to assign) per partition: the last stable offset. */
  readonly endOffsets: bigint[]
}

interface TopicMetadata {
  readonly id: number
  readonly partitions: number
  readonly config: Record<string, string>
}

export interface AppendedRecords {
  readonly topics: ReadonlySet<string>
  readonly partitions: ReadonlyArray<{ readonly topic: TopicState, readonly partition: number, readonly count: number }>
}

export interface GroupOffsetsCommit {
  readonly groupId: string
  readonly offsets: readonly PartitionOffset[]
}

function partitionKey (topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}

export class LogStorage {
  readonly #db: RocksDatabase
  readonly #topics = new Map<string, TopicState>()
  readonly #committed = new Map<string, Map<string, PartitionOffset>>()
  /** Round-robin partition for records with neither a key nor a partition, per topic. */
  readonly #roundRobin = new Map<string, number>()
  #nextTopicId = 0
  #onAppend: (appended: AppendedRecords) => void = () => {}

  private constructor (db: RocksDatabase) {
    this.#db = db
  }

  static async load (db: RocksDatabase): Promise<LogStorage> {
    const storage = new LogStorage(db)
    await storage.#loadMetadata()
    return storage
  }

  /** Called (synchronously, after the write) with what was appended. */
  set onAppend (listener: (appended: AppendedRecords) => void) {
    this.#onAppend = listener
  }

  async #loadMetadata (): Promise<void> {
    const db = this.#db
    const [next] = await readRange(db, { gte: NEXT_TOPIC_ID_KEY, lte: NEXT_TOPIC_ID_KEY })
    this.#nextTopicId = next === undefined ? 0 : next[1].readUInt32BE(0)
    const liveIds = new Set<number>()
    for (const [key, value] of await readRange(db, TOPIC_RANGE)) {
      const meta = JSON.parse(value.toString('utf8')) as TopicMetadata
      const endOffsets: bigint[] = []
      const ends = await readRange(db, topicEndOffsetsRange(meta.id))
      for (let p = 0; p < meta.partitions; p++) endOffsets.push(0n)
      for (const [endKey, endValue] of ends) endOffsets[endKey.readUInt32BE(5)] = decodeU64(endValue)
      const name = topicNameOfKey(key)
      this.#topics.set(name, { name, id: meta.id, partitions: meta.partitions, config: meta.config, endOffsets })
      liveIds.add(meta.id)
    }
    for (const [key, value] of await readRange(db, GROUP_OFFSET_RANGE)) {
      const { groupId, topic, partition } = parseGroupOffsetKey(key)
      this.#groupOffsets(groupId).set(partitionKey(topic, partition), { topic, partition, offset: decodeU64(value) })
    }
    // Records of deleted topics whose range delete did not finish before a crash.
    for (let id = 0; id < this.#nextTopicId; id++) {
      if (!liveIds.has(id)) await db.clear(topicRecordsRange(id))
    }
  }

  #groupOffsets (groupId: string): Map<string, PartitionOffset> {
    let offsets = this.#committed.get(groupId)
    if (offsets === undefined) {
      offsets = new Map()
      this.#committed.set(groupId, offsets)
    }
    return offsets
  }

  #write (fill: (batch: { put (key: Buffer, value: Buffer): void, del (key: Buffer): void }) => void): void {
    const batch = this.#db.batch()
    try {
      fill(batch)
      if (batch.length > 0) batch._writeSync({ sync: true })
    } finally {
      batch.close().catch(() => {})
    }
  }

  topic (name: string): TopicState | undefined {
    return this.#topics.get(name)
  }

  topicNames (): string[] {
    return [...this.#topics.keys()].sort()
  }

  /** Creates the missing topics in one atomic write; returns the names created. */
  createTopics (specs: readonly TopicSpec[]): string[] {
    const created: Array<{ name: string, meta: TopicMetadata }> = []
    let nextId = this.#nextTopicId
    for (const spec of specs) {
      if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
        throw new StreamsError('CONFIG_INVALID', `Topic ${spec.name}: partitions must be a positive integer, got ${spec.partitions}`)
      }
      if (spec.name.length === 0) throw new StreamsError('CONFIG_INVALID', 'Topic name must not be empty')
      if (this.#topics.has(spec.name) || created.some(c => c.name === spec.name)) continue
      created.push({ name: spec.name, meta: { id: nextId++, partitions: spec.partitions, config: { ...spec.config } } })
    }
    if (created.length === 0) return []
    this.#write(batch => {
      for (const { name, meta } of created) batch.put(topicKey(name), Buffer.from(JSON.stringify(meta), 'utf8'))
      batch.put(NEXT_TOPIC_ID_KEY, encodeU32(nextId))
    })
    this.#nextTopicId = nextId
    for (const { name, meta } of created) {
      this.#topics.set(name, { name, id: meta.id, partitions: meta.partitions, config: meta.config, endOffsets: new Array<bigint>(meta.partitions).fill(0n) })
    }
    return created.map(c => c.name)
  }

  /** Deletes the existing topics (metadata, end offsets and the groups' offsets of them in one
   *  atomic write, then their records with a range delete); returns the names deleted. */
  async deleteTopics (names: readonly string[]): Promise<string[]> {
    const doomed = [...new Set(names)].map(name => this.#topics.get(name)).filter(t => t !== undefined)
    if (doomed.length === 0) return []
    const doomedNames = new Set(doomed.map(t => t.name))
    const offsetKeys: Array<{ groupId: string, key: string, offset: PartitionOffset }> = []
    for (const [groupId, offsets] of this.#committed) {
      for (const [key, offset] of offsets) if (doomedNames.has(offset.topic)) offsetKeys.push({ groupId, key, offset })
    }
    this.#write(batch => {
      for (const topic of doomed) {
        batch.del(topicKey(topic.name))
        for (let p = 0; p < topic.partitions; p++) batch.del(endOffsetKey(topic.id, p))
      }
      for (const { groupId, offset } of offsetKeys) batch.del(groupOffsetKey(groupId, offset.topic, offset.partition))
    })
    for (const topic of doomed) this.#topics.delete(topic.name)
    for (const { groupId, key } of offsetKeys) this.#committed.get(groupId)?.delete(key)
    for (const topic of doomed) await this.#db.clear(topicRecordsRange(topic.id))
    return doomed.map(t => t.name)
  }

  #partitionOf (record: ProducerRecord, topic: TopicState): number {
    if (record.partition !== undefined) {
      if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= topic.partitions) {
        throw new StreamsError('LOG_TOPIC_NOT_FOUND', `Partition ${record.partition} does not exist in topic ${topic.name} (${topic.partitions} partitions)`)
      }
      return record.partition
    }
    if (record.key !== null) return partitionForKey(record.key, topic.partitions)
    const next = this.#roundRobin.get(topic.name) ?? 0
    this.#roundRobin.set(topic.name, next + 1)
    return next % topic.partitions
  }

  /** Appends the records and commits the offsets in ONE synchronous, fsync'd write batch; checks
   *  nothing about producers or groups (the caller does, right before, in the same tick). Throws
   *  LOG_TOPIC_NOT_FOUND for a missing topic or partition, before writing anything. */
  append (records: readonly ProducerRecord[], commit?: GroupOffsetsCommit): PartitionOffset[] {
    const now = Date.now()
    const next = new Map<TopicState, bigint[]>()
    const placed: Array<{ topic: TopicState, partition: number, offset: bigint, value: Buffer }> = []
    for (const record of records) {
      const topic = this.#topics.get(record.topic)
      if (topic === undefined) throw new StreamsError('LOG_TOPIC_NOT_FOUND', `Topic ${record.topic} does not exist`, { details: { topic: record.topic } })
      const partition = this.#partitionOf(record, topic)
      let ends = next.get(topic)
      if (ends === undefined) {
        ends = [...topic.endOffsets]
        next.set(topic, ends)
      }
      const offset = ends[partition]!
      ends[partition] = offset + 1n
      const value = encodeRecord({ timestamp: record.timestamp ?? now, key: record.key, value: record.value, headers: record.headers ?? {} })
      placed.push({ topic, partition, offset, value })
    }
    const commits = commit?.offsets ?? []
    for (const offset of commits) {
      if (offset.offset < 0n) throw new StreamsError('CONFIG_INVALID', `Negative offset ${offset.offset} for ${offset.topic}-${offset.partition}`)
    }
    this.#write(batch => {
      for (const { topic, partition, offset, value } of placed) batch.put(recordKey(topic.id, partition, offset), value)
      for (const [topic, ends] of next) {
        for (let p = 0; p < ends.length; p++) {
          if (ends[p] !== topic.endOffsets[p]) batch.put(endOffsetKey(topic.id, p), encodeU64(ends[p]!))
        }
      }
      if (commit !== undefined) {
        for (const offset of commits) batch.put(groupOffsetKey(commit.groupId, offset.topic, offset.partition), encodeU64(offset.offset))
      }
    })
    // Durable: publish.
    const before = new Map([...next.keys()].map(topic => [topic, [...topic.endOffsets]]))
    for (const [topic, ends] of next) {
      for (let p = 0; p < ends.length; p++) topic.endOffsets[p] = ends[p]!
    }
    if (commit !== undefined) {
      const offsets = this.#groupOffsets(commit.groupId)
      for (const o of commits) offsets.set(partitionKey(o.topic, o.partition), { topic: o.topic, partition: o.partition, offset: o.offset })
    }
    if (next.size > 0) {
      const counts: Array<{ topic: TopicState, partition: number, count: number }> = []
      for (const [topic, ends] of next) {
        for (let p = 0; p < ends.length; p++) {
          const count = Number(ends[p]! - (before.get(topic)?.[p] ?? 0n))
          if (count > 0) counts.push({ topic, partition: p, count })
        }
      }
      this.#onAppend({ topics: new Set([...next.keys()].map(t => t.name)), partitions: counts })
    }
    return placed.map(({ topic, partition, offset }) => ({ topic: topic.name, partition, offset }))
  }

  committedOffset (groupId: string, partition: TopicPartition): bigint | undefined {
    return this.#committed.get(groupId)?.get(partitionKey(partition.topic, partition.partition))?.offset
  }

  hasCommittedOffsets (groupId: string): boolean {
    return (this.#committed.get(groupId)?.size ?? 0) > 0
  }

  deleteGroupOffsets (groupId: string): void {
    const offsets = this.#committed.get(groupId)
    if (offsets === undefined) return
    this.#write(batch => {
      for (const o of offsets.values()) batch.del(groupOffsetKey(groupId, o.topic, o.partition))
    })
    this.#committed.delete(groupId)
  }

  /** End offset (last stable offset) of a partition; undefined for a missing topic/partition. */
  endOffset (partition: TopicPartition): bigint | undefined {
    const topic = this.#topics.get(partition.topic)
    if (topic === undefined) return undefined
    return topic.endOffsets[partition.partition]
  }

  /** Up to `max` committed records of a partition from `from` (gaps are skipped). */
  async read (partition: TopicPartition, from: bigint, max: number): Promise<LogRecord[]> {
    const topic = this.#topics.get(partition.topic)
    if (topic === undefined || max <= 0) return []
    const end = topic.endOffsets[partition.partition]
    if (end === undefined || from >= end) return []
    const start = from < 0n ? 0n : from
    const entries = await readRange(this.#db, {
      gte: recordKey(topic.id, partition.partition, start),
      lt: recordKey(topic.id, partition.partition, end),
      limit: max
    }, Math.min(max, 1000))
    return entries.map(([key, value]) => {
      const stored = decodeRecord(value)
      return {
        topic: partition.topic,
        partition: partition.partition,
        offset: offsetOfRecordKey(key),
        timestamp: stored.timestamp,
        key: stored.key,
        value: stored.value,
        headers: stored.headers
      }
    })
  }
}
