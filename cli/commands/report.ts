// `rewards report <name>`: the reports over the archive (processors/reports, docs/reports.md) as
// a table, CSV or JSON, from PostgreSQL (REWARDS_DATABASE_URL) or the embedded PostgreSQL in
// <data-dir>/pg. PGlite is one process at a time: embedded, this refuses while the embedded
// platform runs (its log directory is locked) and points to GET /v1/reports/{name}, which the
// running platform serves from the same archive.
import { runningPlatformUrl } from '../../api/auth/admin-run-file.ts'
import { existsSync } from 'node:fs'
import { Argument, Command, Option } from 'commander'
import { stringify } from 'csv-stringify/sync'
import { action, configFrom, EXIT, withConfigOptions, write, type CliContext } from '../cli-context.ts'
import { formatTable } from '../format-table.ts'
import { DEFAULT_RANGE_DAYS, MAX_LIMIT, MAX_RANGE_DAYS, REPORTS, ReportParamsError, type ReportResult } from '../../processors/reports/index.ts'

export const REPORT_FORMATS = ['table', 'csv', 'json'] as const
type ReportFormat = typeof REPORT_FORMATS[number]

/** The result as the chosen format (text without the final newline). */
export function renderReport (result: ReportResult<object>, format: ReportFormat): string {
  const cells = (row: object): Array<string | number | null> => result.columns.map(c => (row as Record<string, string | number | null>)[c.name] ?? null)
  if (format === 'json') return JSON.stringify(result, null, 2)
  if (format === 'csv') {
    // RFC 4180 quoting by csv-stringify; a null is an empty field.
    return stringify([result.columns.map(c => c.name), ...result.rows.map(cells)], { record_delimiter: 'unix' }).trimEnd()
  }
  const { params } = result
  const filters = [params.source !== null ? `source ${params.source}` : '', params.property !== null ? `property ${params.property}` : ''].filter(Boolean).join(', ')
  const title = `${result.report}: ${params.from} to ${params.to} (UTC)${filters === '' ? '' : `, ${filters}`}`
  if (result.rows.length === 0) return `${title}\nno rows`
  const table = formatTable(result.columns.map(c => c.name), result.rows.map(row => cells(row).map(v => v ?? '-')))
  return `${title}\n${table}${result.truncated ? `\n… more rows than --limit ${params.limit}` : ''}`
}

export function reportCommand (ctx: CliContext): Command {
  const command = new Command('report')
    .description('Reports over the archive: points issued and redeemed per day, source and property; top members; dead letters by code')
    .addArgument(new Argument('<name>', 'the report').choices([...REPORTS.keys()]))
    .option('--from <YYYY-MM-DD>', `first UTC day included (default: ${DEFAULT_RANGE_DAYS - 1} days before --to)`)
    .option('--to <YYYY-MM-DD>', 'last UTC day included (default: today)')
    .option('--source <source>', 'only this source (points-issued, top-members: HOTEL, CASINO, DINING) or channel (points-redeemed: also ONLINE)')
    .option('--property <propertyId>', 'only this property (points-issued, top-members)')
    .option('--limit <n>', `at most this many rows, 1–${MAX_LIMIT} (default: 10 for top-members, 1000 otherwise)`)
    .addOption(new Option('--format <format>', 'output format').choices(REPORT_FORMATS).default('table'))
    .addHelpText('after', [
      '',
      'Reports:',
      ...[...REPORTS.values()].map(r => `  ${r.name.padEnd(16)} ${r.description}`),
      '',
      `Days are UTC calendar days, both ends included, at most ${MAX_RANGE_DAYS} per report. "Issued" is shown gross`,
      '(earnedPoints), taken back (reversedPoints) and net (netPoints). Semantics: docs/reports.md.',
      'Embedded (no REWARDS_DATABASE_URL): run it while `rewards start` is stopped, or use',
      'GET /v1/reports/<name> (scope reports:read) on the running platform.',
      '',
      'Examples:',
      '  rewards report points-issued --from 2026-03-01 --to 2026-03-31 --source HOTEL',
      '  rewards report top-members --limit 20 --format csv > top.csv',
      '  rewards report dlq-codes --format json --database-url postgres://…'
    ].join('\n'))
  withConfigOptions(command)
  command.action(action(ctx, 'report', async (name: string) => {
    const config = configFrom(ctx, command)
    const opts = command.opts<{ from?: string, to?: string, source?: string, property?: string, limit?: string, format: ReportFormat }>()
    const [{ openArchiveDatabase }, { platformTopics }, reports] = await Promise.all([
      import('../archive-database.ts'), import('../../lib/platform-topics.ts'), import('../../processors/reports/index.ts')
    ])
    const raw = { from: opts.from, to: opts.to, source: opts.source, property: opts.property, limit: opts.limit }
    try {
      // Checked before anything is opened: a bad date costs no connection.
      reports.reportParams(reports.reportDefinition(name), raw)
    } catch (error) {
      if (!(error instanceof ReportParamsError)) throw error
      await write(ctx.err, `rewards report ${name}: ${error.message}`)
      return EXIT.FAILED
    }
    if (config.databaseUrl === null && config.kafkaBrokers === null && existsSync(config.logDir)) {
      // The embedded platform holds its log (and PGlite) while it runs: refuse rather than open
      // the same PGlite directory from a second process.
      const { openLogFromConfig } = await import('../../lib/open-log.ts')
      const log = await openLogFromConfig(config).catch((error: unknown) => error as Error)
      if (log instanceof Error) {
        await write(ctx.err, `rewards report: the embedded platform in ${config.dataDir} is running (${log.message}); stop it first, or ask the running platform: GET ${runningPlatformUrl(config)}/v1/reports/${name} (scope reports:read)`)
        return EXIT.FAILED
      }
      await log.close()
    }
    const db = await openArchiveDatabase(config)
    try {
      // Read-only: an archive without its schema is reported, not migrated from here.
      const table = await db.query<{ t: string | null }>("SELECT to_regclass('archive_records')::text AS t")
      if (table.rows[0]?.t === null || table.rows[0]?.t === undefined) {
        await write(ctx.err, `rewards report: the archive has no archive_records table yet (${db.kind === 'pglite' ? `embedded PostgreSQL in ${config.pgDir}` : 'PostgreSQL'}): run \`rewards db migrate\` or start the archiver`)
        return EXIT.FAILED
      }
      const result = await reports.runReport({ db, topics: platformTopics(config) }, name, raw)
      await write(ctx.out, renderReport(result, opts.format))
      return EXIT.OK
    } finally {
      await db.close()
    }
  }))
  return command
}
