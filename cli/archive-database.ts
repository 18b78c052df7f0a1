// The archive database of an ops command (`rewards db`, `report`, `replay`): opened as the platform
// opens it (lib/db/database.ts), and on PostgreSQL asked once (`SELECT 1`) before the command
// starts, because the pool connects lazily. A server that cannot be reached then ends the
// command with `[DATABASE_UNAVAILABLE] cannot reach the archive database (PostgreSQL at
// postgres://user:***@host:5432/db) (connect ECONNREFUSED …)` — which database, the password
// masked — rather than the bare `connect ECONNREFUSED 127.0.0.1:5432` of its first query. The
// embedded PostgreSQL held by a running platform (lib/db/pglite-lock.ts) ends it with `the embedded
// platform in <data-dir> is running (… locked by another instance: pid …); stop it first`.
import { archiveDatabaseConfig, openDatabase, type Database } from '../lib/db/database.ts'
import { isDatabaseUnreachable } from '../lib/db/database-errors.ts'
import { maskUrl, type RewardsConfig } from '../lib/config.ts'
import { isRewardsError, RewardsError } from '../lib/errors.ts'

export async function openArchiveDatabase (config: RewardsConfig): Promise<Database> {
  const database = await openDatabase(archiveDatabaseConfig(config)).catch((error: unknown): never => {
    if (!isRewardsError(error, 'STATE_DIR_LOCKED')) throw error
    throw new Error(`the embedded platform in ${config.dataDir} is running (${error.message}); stop it first: its embedded PostgreSQL (${config.pgDir}) is one process at a time`, { cause: error })
  })
  if (database.kind !== 'postgres') return database
  try {
    await database.query('SELECT 1')
    return database
  } catch (error) {
    await database.close().catch(() => {})
    // A wrong password or an unknown database is not an outage: said as such, the URL named too.
    const where = `PostgreSQL at ${maskUrl(config.databaseUrl!)}`
    if (isDatabaseUnreachable(error)) throw new RewardsError('DATABASE_UNAVAILABLE', `cannot reach the archive database (${where})`, { cause: error })
    throw new Error(`cannot open the archive database (${where}): ${(error as Error).message}`, { cause: error })
  }
}
