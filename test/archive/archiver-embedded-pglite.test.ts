// The embedded default: the archiver on the embedded log writes to PGlite (same migrations as
// PostgreSQL). Every record of the six topics gets exactly one row with its typed columns, a
// malformed dead letter is kept raw, a restart re-reading everything inserts nothing twice, and
// archive lag returns to 0.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Registry } from 'prom-client'
import { openEmbeddedLog } from '../../log/embedded/index.ts'
import { ensurePlatformTopics, platformTopics } from '../../lib/platform-topics.ts'
import { startArchiver } from '../../processors/archive/index.ts'
import { countRows, openMigrated, rewardEventBytes, waitFor } from './archive-helpers.ts'

t.test('archiver on the embedded log archives to PGlite exactly once', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'archive-pglite-'))
  const log = await openEmbeddedLog({ dir: join(dir, 'log') })
  t.teardown(async () => {
    await log.close()
    await rm(dir, { recursive: true, force: true })
  })
  const config = { topicPrefix: '', partitions: 4 }
  await ensurePlatformTopics(log, config)
  const topics = platformTopics(config)
  const db = await openMigrated(null, dir)
  t.teardown(() => db.close())
  t.equal(db.kind, 'pglite')

  const producer = await log.createProducer({ clientId: 'test' })
  const records = []
  for (let i = 0; i < 200; i++) records.push({ topic: topics.rewardEvents, key: Buffer.from(`M-${i % 7}`), value: rewardEventBytes(`M-${i % 7}`, `e-${i}`) })
  records.push({ topic: topics.redeemEvents, key: Buffer.from('M-1'), value: Buffer.from(JSON.stringify({ redemptionId: 'r-1', memberId: 'M-1', points: 10, rewardCode: 'ROOM', channel: 'ONLINE', requestedAt: '2026-03-01T13:00:00Z' })) })
  records.push({ topic: topics.rewardEventsDlq, key: Buffer.from('M-2'), value: Buffer.from('{not json'), headers: { 'error.code': Buffer.from('MALFORMED_JSON') } })
  records.push({ topic: topics.redeemConfirmed, key: Buffer.from('M-1'), value: Buffer.from(JSON.stringify({ redemptionId: 'r-1', memberId: 'M-1', points: 10, rewardCode: 'ROOM', status: 'REJECTED', reason: 'INSUFFICIENT_POINTS', balance: {}, requestedAt: '2026-03-01T13:00:00Z', processedAt: '2026-03-01T13:00:01Z' })) })
  await producer.send(records)
  await producer.close()

  const registry = new Registry()
  let archiver = startArchiver({ log, db, topics, applicationId: 'app', registry, batchSize: 50, lagIntervalMs: 100 })
  await waitFor('all rows', async () => (await countRows(db)).total === 203)
  t.equal(await waitFor('lag 0', async () => (await archiver.measureLag()) === 0 ? 0 : undefined), 0)
  const lagSeries = (await registry.getSingleMetric('rewards_archive_lag_records')!.get()).values
  t.ok(lagSeries.length > 0 && lagSeries.every(v => v.value === 0), 'rewards_archive_lag_records is 0 for every assigned partition')
  await archiver.close()

  const dlq = await db.query<{ value_json: unknown, value: Buffer | Uint8Array, error_code: string, member_id: string }>("SELECT value_json, value, error_code, member_id FROM archive_records WHERE kind = 'reward-dlq'")
  t.equal(dlq.rows.length, 1)
  t.equal(dlq.rows[0]!.value_json, null, 'malformed JSON: no JSON value')
  t.equal(Buffer.from(dlq.rows[0]!.value).toString(), '{not json', 'raw bytes kept')
  t.equal(dlq.rows[0]!.error_code, 'MALFORMED_JSON')
  t.equal(dlq.rows[0]!.member_id, 'M-2', 'member from the key')
  const redeem = await db.query<{ status: string, reason: string, points: string }>("SELECT status, reason, points::text FROM archive_records WHERE kind = 'redeem-confirmed'")
  t.same(redeem.rows, [{ status: 'REJECTED', reason: 'INSUFFICIENT_POINTS', points: '10' }])
  const earn = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM archive_records WHERE kind = 'reward-event' AND event_type = 'EARN' AND amount_cents = 10000 AND source = 'HOTEL' AND event_time = '2026-03-01T12:00:00Z'")
  t.equal(earn.rows[0]!.n, 200, 'typed columns')

  // Forget the committed offsets: a new archiver re-reads everything and inserts nothing new.
  const group = 'app-archiver'
  const parts = (await log.admin.describeTopics(Object.values(topics))).flatMap(d => Array.from({ length: d.partitions }, (_, p) => ({ topic: d.name, partition: p })))
  await log.admin.alterCommittedOffsets(group, parts.map(p => ({ ...p, offset: 0n })))
  archiver = startArchiver({ log, db, topics, applicationId: 'app', registry, batchSize: 50, lagIntervalMs: 100 })
  await waitFor('re-read', async () => (await archiver.measureLag()) === 0 && archiver.rowsWritten() === 0 ? true : undefined)
  await archiver.close()
  t.same(await countRows(db), { total: 203, distinct: 203 }, 'no duplicates after re-reading everything')
})
