// Archive throughput on the local PostgreSQL: rows/s into archive_records.
//
// - writer: writeArchiveRows() (one INSERT … SELECT FROM unnest(arrays) … ON CONFLICT DO NOTHING
//   per batch) for --rows rows of realistic reward events, batch size --batch;
// - archiver: the full path on Kafka: --rows records pre-produced to the six platform topics
//   (fresh, 6 partitions each), startArchiver() from the group join to archive lag 0 (offsets
//   committed after each durable batch);
// - baseline: one INSERT per row (autocommit), the naive sink, on --baseline-rows rows; the ratio
//   is writer rows/s over baseline rows/s.
// Each run uses a fresh database, dropped afterwards.
//
//   node_modules/.bin/node bench/archive-throughput.ts [--rows 200000] [--batch 1000] [--baseline-rows 5000] [--skip-kafka]
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { Registry } from 'prom-client'
import { openDatabase, type Database } from '../lib/db/database.ts'
import { migrate } from '../lib/db/migrate.ts'
import { ensurePlatformTopics, platformTopics } from '../lib/platform-topics.ts'
import { createKafkaLog } from '../log/kafka/index.ts'
import { toArchiveRow, writeArchiveRows, startArchiver } from '../processors/archive/index.ts'

const args = process.argv.slice(2)
const arg = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const ROWS = arg('rows', 200_000)
const BATCH = arg('batch', 1000)
const BASELINE_ROWS = arg('baseline-rows', 5000)
const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test'

async function freshDatabase (): Promise<{ db: Database, drop: () => Promise<void> }> {
  const name = `archive_bench_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  const db = await openDatabase({ databaseUrl: url.toString(), dataDir: '.', maxConnections: 2 })
  await migrate(db)
  return {
    db,
    drop: async () => {
      await db.close()
      const c = new pg.Client({ connectionString: ADMIN_URL })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    }
  }
}

function eventValue (i: number): Buffer {
  return Buffer.from(JSON.stringify({ eventId: `evt-${i}-${randomBytes(4).toString('hex')}`, memberId: `M${String(i % 10_000).padStart(7, '0')}`, source: 'HOTEL', type: 'EARN', amountCents: 12_345 + i % 1000, currency: 'USD', occurredAt: new Date(1_770_000_000_000 + i * 1000).toISOString(), propertyId: 'LV-STRIP-01' }))
}

function rowsFor (n: number, topic: string) {
  return Array.from({ length: n }, (_, i) => toArchiveRow({ topic, partition: i % 12, offset: BigInt(Math.floor(i / 12)), timestamp: Date.now(), key: Buffer.from(`M${String(i % 10_000).padStart(7, '0')}`), value: eventValue(i), headers: { traceparent: Buffer.from('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01') } }, 'reward-event'))
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')

async function benchWriter (): Promise<number> {
  const { db, drop } = await freshDatabase()
  try {
    const rows = rowsFor(ROWS, 'reward-events')
    const start = performance.now()
    for (let i = 0; i < rows.length; i += BATCH) await writeArchiveRows(db, rows.slice(i, i + BATCH))
    const seconds = (performance.now() - start) / 1000
    const count = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM archive_records')
    if (count.rows[0]!.n !== ROWS) throw new Error(`expected ${ROWS} rows, found ${count.rows[0]!.n}`)
    return ROWS / seconds
  } finally {
    await drop()
  }
}

async function benchBaseline (): Promise<number> {
  const { db, drop } = await freshDatabase()
  try {
    const rows = rowsFor(BASELINE_ROWS, 'reward-events')
    const start = performance.now()
    for (const r of rows) {
      await db.query(`INSERT INTO archive_records (topic, "partition", "offset", record_timestamp, "key", "value", value_json, headers, kind, member_id, event_id, event_type, source, property_id, amount_cents, event_time)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT DO NOTHING`,
      [r.topic, r.partition, String(r.offset), new Date(r.timestamp), r.key, r.value, r.valueJson, JSON.stringify(r.headers), r.kind, r.memberId, r.eventId, r.eventType, r.source, r.propertyId, r.amountCents, new Date(r.eventTimeMs!)])
    }
    return BASELINE_ROWS / ((performance.now() - start) / 1000)
  } finally {
    await drop()
  }
}

async function benchArchiver (): Promise<number> {
  const { db, drop } = await freshDatabase()
  const log = createKafkaLog({ brokers: ['127.0.0.1:9092'], clientId: 'archive-bench' })
  const prefix = `archbench-${randomBytes(3).toString('hex')}.`
  const topics = platformTopics({ topicPrefix: prefix })
  try {
    await ensurePlatformTopics(log, { topicPrefix: prefix, partitions: 6 })
    const producer = await log.createProducer({ clientId: 'archive-bench-producer' })
    const all = Object.values(topics)
    for (let i = 0; i < ROWS; i += 5000) {
      await producer.send(Array.from({ length: Math.min(5000, ROWS - i) }, (_, j) => ({ topic: all[(i + j) % all.length]!, key: Buffer.from(`M${String((i + j) % 10_000).padStart(7, '0')}`), value: eventValue(i + j) })))
    }
    await producer.close()
    const start = performance.now()
    const archiver = startArchiver({ log, db, topics, groupId: `${prefix}archiver`, registry: new Registry(), batchSize: BATCH, lagIntervalMs: 100_000 })
    await archiver.ready
    const joinedMs = performance.now() - start
    for (;;) {
      const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM archive_records')
      if (r.rows[0]!.n >= ROWS) break
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    const seconds = (performance.now() - start) / 1000
    await archiver.close()
    console.log(`archiver: group join ${fmt(joinedMs)} ms (included)`)
    return ROWS / seconds
  } finally {
    await log.admin.deleteTopics(Object.values(topics)).catch(() => undefined)
    await log.close()
    await drop()
  }
}

const baseline = await benchBaseline()
const writer = await benchWriter()
const archiver = args.includes('--skip-kafka') ? undefined : await benchArchiver()
console.log(`archive throughput on local PostgreSQL (${ROWS} rows, batch ${BATCH}):`)
console.log(`  baseline, one INSERT per row (${BASELINE_ROWS} rows): ${fmt(baseline)} rows/s`)
console.log(`  writer, unnest batch insert:                 ${fmt(writer)} rows/s  (${(writer / baseline).toFixed(1)}× baseline)`)
if (archiver !== undefined) console.log(`  archiver, Kafka -> PostgreSQL, to lag 0:     ${fmt(archiver)} rows/s  (${(archiver / baseline).toFixed(1)}× baseline)`)
