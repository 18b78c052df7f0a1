// PostgreSQL round trip with `pg`: parameterised insert and select of the types the archive uses
// (bigint offsets, jsonb payloads, bytea keys, timestamptz), an upsert that is idempotent on
// (topic, partition, offset), and a transaction that rolls back.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import pg from 'pg'

const url = process.env.REWARDS_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test'

t.test('PostgreSQL round trip with pg', async t => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(() => client.end())
  const table = `smoke_archive_${randomBytes(4).toString('hex')}`
  // A real (not temporary) table so the test also proves DDL rights; dropped at the end.
  await client.query(`CREATE TABLE ${table} (
    topic text NOT NULL, partition int NOT NULL, "offset" bigint NOT NULL,
    key bytea, value jsonb NOT NULL, ts timestamptz NOT NULL,
    PRIMARY KEY (topic, partition, "offset"))`)
  t.teardown(() => client.query(`DROP TABLE IF EXISTS ${table}`))

  const { rows: [version] } = await client.query<{ server_version_num: string }>('SHOW server_version_num')
  t.ok(Number(version!.server_version_num) >= 150000, `server is PostgreSQL 15+ (${version!.server_version_num})`)

  const insert = `INSERT INTO ${table} (topic, partition, "offset", key, value, ts) VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (topic, partition, "offset") DO NOTHING`
  const big = 9_007_199_254_740_993n // 2^53 + 1: survives only as a string/bigint, not a JS number
  const event = { eventId: 'e-1', memberId: 'm-1', amountCents: 12345, note: 'Zoë ☕' }
  const args = ['reward-events', 3, big.toString(), Buffer.from('m-1'), JSON.stringify(event), '2026-01-02T03:04:05.678Z']
  t.equal((await client.query(insert, args)).rowCount, 1, 'first insert writes a row')
  t.equal((await client.query(insert, args)).rowCount, 0, 'the same (topic, partition, offset) again is a no-op')

  const { rows } = await client.query<{ offset: string, key: Buffer, value: unknown, ts: Date }>(
    `SELECT "offset", key, value, ts FROM ${table} WHERE topic = $1 AND partition = $2`, ['reward-events', 3])
  t.equal(rows.length, 1)
  t.equal(BigInt(rows[0]!.offset), big, 'bigint offset exact (pg returns int8 as a string)')
  t.same(rows[0]!.key, Buffer.from('m-1'), 'bytea key')
  t.same(rows[0]!.value, event, 'jsonb payload, UTF-8 intact')
  t.equal(rows[0]!.ts.toISOString(), '2026-01-02T03:04:05.678Z', 'timestamptz to the millisecond')

  await client.query('BEGIN')
  await client.query(insert, ['reward-events', 3, '1', null, '{}', new Date()])
  await client.query('ROLLBACK')
  const { rows: [count] } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)
  t.equal(count!.n, 1, 'a rolled-back insert leaves nothing')
})
