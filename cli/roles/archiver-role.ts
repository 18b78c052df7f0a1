// The archiver role: applies the archive's schema migrations, then runs the archiver
// (processors/archive) on the process's log connection, writing every record of the platform
// topics to PostgreSQL (REWARDS_DATABASE_URL) or, unset, to the embedded PostgreSQL (PGlite) in
// <dataDir>/pg. Ready once migrated and in its consumer group. PostgreSQL does not have to be up:
// unreachable at start, the role waits for it (migrations, then archiving, start when it can be
// reached; meanwhile the instance is ready, degraded); down later, the archiver buffers, backs off
// and catches up. Both show in the readiness detail and in rewards_archive_circuit_state /
// rewards_archive_lag_records (docs/runbooks/dependency-outage.md); stuck or behind, it is
// degraded with the reason (processors/archive/archiver-health.ts).
import { shareArchiveDatabase } from '../../api/archive-access.ts'
import { DEFAULTS } from '../../lib/config.ts'
import type { Database } from '../../lib/db/database.ts'
import type { Archiver } from '../../processors/archive/archiver.ts'
import { archiverHealth } from '../../processors/archive/archiver-health.ts'
import type { Role, RoleContext } from './role.ts'

export function archiverRole (ctx: RoleContext): Role {
  let db: Database | undefined
  let archiver: Archiver | undefined
  let closing = false
  let migrated = false
  const logger = ctx.logger.child({ role: 'archiver' })
  // The api role's reports read the same archive (embedded: this very PGlite handle).
  shareArchiveDatabase(ctx.server, () => (migrated && !closing ? db : undefined))

  let waitingForDatabase = false
  const abandon = new AbortController()
  let running: Promise<void> | undefined

  // Set once the instance was declared ready without the archive (PostgreSQL down at start): its
  // late migrations and group join are then degraded, not unready, so that PostgreSQL coming back
  // does not take every instance that started during the outage out of the load balancer at once
  // (docs/runbooks/dependency-outage.md "Starting while a dependency is down").
  let readyWithoutArchive = false
  const starting = (): { ready: boolean, degraded?: boolean, detail: string } => readyWithoutArchive
    ? { ready: true, degraded: true, detail: 'PostgreSQL is back: migrating, then joining the archiver consumer group (records wait in Kafka)' }
    : { ready: false, detail: 'starting (migrations, group join)' }
  ctx.readiness.add('archiver', () => {
    if (waitingForDatabase) {
      // Known down: ready, degraded (the records wait in Kafka). Otherwise the migrations run.
      if (ctx.dependencies.status('database')?.state !== 'down') return starting()
      readyWithoutArchive = true
      return { ready: true, degraded: true, detail: 'waiting for PostgreSQL: migrations and archiving start when it can be reached (records wait in Kafka)' }
    }
    if (archiver === undefined || (readyWithoutArchive && !archiver.joined())) return starting()
    return archiverHealth(archiver)
  })

  return {
    name: 'archiver',
    async start (): Promise<void> {
      const { config } = ctx
      const [{ archiveDatabaseConfig }, { acquireDatabase, databaseLocation }, { migrateWhenReachable }, { startArchiver }, { ensurePlatformTopics }] = await Promise.all([
        import('../../lib/db/database.ts'), import('../../lib/db/shared-database.ts'), import('../../lib/db/migrate-when-reachable.ts'), import('../../processors/archive/archiver.ts'), import('../../lib/platform-topics.ts')
      ])
      // The process's one handle (shared with the token server's tables in the same database).
      const location = archiveDatabaseConfig(config)
      const opened = db = await acquireDatabase(location)
      const schema = migrateWhenReachable(opened, { location: databaseLocation(location), logger, signal: abandon.signal })
      const archive = async (): Promise<void> => {
        await schema
        migrated = true
        waitingForDatabase = false
        const log = await ctx.log()
        if (closing) return
        if (ctx.createTopics) await ensurePlatformTopics(log, config)
        archiver = startArchiver({
          log,
          db: opened,
          topics: ctx.platform.topics,
          applicationId: config.applicationId,
          registry: ctx.registry,
          logger,
          stallSeconds: config.archiveStallSeconds ?? DEFAULTS.archiveStallSeconds,
          maxLagRecords: config.archiveMaxLagRecords ?? DEFAULTS.archiveMaxLagRecords,
          onFatal: error => ctx.fatal(error)
        })
        logger.info({ group: `${config.applicationId}-archiver`, database: opened.kind }, `archiver started (group ${config.applicationId}-archiver, ${opened.kind === 'pglite' ? `embedded PostgreSQL in ${config.pgDir}` : 'PostgreSQL'})`)
      }
      // The embedded database is always there; PostgreSQL may not be: the other roles start
      // meanwhile, and the archiver starts when the migrations could run.
      if (opened.kind === 'pglite') return await archive()
      waitingForDatabase = true
      running = archive().catch(error => {
        if (!closing) ctx.fatal(error)
      })
    },
    async close (): Promise<void> {
      closing = true
      abandon.abort()
      await running
      try {
        await archiver?.close()
      } finally {
        await db?.close()
      }
    }
  }
}
