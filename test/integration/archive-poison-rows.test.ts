// Real Kafka + PostgreSQL: records PostgreSQL refuses (a NUL in a header name: the headers go to
// a jsonb column, which cannot hold U+0000; on a source topic and on a dead-letter topic) sit between good records. The good rows land, each
// refused record is in archive_dead_letters with its SQLSTATE, the committed offsets pass them,
// the metric and the log count them, and the breaker never opens (docs/archive.md "Rows the
// database refuses"). When archive_dead_letters refuses too, the record goes to the dead-letter
// topic. And an archiver cut off from PostgreSQL while lag grows is reported stuck, then behind.
import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import { Registry } from 'prom-client'
import { createKafkaLog } from '../../log/kafka/index.ts'
import type { Log, LogRecord } from '../../log/log-port.ts'
import { ensurePlatformTopics, platformTopics } from '../../lib/platform-topics.ts'
import type { Database } from '../../lib/db/database.ts'
import { createLogger } from '../../lib/logger.ts'
import { Readiness } from '../../api/health/readiness.ts'
import { startArchiver, type BreakerState } from '../../processors/archive/index.ts'
import { archiverHealth } from '../../processors/archive/archiver-health.ts'
import { brokers, unique } from '../cli/cli-helpers.ts'
import { createTestDatabase, openMigrated, proxiedTestDatabase, rewardEventBytes, waitFor } from '../archive/archive-helpers.ts'

/** A good reward event with a header whose name holds NUL: the archive's headers column (jsonb)
 *  refuses it (22P05). (A lone surrogate or NUL in the value is archived as bytes: archive-row.ts.) */
const poisonHeaders = { 'bad\u0000name': Buffer.from('1') }
const poisonEvent = (memberId: string): Buffer => rewardEventBytes(memberId, `poison-${memberId}`)
/** NUL in a string: archive-row.ts keeps such a value as raw bytes only (value_json null), so it
 *  is archived, not refused. */
const nulEvent = (memberId: string): Buffer =>
  Buffer.from(`{"eventId":"a\\u0000b","memberId":"${memberId}","source":"HOTEL","type":"EARN","amountCents":100,"currency":"USD","occurredAt":"2026-03-01T12:00:00Z"}`)

async function kafkaWorld (t: Test, name: string): Promise<{ log: Log, topics: ReturnType<typeof platformTopics> }> {
  const log = createKafkaLog({ brokers, clientId: unique(name) })
  t.teardown(() => log.close())
  const config = { topicPrefix: `${unique(name)}.`, partitions: 1 }
  await ensurePlatformTopics(log, config)
  const topics = platformTopics(config)
  t.teardown(() => log.admin.deleteTopics(Object.values(topics)))
  return { log, topics }
}

function captureLog (): { logger: ReturnType<typeof createLogger>, lines: () => Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    }
  })
  return { logger: createLogger({ level: 'info', destination }), lines: () => lines }
}

