// openDatabase + migrate on both PostgreSQL and PGlite: the same migrations apply, a second run
// applies nothing, concurrent runs on PostgreSQL do not race (advisory lock), a failed
// transaction rolls back, and writeArchiveRows is idempotent on (topic, partition, offset).
import t, { type Test } from 'tap'
import { openDatabase, type Database } from '../../lib/db/database.ts'
import { appliedMigrations, listMigrations, migrate } from '../../lib/db/migrate.ts'
import { toArchiveRow, writeArchiveRows } from '../../processors/archive/index.ts'
import { createTestDatabase, rewardEventBytes } from './archive-helpers.ts'

async function exercise (t: Test, db: Database): Promise<void> {
  const first = await migrate(db)
  t.same(first.applied.map(m => m.version), listMigrations().map(m => m.version), 'every migration applied')
  const second = await migrate(db)
  t.same(second.applied, [], 'nothing applied twice')
  t.same((await appliedMigrations(db)).map(m => m.version), listMigrations().map(m => m.version))

  await t.rejects(db.transaction(async tx => {
    await tx.query("INSERT INTO schema_migrations (version, name) VALUES (9999, 'x')")
    throw new Error('boom')
  }), /boom/)
  t.equal((await db.query('SELECT 1 FROM schema_migrations WHERE version = 9999')).rows.length, 0, 'rolled back')

  const rows = Array.from({ length: 50 }, (_, i) => toArchiveRow({ topic: 'reward-events', partition: i % 3, offset: BigInt(i), timestamp: 1_772_000_000_000, key: Buffer.from('M-1'), value: rewardEventBytes('M-1', `e${i}`), headers: {} }, 'reward-event'))
  t.equal(await writeArchiveRows(db, rows), 50)
  t.equal(await writeArchiveRows(db, [...rows.slice(40), ...rows.slice(40)]), 0, 'already archived rows (even twice in one batch) insert nothing')
  const r = await db.query<{ n: number, v: unknown }>("SELECT count(*)::int AS n, min(value_json->>'eventId') AS v FROM archive_records")
  t.equal(r.rows[0]!.n, 50)

  // Values PostgreSQL cannot hold as jsonb or text (a lone surrogate, NUL), produced to a topic
  // around the API: archived with their bytes, never a refused row (docs/rewards.md).
  const poison = ['{"eventId":"x\\ud800y","memberId":"M-9"}', '{"eventId":"x\\u0000y","memberId":"M-9"}', '{"eventId":"x\\udc00","k\\ud800":1}']
    .map((text, i) => toArchiveRow({ topic: 'reward-events', partition: 0, offset: BigInt(100 + i), timestamp: 1_772_000_000_000, key: Buffer.from('M-9'), value: Buffer.from(text), headers: {} }, 'reward-event'))
  t.equal(await writeArchiveRows(db, poison), 3, 'unstorable text archived as bytes')
  const stored = await db.query<{ v: unknown, b: Buffer }>('SELECT value_json AS v, value AS b FROM archive_records WHERE "offset" >= 100 ORDER BY "offset"')
  t.same(stored.rows.map(row => [row.v, Buffer.from(row.b).toString()]), poison.map(p => [null, p.value!.toString()]), 'no JSON, the bytes unchanged')
}


t.test('PostgreSQL', async t => {
  const database = await createTestDatabase('db_test')
  t.teardown(database.drop)
  const dbs = await Promise.all([0, 1, 2].map(() => openDatabase({ databaseUrl: database.url, dataDir: '.' })))
  t.teardown(() => Promise.all(dbs.map(d => d.close())))
  t.equal(dbs[0]!.kind, 'postgres')
  const outcomes = await Promise.all(dbs.map(d => migrate(d)))
  t.equal(outcomes.reduce((n, o) => n + o.applied.length, 0), listMigrations().length, 'concurrent runs: each migration applied exactly once')
  const db = await openDatabase({ databaseUrl: database.url, dataDir: '.' })
  t.teardown(() => db.close())
  await db.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public')
  await exercise(t, db)
})

t.test('PGlite', async t => {
  const db = await openDatabase({ dataDir: t.testdir({}) })
  t.teardown(() => db.close())
  t.equal(db.kind, 'pglite')
  await exercise(t, db)
})
