// Replay from the archive: republishes archived input records (reward-events, redeem-events)
// into the input topics, for when topic retention has dropped them or the topics are new.
//
// - Order: archive insertion order (id), which keeps each source partition's offset order, so
//   each member's records (one partition per topic, by key) are republished in their original
//   order; the records keep their key, value bytes, headers and timestamp.
// - No duplicates: the target topics are read first and each archived record whose exact content
//   (topic kind, key, value) is already there is skipped, as many times as it is there (a multiset,
//   so records legitimately sent twice are replayed twice). Re-running a replay publishes nothing.
// - Bounded memory: the archive is read in pages; only a 32-byte digest per record already in the
//   target topics is held.
import { createHash } from 'node:crypto'
import type { Queryable } from '../../lib/db/database.ts'
import type { Log, LogProducer, PartitionOffset, ProducerRecord, TopicPartition } from '../../topology/index.ts'

export interface ReplayTopics {
  readonly rewardEvents: string
  readonly redeemEvents: string
}

export interface ReplayOptions {
  readonly db: Queryable
  readonly log: Log
  /** Topics the archived records came from. */
  readonly source: ReplayTopics
  /** Topics to publish to. */
  readonly target: ReplayTopics
  readonly pageSize?: number
  readonly dryRun?: boolean
  readonly onProgress?: (phase: 'scan' | 'publish', done: number, total: number) => void
}

export interface ReplayOutcome {
  readonly archived: number
  readonly alreadyPresent: number
  readonly published: number
}

function digest (kind: 'R' | 'D', key: Uint8Array | null, value: Uint8Array | null): string {
  const h = createHash('sha256')
  h.update(kind)
  for (const part of [key, value]) {
    if (part === null) h.update('\u0000N')
    else {
      h.update(`\u0000${part.length}:`)
      h.update(part)
    }
  }
  return h.digest('base64')
}

async function partitions (log: Log, topics: string[]): Promise<TopicPartition[]> {
  return (await log.admin.describeTopics(topics)).flatMap(d => Array.from({ length: d.partitions }, (_, partition) => ({ topic: d.name, partition })))
}

/** Multiset of the records in the target input topics, by content digest. */
async function existingContent (log: Log, target: ReplayTopics, onProgress?: ReplayOptions['onProgress']): Promise<Map<string, number>> {
  const tps = await partitions(log, [target.rewardEvents, target.redeemEvents])
  const content = new Map<string, number>()
  if (tps.length === 0) return content
  const [earliest, latest] = await Promise.all([log.admin.listOffsets(tps, 'earliest'), log.admin.listOffsets(tps, 'latest')])
  const key = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`
  const ends = new Map(latest.map(o => [key(o), o.offset]))
  const pending: PartitionOffset[] = earliest.filter(o => o.offset < (ends.get(key(o)) ?? 0n))
  const total = latest.reduce((n, o) => n + Number(o.offset), 0) - earliest.reduce((n, o) => n + Number(o.offset), 0)
  if (pending.length === 0) return content
  const reader = log.createPartitionReader({ clientId: 'rewards-replay-scan' })
  // Progress counts offsets, not records: transaction markers and compacted records take offsets
  // too, and counting records left the bar short of 100 % at the end of the scan.
  const scanned = new Map(pending.map(o => [key(o), 0]))
  try {
    reader.assign(pending)
    const open = new Set(pending.map(key))
    const starts = new Map(earliest.map(o => [key(o), o.offset]))
    while (open.size > 0) {
      for (const record of await reader.poll(500)) {
        const d = digest(record.topic === target.rewardEvents ? 'R' : 'D', record.key, record.value)
        content.set(d, (content.get(d) ?? 0) + 1)
      }
      for (const k of [...open]) {
        const [topic, partition] = k.split('\u0000') as [string, string]
        const tp = { topic, partition: Number(partition) }
        const position = reader.position(tp)
        const end = ends.get(k)!
        scanned.set(k, Number((position < end ? position : end) - starts.get(k)!))
        if (position >= end) {
          open.delete(k)
          reader.unassign([tp])
        }
      }
      onProgress?.('scan', [...scanned.values()].reduce((a, b) => a + b, 0), total)
    }
  } finally {
    await reader.close()
  }
  return content
}

export async function replayFromArchive (options: ReplayOptions): Promise<ReplayOutcome> {
  const { db, log, source, target } = options
  const pageSize = options.pageSize ?? 2000
  const present = await existingContent(log, target, options.onProgress)
  const count = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM archive_records WHERE topic = $1 OR topic = $2', [source.rewardEvents, source.redeemEvents])
  const archived = Number(count.rows[0]?.n ?? 0)
  let producer: LogProducer | undefined
  let lastId = '0'
  let done = 0
  let skipped = 0
  let published = 0
  try {
    if (options.dryRun !== true) producer = await log.createProducer({ clientId: 'rewards-replay' })
    for (;;) {
      const page = await db.query<{ id: string, topic: string, key: Uint8Array | null, value: Uint8Array | null, headers: Record<string, string>, ts: Date | string }>(
        `SELECT id::text AS id, topic, "key", "value", headers, record_timestamp AS ts FROM archive_records
         WHERE (topic = $1 OR topic = $2) AND archive_records.id > $3::bigint ORDER BY archive_records.id LIMIT ${Math.floor(pageSize)}`, [source.rewardEvents, source.redeemEvents, lastId])
      if (page.rows.length === 0) break
      const batch: ProducerRecord[] = []
      for (const row of page.rows) {
        const reward = row.topic === source.rewardEvents
        const key = row.key === null ? null : Buffer.from(row.key)
        const value = row.value === null ? null : Buffer.from(row.value)
        const d = digest(reward ? 'R' : 'D', key, value)
        const there = present.get(d) ?? 0
        if (there > 0) {
          if (there === 1) present.delete(d)
          else present.set(d, there - 1)
          skipped++
          continue
        }
        const headers: Record<string, Buffer> = {}
        for (const [name, text] of Object.entries(row.headers ?? {})) headers[name] = Buffer.from(text, 'utf8')
        batch.push({ topic: reward ? target.rewardEvents : target.redeemEvents, key, value, headers, timestamp: new Date(row.ts).getTime() })
      }
      if (batch.length > 0 && producer !== undefined) await producer.send(batch)
      published += batch.length
      done += page.rows.length
      lastId = page.rows[page.rows.length - 1]!.id
      options.onProgress?.('publish', done, archived)
    }
  } finally {
    await producer?.close()
  }
  return { archived, alreadyPresent: skipped, published }
}