const count = async (db: Database, table: string): Promise<number> =>
  (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n

t.test('refused rows are dead-lettered between good rows; offsets pass them; the breaker stays closed', async t => {
  const database = await createTestDatabase()
  t.teardown(database.drop)
  const db = await openMigrated(database.url, t.testdir({}))
  t.teardown(() => db.close())
  const { log, topics } = await kafkaWorld(t, 'apoison')
  const producer = await log.createProducer({ clientId: unique('apoison-producer') })
  t.teardown(() => producer.close())

  const good = (from: number, n: number): Array<{ topic: string, key: Buffer, value: Buffer }> =>
    Array.from({ length: n }, (_, i) => ({ topic: topics.rewardEvents, key: Buffer.from('M-1'), value: rewardEventBytes('M-1', `e-${from + i}`) }))
  const [poisonAt] = await producer.send([...good(0, 30), { topic: topics.rewardEvents, key: Buffer.from('M-1'), value: poisonEvent('M-1'), headers: poisonHeaders }, ...good(30, 30)]).then(r => [r[30]!])
  await producer.send([{ topic: topics.rewardEvents, key: Buffer.from('M-1'), value: nulEvent('M-1') }, ...good(60, 30)])
  const [dlqPoisonAt] = await producer.send([{ topic: topics.rewardEventsDlq, key: Buffer.from('M-2'), value: poisonEvent('M-2'), headers: { 'error.code': Buffer.from('VALIDATION'), ...poisonHeaders } }])
  const dlqGood = await producer.send([{ topic: topics.rewardEventsDlq, key: Buffer.from('M-2'), value: rewardEventBytes('M-2', 'dlq-ok') }])

  const registry = new Registry()
  const transitions: BreakerState[] = []
  const { logger, lines } = captureLog()
  const groupId = unique('apoison-archiver')
  // Batches of 50: the refused record is inside a batch of good ones, which must be bisected.
  const archiver = startArchiver({ log, db, topics, groupId, registry, logger, batchSize: 50, lagIntervalMs: 200, breaker: { failureThreshold: 2, onStateChange: s => transitions.push(s) } })
  t.teardown(() => archiver.close())
  await archiver.ready

  await waitFor('good rows archived, refused rows dead-lettered', async () =>
    (await count(db, 'archive_records')) === 92 && (await count(db, 'archive_dead_letters')) === 2, 60_000)
  const letters = await db.query<{ topic: string, partition: number, offset: string, key: Buffer, value: Buffer, error_code: string, error_message: string }>(
    'SELECT topic, "partition", "offset"::text AS "offset", "key", "value", error_code, error_message FROM archive_dead_letters ORDER BY topic')
  t.same(letters.rows.map(r => [r.topic, r.partition, r.offset, r.error_code]), [
    [topics.rewardEvents, 0, String(poisonAt!.offset), '22P05'],
    [topics.rewardEventsDlq, 0, String(dlqPoisonAt!.offset), '22P05']
  ], 'each refused record, where it was, with its SQLSTATE')
  t.ok(letters.rows[0]!.value.equals(poisonEvent('M-1')), 'the refused value kept byte for byte')
  t.equal(letters.rows[0]!.key.toString(), 'M-1')
  t.match(letters.rows[0]!.error_message, /unsupported Unicode escape sequence/, 'with the database\'s reason')
  const nul = await db.query<{ value_json: unknown }>(`SELECT value_json FROM archive_records WHERE topic = $1 AND "value" = $2`, [topics.rewardEvents, nulEvent('M-1')])
  t.same(nul.rows, [{ value_json: null }], 'NUL in a string is archived as raw bytes (not refused)')
  const eventIds = await db.query<{ n: number }>(`SELECT count(DISTINCT event_id)::int AS n FROM archive_records WHERE event_id LIKE 'e-%'`)
  t.equal(eventIds.rows[0]!.n, 90, 'every good record around the refused one landed')

  await waitFor('lag 0', async () => (await archiver.measureLag()) === 0, 30_000)
  const committed = await log.admin.listCommittedOffsets(groupId, [{ topic: topics.rewardEvents, partition: 0 }, { topic: topics.rewardEventsDlq, partition: 0 }])
  const at = (topic: string): bigint => committed.find(c => c.topic === topic)!.offset
  t.ok(at(topics.rewardEvents) > poisonAt!.offset, `committed offset ${at(topics.rewardEvents)} passed the refused record (${poisonAt!.offset})`)
  t.ok(at(topics.rewardEventsDlq) > dlqGood[0]!.offset, 'and on the dead-letter topic past the good record after it')

  const metrics = await registry.metrics()
  t.match(metrics, new RegExp(`rewards_archive_dead_letters_total\\{topic="${topics.rewardEvents.replaceAll('.', '\\.')}",reason="22P05"\\} 1`), 'counted per topic and reason')
  t.match(metrics, new RegExp(`rewards_archive_dead_letters_total\\{topic="${topics.rewardEventsDlq.replaceAll('.', '\\.')}",reason="22P05"\\} 1`))
  t.match(metrics, new RegExp(`rewards_archive_rows_total\\{topic="${topics.rewardEvents.replaceAll('.', '\\.')}"\\} 91\n`), 'rows counted without the dead letters')
  t.equal(archiver.deadLettered(), 2)
  t.same(transitions, [], 'refused rows never opened the breaker')
  t.equal(archiver.breakerState(), 'CLOSED')
  const warnings = lines().filter(l => l.level === 'warn' && typeof l.msg === 'string' && l.msg.includes('dead-lettered'))
  t.equal(warnings.length, 2, 'one warn line per dead-lettered record')
  t.match(warnings[0], { topic: topics.rewardEvents, offset: String(poisonAt!.offset), code: '22P05', destination: 'archive_dead_letters' })
  t.match(archiverHealth(archiver), { ready: true, detail: /2 record\(s\) dead-lettered/ })
  t.equal(archiverHealth(archiver).degraded, undefined, 'dead letters alone do not degrade')

  // A restart re-reads nothing: the offsets passed the refused records.
  await archiver.close()
  const again = startArchiver({ log, db, topics, groupId, registry: new Registry(), lagIntervalMs: 200 })
  t.teardown(() => again.close())
  await again.ready
  await producer.send(good(90, 5))
  await waitFor('restarted archiver archives new records', async () => (await count(db, 'archive_records')) === 97, 60_000)
  t.equal(again.deadLettered(), 0, 'after a restart, nothing dead-lettered again')
  t.equal(await count(db, 'archive_dead_letters'), 2)
  t.equal(again.breakerState(), 'CLOSED', 'and the breaker starts closed')
})

t.test('archive_dead_letters refuses too: the record goes to the dead-letter topic', async t => {
  const database = await createTestDatabase()
  t.teardown(database.drop)
  const db = await openMigrated(database.url, t.testdir({}))
  t.teardown(() => db.close())
  await db.query('DROP TABLE archive_dead_letters')
  const { log, topics } = await kafkaWorld(t, 'apoisontopic')
  const deadLetterTopic = `${topics.rewardEvents}.archive-dead-letters`
  t.teardown(() => log.admin.deleteTopics([deadLetterTopic]))
  const producer = await log.createProducer({ clientId: unique('apoisontopic-producer') })
  t.teardown(() => producer.close())
  const [poisonAt] = await producer.send([{ topic: topics.rewardEvents, key: Buffer.from('M-3'), value: poisonEvent('M-3'), headers: poisonHeaders }, { topic: topics.rewardEvents, key: Buffer.from('M-3'), value: rewardEventBytes('M-3', 'after') }])

  const registry = new Registry()
  const archiver = startArchiver({ log, db, topics, groupId: unique('apoisontopic-archiver'), registry, deadLetterTopic, lagIntervalMs: 200 })
  t.teardown(() => archiver.close())
  await waitFor('the good record archived', async () => (await count(db, 'archive_records')) === 1, 60_000)
  const reader = log.createPartitionReader({ clientId: unique('apoisontopic-reader') })
  t.teardown(() => reader.close())
  reader.assign([{ topic: deadLetterTopic, partition: 0, offset: 0n }])
  const records: LogRecord[] = await waitFor('the dead-letter topic holds the record', async () => {
    const polled = await reader.poll(500)
    return polled.length > 0 ? polled : undefined
  }, 30_000)
  t.equal(records.length, 1)
  t.ok(records[0]!.value!.equals(poisonEvent('M-3')), 'the record as it was')
  t.equal(records[0]!.headers['archive.topic']!.toString(), topics.rewardEvents)
  t.equal(records[0]!.headers['archive.offset']!.toString(), String(poisonAt!.offset))
  t.equal(records[0]!.headers['error.code']!.toString(), '22P05')
  t.match(records[0]!.headers['archive.table-error']!.toString(), /^42P01 /, 'and why the table did not take it')
  t.equal(archiver.deadLettered(), 1)
})

t.test('PostgreSQL cut while lag grows: the archiver is reported stuck, then behind; back, it recovers', async t => {
  const { db, direct, proxy } = await proxiedTestDatabase(t, { connectTimeoutMs: 500, queryTimeoutMs: 1000 })
  const { log, topics } = await kafkaWorld(t, 'astuck')
  const producer = await log.createProducer({ clientId: unique('astuck-producer') })
  t.teardown(() => producer.close())
  const send = async (from: number, n: number): Promise<void> => {
    await producer.send(Array.from({ length: n }, (_, i) => ({ topic: topics.rewardEvents, key: Buffer.from('M-4'), value: rewardEventBytes('M-4', `s-${from + i}`) })))
  }

  const registry = new Registry()
  const archiver = startArchiver({ log, db, topics, groupId: unique('astuck-archiver'), registry, lagIntervalMs: 200, stallSeconds: 2, maxLagRecords: 150, breaker: { failureThreshold: 2, openMs: 500, maxBackoffMs: 200 } })
  t.teardown(() => archiver.close())
  await archiver.ready
  const readiness = new Readiness()
  readiness.add('archiver', () => archiverHealth(archiver))
  await send(0, 20)
  await waitFor('archived', async () => (await count(direct, 'archive_records')) === 20, 60_000)
  t.same(readiness.report().degraded, [], 'healthy: not degraded')

  proxy.cut()
  await send(20, 100)
  const stuck = await waitFor('reported stuck', async () => {
    const report = readiness.report()
    return /stuck: no progress/.test(report.checks.archiver?.detail ?? '') ? report : undefined
  }, 30_000)
  t.equal(stuck.ready, true, 'stuck is not unready: the API keeps serving')
  t.same(stuck.degraded, ['archiver'], 'but the archiver is degraded')
  t.match(stuck.checks.archiver!.detail, /bound 2 s\) with 100 record\(s\) to archive/)
  // The gauges are set once per loop turn (at most one poll wait, 500 ms, behind the check).
  const since = await waitFor('stalled gauge', async () => {
    const metrics = await registry.metrics()
    return /^rewards_archive_stalled 1$/m.test(metrics) ? Number(/^rewards_archive_seconds_since_progress (\d+)$/m.exec(metrics)![1]) : undefined
  }, 5000, 50)
  t.ok(since >= 2, `rewards_archive_stalled 1, rewards_archive_seconds_since_progress ${since}`)

  await send(120, 100)
  await waitFor('reported behind', async () => /behind: lag 200 record\(s\) above 150/.test(readiness.report().checks.archiver?.detail ?? ''), 30_000)

  proxy.restore()
  await waitFor('caught up and healthy again', async () => readiness.report().degraded.length === 0 && archiver.lagRecords() === 0, 60_000)
  t.equal(await count(direct, 'archive_records'), 220, 'everything archived after the outage')
  await waitFor('stalled gauge back to 0', async () => /^rewards_archive_stalled 0$/m.test(await registry.metrics()), 5000, 50)
})
