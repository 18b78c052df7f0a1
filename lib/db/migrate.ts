// Versioned schema migrations: lib/db/migrations/NNNN-name.sql, applied in order, each in its own
// transaction, recorded in schema_migrations. Idempotent: `rewards db migrate` and every start run
// it; concurrent runners serialise on an advisory lock. Numbering: 0001–0009 the archive
// (processors/archive), 0010 on the API's tables.
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Database } from './database.ts'

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url))
/** Any constant: the key of the advisory lock migrations hold. */
const MIGRATION_LOCK_KEY = 72_616_101

export interface Migration {
  readonly version: number
  readonly name: string
  readonly sql: string
}

export function listMigrations (dir = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir).filter(f => /^\d{4}-[a-z0-9-]+\.sql$/.test(f)).sort()
  const seen = new Set<number>()
  return files.map(file => {
    const version = Number(file.slice(0, 4))
    if (seen.has(version)) throw new Error(`two migrations numbered ${version} in ${dir}`)
    seen.add(version)
    return { version, name: file.slice(5, -4), sql: readFileSync(`${dir}/${file}`, 'utf8') }
  })
}

export interface MigrationOutcome {
  readonly applied: Migration[]
  readonly alreadyApplied: number[]
}

/** Applies every migration not applied yet; returns what it did. */
/** The start-up log message of a migration run (whichever role ran it first: the archive and the
 *  token server share one database and one migration set). */
export function migrationMessage (outcome: MigrationOutcome): string {
  return outcome.applied.length > 0 ? `database schema migrated (${outcome.applied.map(m => `${m.version}-${m.name}`).join(', ')})` : 'database schema up to date'
}

export async function migrate (db: Database, options: { dir?: string, onApply?: (m: Migration) => void } = {}): Promise<MigrationOutcome> {
  const migrations = listMigrations(options.dir)
  // Under the lock too: concurrent CREATE TABLE IF NOT EXISTS can still collide in PostgreSQL.
  await db.transaction(async tx => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY])
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`)
  })
  const applied: Migration[] = []
  const already: number[] = []
  for (const migration of migrations) {
    await db.transaction(async tx => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY])
      const done = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version])
      if (done.rows.length > 0) {
        already.push(migration.version)
        return
      }
      options.onApply?.(migration)
      await tx.query(migration.sql)
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name])
      applied.push(migration)
    })
  }
  return { applied, alreadyApplied: already }
}

/** Versions applied, ascending. */
export async function appliedMigrations (db: Database): Promise<Array<{ version: number, name: string, appliedAt: string }>> {
  const exists = await db.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t")
  if (exists.rows[0]?.t === null || exists.rows[0]?.t === undefined) return []
  const rows = await db.query<{ version: number, name: string, applied_at: Date | string }>('SELECT version, name, applied_at FROM schema_migrations ORDER BY version')
  return rows.rows.map(r => ({ version: Number(r.version), name: r.name, appliedAt: new Date(r.applied_at).toISOString() }))
}
