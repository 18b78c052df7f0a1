// Several instances needing a signing key at the same moment (first start, or the active key
// aged out) make exactly one: key creation is serialised by an advisory lock and checked again
// under it. A token naming a key made by another instance a moment ago is accepted, not refused
// because this instance reloaded its keys recently. On a PostgreSQL database of its own.
import t from 'tap'
import pg from 'pg'
import { openDatabase } from '../../lib/db/database.ts'
import { migrate } from '../../lib/db/migrate.ts'
import { SigningKeys } from '../../api/auth/signing-keys.ts'
import { unique } from '../cli/cli-helpers.ts'
import { DATABASE_URL } from './api-test-server.ts'

t.test('concurrent instances share one new key; a fresh kid is found at once', async t => {
  const database = unique('rewards_keys').replaceAll('-', '_')
  const admin = new pg.Client({ connectionString: DATABASE_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${database}`)
  const url = new URL(DATABASE_URL)
  url.pathname = `/${database}`
  const dbs = await Promise.all(Array.from({ length: 4 }, () => openDatabase({ databaseUrl: url.toString(), dataDir: '/tmp/unused' })))
  t.teardown(async () => {
    for (const db of dbs) await db.close()
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
    await admin.end()
  })
  await migrate(dbs[0]!)
  const instances = dbs.map(db => new SigningKeys(db, { retiredKeyGraceMs: 360_000, minReloadIntervalMs: 2_000 }))
  const kids = (await Promise.all(instances.map(k => k.current()))).map(c => c.kid)
  t.equal(new Set(kids).size, 1, `four instances starting together sign with one key (${kids.join(', ')})`)
  const { rows } = await dbs[0]!.query<{ n: string }>('SELECT count(*)::text AS n FROM oauth_signing_keys')
  t.equal(rows[0]!.n, '1', 'exactly one key was made')

  // Instance 1 has just loaded its keys; instance 0 rotates; 1 still finds the new kid.
  await instances[1]!.publicJwks()
  const kid = await instances[0]!.rotate()
  const started = Date.now()
  const jwks = await instances[1]!.publicJwksFor(kid)
  t.ok(jwks.keys.some(k => k.kid === kid), 'the new kid is found (after at most the reload interval)')
  t.ok(Date.now() - started < 10_000, `within the reload interval (${Date.now() - started} ms)`)
  t.notOk((await instances[1]!.publicJwksFor('no-such-kid')).keys.some(k => k.kid === 'no-such-kid'), 'an unknown kid stays unknown')
  t.same((await new SigningKeys(dbs[2]!, { retiredKeyGraceMs: 360_000 }).current()).kid, kid, 'an instance loading the keys now signs with the rotated one (no new key)')
})
