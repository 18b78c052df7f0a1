// Helpers of the archive tests: a fresh PostgreSQL database per test on the local server (other
// workers share the server, so nothing here touches tables outside its own database), record
// builders, and a wait loop.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { Test } from 'tap'
import { openDatabase, type Database } from '../../lib/db/database.ts'
import { migrate } from '../../lib/db/migrate.ts'
import { TcpProxy } from './tcp-proxy.ts'

export const PG_ADMIN_URL = process.env.REWARDS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export function databaseUrl (name: string, base = PG_ADMIN_URL): string {
  const url = new URL(base)
  url.pathname = `/${name}`
  return url.toString()
}

/** Creates an empty database; returns its URL and a drop function. */
export async function createTestDatabase (prefix = 'archive_test'): Promise<{ name: string, url: string, drop: () => Promise<void> }> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  return {
    name,
    url: databaseUrl(name),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    }
  }
}

export async function openMigrated (url: string | null, dataDir: string): Promise<Database> {
  const db = await openDatabase({ databaseUrl: url, dataDir })
  await migrate(db)
  return db
}

/** A fresh migrated database for a PostgreSQL outage test: `db` reaches it through a TCP proxy
 *  (proxy.cut() is the outage), `direct` bypasses the proxy for checks. Dropped and closed by the
 *  test's teardown. */
export async function proxiedTestDatabase (t: Test, timeouts: { connectTimeoutMs: number, queryTimeoutMs: number }): Promise<{ db: Database, direct: Database, proxy: TcpProxy }> {
  const database = await createTestDatabase()
  t.teardown(database.drop)
  const direct = await openMigrated(database.url, t.testdir({}))
  t.teardown(() => direct.close())
  const pgUrl = new URL(database.url)
  const proxy = new TcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432))
  const port = await proxy.listen()
  t.teardown(() => proxy.close())
  const proxied = new URL(databaseUrl(database.name))
  proxied.port = String(port)
  const db = await openDatabase({ databaseUrl: proxied.toString(), dataDir: '.', ...timeouts })
  t.teardown(() => db.close())
  return { db, direct, proxy }
}

export function rewardEventBytes (memberId: string, eventId: string, amountCents = 10_000, occurredAt = '2026-03-01T12:00:00Z'): Buffer {
  return Buffer.from(JSON.stringify({ eventId, memberId, source: 'HOTEL', type: 'EARN', amountCents, currency: 'USD', occurredAt, propertyId: 'P-1' }))
}

export async function waitFor<T> (what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const v = await fn()
      if (v !== undefined && v !== false) return v
    } catch (error) {
      last = error
    }
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
  throw new Error(`timed out waiting for ${what}${last === undefined ? '' : ` (last error: ${(last as Error).message})`}`)
}

export async function countRows (db: Database): Promise<{ total: number, distinct: number }> {
  const r = await db.query<{ total: number, d: number }>('SELECT count(*)::int AS total, count(DISTINCT (topic, "partition", "offset"))::int AS d FROM archive_records')
  return { total: r.rows[0]!.total, distinct: r.rows[0]!.d }
}
