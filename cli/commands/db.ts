// `rewards db migrate|status`: the archive's schema migrations (lib/db/migrations), applied on
// PostgreSQL (REWARDS_DATABASE_URL) or the embedded PostgreSQL in <data-dir>/pg. `rewards start`
// applies them too (archiver role); this runs them alone, e.g. as a deploy step.
//
// Beside a running platform on the embedded PostgreSQL both refuse (cli/archive-database.ts): the
// directory is one process at a time (lib/db/pglite-lock.ts).
import { Command } from 'commander'
import { formatTable } from '../format-table.ts'
import { action, configFrom, EXIT, withConfigOptions, write, type CliContext } from '../cli-context.ts'

export function dbCommand (ctx: CliContext): Command {
  const db = new Command('db').description('The PostgreSQL archive: schema migrations')

  const migrateCmd = new Command('migrate')
    .description('Apply the schema migrations not applied yet (idempotent; concurrent runs wait for each other)')
    .addHelpText('after', '\nExamples:\n  rewards db migrate --database-url postgres://rewards@db:5432/rewards\n  rewards db migrate            # embedded PostgreSQL in ./data/pg')
  withConfigOptions(migrateCmd)
  migrateCmd.action(action(ctx, 'db migrate', async () => {
    const config = configFrom(ctx, migrateCmd)
    const [{ openArchiveDatabase }, { migrate }, { maskUrl }] = await Promise.all([import('../archive-database.ts'), import('../../lib/db/migrate.ts'), import('../../lib/config.ts')])
    const database = await openArchiveDatabase(config)
    try {
      const where = database.kind === 'pglite' ? `embedded PostgreSQL in ${config.pgDir}` : maskUrl(config.databaseUrl!)
      const outcome = await migrate(database, { onApply: m => { ctx.err.write(`applying ${String(m.version).padStart(4, '0')}-${m.name}…\n`) } })
      await write(ctx.out, outcome.applied.length === 0
        ? `schema up to date on ${where} (${outcome.alreadyApplied.length} migration(s) applied before)`
        : `applied ${outcome.applied.map(m => `${String(m.version).padStart(4, '0')}-${m.name}`).join(', ')} on ${where}`)
      return EXIT.OK
    } finally {
      await database.close()
    }
  }))

  const status = new Command('status')
    .description('List the migrations and whether each is applied; exit 1 when some are pending')
    .option('--json', 'print as JSON')
  withConfigOptions(status)
  status.action(action(ctx, 'db status', async () => {
    const config = configFrom(ctx, status)
    const [{ openArchiveDatabase }, { appliedMigrations, listMigrations }] = await Promise.all([import('../archive-database.ts'), import('../../lib/db/migrate.ts')])
    const database = await openArchiveDatabase(config)
    try {
      const applied = new Map((await appliedMigrations(database)).map(m => [m.version, m]))
      const rows = listMigrations().map(m => ({ version: m.version, name: m.name, appliedAt: applied.get(m.version)?.appliedAt ?? null }))
      const pending = rows.filter(r => r.appliedAt === null).length
      if (status.opts<{ json?: boolean }>().json === true) await write(ctx.out, JSON.stringify({ migrations: rows, pending }, null, 2))
      else await write(ctx.out, [formatTable(['MIGRATION', 'APPLIED'], rows.map(r => [`${String(r.version).padStart(4, '0')}-${r.name}`, String(r.appliedAt ?? 'PENDING')])), `${pending} pending`].join('\n'))
      return pending === 0 ? EXIT.OK : EXIT.FAILED
    } finally {
      await database.close()
    }
  }))

  db.addCommand(migrateCmd)
  db.addCommand(status)
  return db
}
