// The archiver role: applies the archive's schema migrations, then runs the archiver
// (processors/archive) on the process's log connection, writing every record of the platform
// topics to PostgreSQL (REWARDS_DATABASE_URL) or, unset, to the embedded PostgreSQL (PGlite) in
// <dataDir>/pg. Ready once migrated and in its consumer group; PostgreSQL being down later does
// not make the instance unready (the archiver buffers, backs off and catches up), it shows in the
// readiness detail and in rewards_archive_circuit_state / rewards_archive_lag_records.
import { shareArchiveDatabase } from '../../api/archive-access.ts'
import type { Database } from '../../lib/db/database.ts'
import type { Archiver } from '../../processors/archive/archiver.ts'
import type { Role, RoleContext } from './role.ts'

export function archiverRole (ctx: RoleContext): Role {
  let db: Database | undefined
  let archiver: Archiver | undefined
  let closing = false
  let migrated = false
  const logger = ctx.logger.child({ role: 'archiver' })
  // The api role's reports read the same archive (embedded: this very PGlite handle).
  shareArchiveDatabase(ctx.server, () => (migrated && !closing ? db : undefined))

  ctx.readiness.add('archiver', () => {
    if (archiver === undefined) return { ready: false, detail: 'starting (migrations, group join)' }
    if (!archiver.joined()) return { ready: false, detail: 'joining the archiver consumer group' }
    return { ready: true, detail: `archiving; PostgreSQL circuit ${archiver.breakerState()}, lag ${archiver.lagRecords()} record(s)` }
  })

  return {
    name: 'archiver',
    async start (): Promise<void> {
      const { config } = ctx
      const [{ acquireDatabase }, { migrate, migrationMessage }, { startArchiver }, { ensurePlatformTopics }] = await Promise.all([
        import('../../lib/db/shared-database.ts'), import('../../lib/db/migrate.ts'), import('../../processors/archive/archiver.ts'), import('../../lib/platform-topics.ts')
      ])
      // The process's one handle (shared with the token server's tables in the same database).
      db = await acquireDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, pgDir: config.pgDir })
      const outcome = await migrate(db)
      migrated = true
      logger.info({ applied: outcome.applied.map(m => m.version), database: db.kind }, migrationMessage(outcome))
      const log = await ctx.log()
      if (closing) return
      if (ctx.createTopics) await ensurePlatformTopics(log, config)
      archiver = startArchiver({
        log,
        db,
        topics: ctx.platform.topics,
        applicationId: config.applicationId,
        registry: ctx.registry,
        logger,
        onFatal: error => ctx.fatal(error)
      })
      logger.info({ group: `${config.applicationId}-archiver`, database: db.kind }, `archiver started (group ${config.applicationId}-archiver, ${db.kind === 'pglite' ? `embedded PostgreSQL in ${config.pgDir}` : 'PostgreSQL'})`)
    },
    async close (): Promise<void> {
      closing = true
      try {
        await archiver?.close()
      } finally {
        await db?.close()
      }
    }
  }
}
