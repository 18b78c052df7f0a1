// The archive database: PostgreSQL through `pg` when a URL is configured, otherwise the embedded
// PostgreSQL (PGlite, WebAssembly) in the data directory. Both behind one small interface so the
// archiver, the ops commands and the API code against the same thing and run the same migrations.
//
// - query(sql, params): one statement with $n parameters; without parameters several statements
//   separated by ';' may be given (migrations).
// - transaction(fn): BEGIN … COMMIT on one connection; a thrown error rolls back.
// - PGlite is one process per directory, and takes no lock of its own: ./pglite-lock.ts holds an
//   OS lock beside the directory while it is open, so a second process (`rewards db`, `report`
//   next to a running platform) is refused, naming the holder. The embedded default runs every
//   role in one process.
// - PGlite: a new data dir is a copy of a cached initdb result (./pglite-template.ts), not initdb.
// - pg: bounded pool, connect and query timeouts so an unreachable server fails fast (the archiver
//   retries with backoff behind a circuit breaker; see processors/archive/).
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import pg from 'pg'
import { PGlite } from '@electric-sql/pglite'
import { lockPgliteDirectory } from './pglite-lock.ts'
import { discardTemplate, seedFromTemplate, standardTemplateCacheDir } from './pglite-template.ts'
import type { RewardsConfig } from '../config.ts'

export interface Queryable {
  query<T = Record<string, unknown>> (sql: string, params?: unknown[]): Promise<{ rows: T[] }>
}

export interface Database extends Queryable {
  transaction<T> (fn: (tx: Queryable) => Promise<T>): Promise<T>
  close (): Promise<void>
  readonly kind: 'postgres' | 'pglite'
}

export interface DatabaseConfig {
  /** postgres://…; absent or null → PGlite in `<dataDir>/pg` (or `pgDir` when given). */
  readonly databaseUrl?: string | null
  readonly dataDir: string
  /** Overrides `<dataDir>/pg` for PGlite. */
  readonly pgDir?: string
  /** pg pool size; default 4. */
  readonly maxConnections?: number
  /** pg: connect timeout; default 5000 ms. */
  readonly connectTimeoutMs?: number
  /** pg: client-side query timeout; default 30000 ms. */
  readonly queryTimeoutMs?: number
  /** PGlite: where the template a new data dir is copied from is cached (lib/db/pglite-template.ts);
   *  default `standardTemplateCacheDir()`, null → every new data dir runs initdb itself. */
  readonly pgliteCacheDir?: string | null
}

/** The archive's database as the platform's settings name it (docs/cli.md "Configuration"),
 *  with this user's pool options. */
export function archiveDatabaseConfig (
  config: Pick<RewardsConfig, 'databaseUrl' | 'dataDir' | 'pgliteCacheDir'>,
  pool: Pick<DatabaseConfig, 'maxConnections' | 'connectTimeoutMs' | 'queryTimeoutMs'> = {}
): DatabaseConfig {
  return {
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    pgDir: join(config.dataDir, 'pg'),
    ...(config.pgliteCacheDir !== undefined ? { pgliteCacheDir: config.pgliteCacheDir } : {}),
    ...pool
  }
}

export async function openDatabase (config: DatabaseConfig): Promise<Database> {
  if (config.databaseUrl !== undefined && config.databaseUrl !== null && config.databaseUrl !== '') {
    return openPostgres(config.databaseUrl, config)
  }
  const dir = config.pgDir ?? `${config.dataDir.replace(/\/$/, '')}/pg`
  const cacheDir = config.pgliteCacheDir === undefined ? standardTemplateCacheDir() : config.pgliteCacheDir
  // Before anything is written into it (the template's copy included).
  mkdirSync(dirname(resolve(dir)), { recursive: true })
  const release = lockPgliteDirectory(dir)
  try {
    const seeded = await seedFromTemplate(dir, { cacheDir })
    mkdirSync(dir, { recursive: true })
    let db: Database
    try {
      db = await openPglite(dir)
    } catch (error) {
      // The copy this call just made does not open: drop it and the template, initialise normally.
      // Not when another process has opened it meanwhile (its postmaster.pid): that one's, then.
      if (!seeded || cacheDir === null || existsSync(`${dir}/postmaster.pid`)) throw error
      discardTemplate(cacheDir)
      rmSync(dir, { recursive: true, force: true })
      mkdirSync(dir, { recursive: true })
      db = await openPglite(dir)
    }
    return { ...db, async close () { try { await db.close() } finally { release() } } }
  } catch (error) {
    release()
    throw error
  }
}

function openPostgres (url: string, config: DatabaseConfig): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: config.maxConnections ?? 4,
    connectionTimeoutMillis: config.connectTimeoutMs ?? 5000,
    query_timeout: config.queryTimeoutMs ?? 30_000,
    idleTimeoutMillis: 10_000
  })
  // An idle client losing its connection (server restart) must not crash the process: the next
  // query gets a fresh connection or a clear error.
  pool.on('error', () => {})
  return {
    kind: 'postgres',
    async query<T> (sql: string, params?: unknown[]) {
      const result = await pool.query(sql, params)
      // Multi-statement text returns one result per statement: the last one is the answer.
      const last = Array.isArray(result) ? result[result.length - 1] : result
      return { rows: (last?.rows ?? []) as T[] }
    },
    async transaction<T> (fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect()
      let broken = false
      try {
        await client.query('BEGIN')
        const tx: Queryable = {
          async query<R> (sql: string, params?: unknown[]) {
            const result = await client.query(sql, params)
            return { rows: result.rows as R[] }
          }
        }
        const value = await fn(tx)
        await client.query('COMMIT')
        return value
      } catch (error) {
        try {
          await client.query('ROLLBACK')
        } catch {
          broken = true
        }
        throw error
      } finally {
        client.release(broken)
      }
    },
    async close () {
      await pool.end()
    }
  }
}

async function openPglite (dir: string): Promise<Database> {
  const db = await PGlite.create(dir)
  const run = async <T> (target: Pick<PGlite, 'query' | 'exec'>, sql: string, params?: unknown[]): Promise<{ rows: T[] }> => {
    if (params === undefined || params.length === 0) {
      const results = await target.exec(sql)
      return { rows: (results[results.length - 1]?.rows ?? []) as T[] }
    }
    const result = await target.query<T>(sql, params)
    return { rows: result.rows }
  }
  return {
    kind: 'pglite',
    query: (sql, params) => run(db, sql, params),
    transaction: fn => db.transaction(tx => fn({ query: (sql, params) => run(tx, sql, params) })),
    async close () {
      await db.close()
    }
  }
}
