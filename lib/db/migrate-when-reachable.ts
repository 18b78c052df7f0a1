// Schema migrations that wait for PostgreSQL: `rewards start` does not need the database to start
// (docs/runbooks/dependency-outage.md), so the migrations run as soon as it can be reached —
// at once when it is up, otherwise retried with backoff (cockatiel) until it is. One run per
// database location per process: the archiver and the token server share one schema and one
// migration set, and both wait on the same promise.
//
// Only "cannot be reached" is waited out (lib/db/database-errors.ts); anything else (wrong
// password, unknown database, a failing migration) rejects with its own message.
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel'
import type { Logger } from '../logger.ts'
import type { Database } from './database.ts'
import { isDatabaseUnreachable } from './database-errors.ts'
import { migrate, migrationMessage, type MigrationOutcome } from './migrate.ts'

const runs = new Map<string, Promise<MigrationOutcome>>()

export interface MigrateWhenReachableOptions {
  /** Identifies the database (lib/db/shared-database.ts databaseLocation). */
  readonly location: string
  readonly logger?: Logger
  /** Stops the waiting (the process shuts down): the promise then rejects. */
  readonly signal?: AbortSignal
  readonly initialDelayMs?: number
  readonly maxDelayMs?: number
}

export function migrateWhenReachable (db: Database, options: MigrateWhenReachableOptions): Promise<MigrationOutcome> {
  let run = runs.get(options.location)
  if (run === undefined) {
    run = waitAndMigrate(db, options)
    runs.set(options.location, run)
    // A failed or abandoned run may be tried again by the next caller (a restarted role, a test).
    run.catch(() => { if (runs.get(options.location) === run) runs.delete(options.location) })
  }
  return run
}

async function waitAndMigrate (db: Database, options: MigrateWhenReachableOptions): Promise<MigrationOutcome> {
  let waiting = false
  const policy = retry(handleWhen(isDatabaseUnreachable), {
    maxAttempts: Number.POSITIVE_INFINITY,
    backoff: new ExponentialBackoff({ initialDelay: options.initialDelayMs ?? 500, maxDelay: options.maxDelayMs ?? 5_000 })
  })
  policy.onRetry(event => {
    if (waiting) return
    waiting = true
    const reason = 'error' in event ? (event.error as Error).message : 'no answer'
    options.logger?.warn({ event: 'database.migrations.waiting', reason }, `PostgreSQL cannot be reached (${reason}): the schema migrations run when it can`)
  })
  const outcome = await policy.execute(async () => await migrate(db), options.signal)
  options.logger?.info({ event: 'database.migrated', applied: outcome.applied.map(m => m.version), database: db.kind, waited: waiting }, migrationMessage(outcome))
  return outcome
}
