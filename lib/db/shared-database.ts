// One database handle per process and location, shared by every role that needs one (archiver,
// auth and api): the same embedded PGlite in <data-dir>/pg — PGlite is one handle per directory
// and one process per directory — or, with REWARDS_DATABASE_URL, the same pg pool. Reference
// counted: each user's close() releases its share, the last one closes the handle.
import { resolve } from 'node:path'
import { openDatabase, type Database, type DatabaseConfig } from './database.ts'

interface Entry {
  readonly opening: Promise<Database>
  users: number
}

const open = new Map<string, Entry>()

/** Where `config` points: the URL, or the PGlite directory. */
export function databaseLocation (config: DatabaseConfig): string {
  if (config.databaseUrl !== undefined && config.databaseUrl !== null && config.databaseUrl !== '') return config.databaseUrl
  return `pglite:${resolve(config.pgDir ?? `${config.dataDir.replace(/\/$/, '')}/pg`)}`
}

/** The process's handle on the database of `config`, opened on first use. close() on the result
 *  releases this share only. The first caller's pool options apply to every share. */
export async function acquireDatabase (config: DatabaseConfig): Promise<Database> {
  const key = databaseLocation(config)
  let entry = open.get(key)
  if (entry === undefined) {
    entry = { opening: openDatabase(config), users: 0 }
    open.set(key, entry)
    entry.opening.catch(() => { if (open.get(key) === entry) open.delete(key) })
  }
  entry.users++
  let db: Database
  try {
    db = await entry.opening
  } catch (error) {
    entry.users--
    throw error
  }
  let released = false
  const shared = entry
  return {
    kind: db.kind,
    query: (sql, params) => db.query(sql, params),
    transaction: fn => db.transaction(fn),
    async close () {
      if (released) return
      released = true
      if (--shared.users > 0) return
      if (open.get(key) === shared) open.delete(key)
      await db.close()
    }
  }
}
