// `rewards reconcile`: recomputes every member's balance from the PostgreSQL archive in SQL
// (processors/archive/reconcile.ts: docs/contract.md "Earning rules" and "Balances and redemptions"), checks every archived decision against the rules,
// and compares the balances with the `balances` store through the query path: in this process
// (the rewards topology started here, StreamsApplication.store('balances'), when no instance is
// running) or over the HTTP API of the running instances (--api-url). Prints the members that
// differ; exit 1 on any drift or rule violation, 0 when everything matches.
//
// Before comparing, both sides are brought up to date: the in-process processor consumes every
// input record, and the archive catches up (an archiver runs in this process when none is
// running; otherwise it waits for the running one, up to --archive-wait-seconds).
import { Command, InvalidArgumentError, Option } from 'commander'
import { maskUrl, type RewardsConfig } from '../../lib/config.ts'
import { createLogger } from '../../lib/logger.ts'
import { fetchHonouringRetryAfter } from '../../lib/resilience/retry-after.ts'
import { action, configFrom, EXIT, withConfigOptions, write, type CliContext } from '../cli-context.ts'
import { Progress } from '../progress.ts'

export function reconcileCommand (ctx: CliContext): Command {
  const command = new Command('reconcile')
    .description('Recompute every balance from the archive in SQL and compare with the balances store; exit 1 on any drift')
    .option('--api-url <url>', 'compare with the running instances over their HTTP API (GET /v1/members/{id}/balance) instead of starting the processor here')
    .option('--token <jwt>', 'bearer token for --api-url (scope balances:read)')
    .addOption(new Option('--archive-wait-seconds <n>', 'how long to wait for the archive to catch up with the log (the running archiver, or the one started here)').argParser(seconds('--archive-wait-seconds')).default(120))
    .addOption(new Option('--processor-wait-seconds <n>', 'how long the processor started here may take to consume every input record').argParser(seconds('--processor-wait-seconds')).default(1800))
    .option('--ignore-lag', 'compare even when the archive or the processor is behind (expect false drift)')
    .option('--limit <n>', 'print at most this many differing members', '100')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', [
      '',
      'Exit status: 0 everything matches; 1 drift, rule violations, or sides not caught up; 2 bad configuration.',
      '',
      'Examples:',
      '  rewards reconcile                                  # embedded, with the platform stopped',
      '  rewards reconcile --kafka-brokers 127.0.0.1:9092 --database-url postgres://…',
      '  rewards reconcile --api-url http://rewards-api:8080 --token "$TOKEN"',
      'Runbook: docs/runbooks/reconcile.md'
    ].join('\n'))
  withConfigOptions(command)
  command.action(action(ctx, 'reconcile', async () => {
    const config = configFrom(ctx, command)
    const opts = command.opts<{ apiUrl?: string, token?: string, archiveWaitSeconds: number, processorWaitSeconds: number, ignoreLag?: boolean, limit: string, json?: boolean }>()
    const [{ openLogFromConfig }, { rewardsPlatform }, { archiveDatabaseConfig, openDatabase }, { migrate }, { Registry }, support, recon, { startArchiver }, { groupLag }] = await Promise.all([
      import('../../lib/open-log.ts'), import('../rewards-platform.ts'), import('../../lib/db/database.ts'), import('../../lib/db/migrate.ts'),
      import('prom-client'), import('./ops-support.ts'), import('../../processors/archive/reconcile.ts'), import('../../processors/archive/archiver.ts'), import('./lag.ts')
    ])
    const platform = rewardsPlatform(config)
    const topics = platform.topics
    const log = await openLogFromConfig(config, { clientId: `${config.applicationId}-reconcile` }).catch((error: unknown) => error as Error)
    if (log instanceof Error) {
      // The embedded platform holds its log and PGlite while it runs; --api-url does not help
      // there, as the archive side needs PGlite too (as rewards report, cli/commands/report.ts).
      if (config.kafkaBrokers !== null || (log as { code?: unknown }).code !== 'STATE_DIR_LOCKED') throw log
      await write(ctx.err, `rewards reconcile: the embedded platform in ${config.dataDir} is running (${log.message}); stop it first: on the embedded log, reconcile reads the log and the archive itself`)
      return EXIT.FAILED
    }
    const cleanups: Array<() => Promise<void>> = [() => log.close()]
    const note = (line: string): Promise<void> => write(ctx.err, `reconcile: ${line}`)
    try {
      const db = await openArchive(config, async () => {
        const opened = await openDatabase(archiveDatabaseConfig(config))
        cleanups.unshift(() => opened.close())
        await migrate(opened)
        return opened
      })

      // 1. The store side.
      let readStore: (memberIds: string[]) => Promise<Map<string, unknown>>
      let storeListsAll = false
      if (opts.apiUrl === undefined) {
        const group = await log.admin.describeGroup(config.applicationId)
        if (group.members.length > 0) {
          await write(ctx.err, `rewards reconcile: ${group.members.length} instance(s) of "${config.applicationId}" are running: their stores are live there. Use --api-url to compare through their HTTP API, or stop them.`)
          return EXIT.FAILED
        }
        await note(`starting the processor here to query its stores (consuming any input not processed yet, up to ${opts.processorWaitSeconds} s)…`)
        const running = await support.runProcessorUntilCaughtUp({ config, log, platform, registry: new Registry(), progress: new Progress(ctx.err, 'processor'), timeoutMs: opts.processorWaitSeconds * 1000 })
        cleanups.unshift(() => running.close())
        const store = running.app.store<string, unknown>('balances')
        storeListsAll = true
        readStore = async () => new Map(store.range(undefined, undefined).map(kv => [kv.key, kv.value]))
      } else {
        const base = opts.apiUrl.replace(/\/$/, '')
        readStore = async memberIds => {
          const found = new Map<string, unknown>()
          let next = 0
          const worker = async (): Promise<void> => {
            while (next < memberIds.length) {
              const id = memberIds[next++]!
              // Rate limited (429) or briefly unavailable (503: restoring, rebalancing): asked again
              // after the server's Retry-After, a bounded number of times.
              const response = await fetchHonouringRetryAfter(`${base}/v1/members/${encodeURIComponent(id)}/balance`, { headers: opts.token === undefined ? {} : { authorization: `Bearer ${opts.token}` } })
              if (response.status === 404) continue
              if (!response.ok) throw new Error(`GET ${base}/v1/members/${id}/balance answered ${response.status}: ${await response.text()}`)
              found.set(id, await response.json())
            }
          }
          await Promise.all(Array.from({ length: 16 }, worker))
          return found
        }
      }

      // 2. The archive side: caught up with the log, within --archive-wait-seconds.
      const archiverGroup = `${config.applicationId}-archiver`
      const allTopics = Object.values(topics)
      const archiverMembers = (await log.admin.describeGroup(archiverGroup)).members.length
      const waitMs = opts.archiveWaitSeconds * 1000
      let archiveLag: number
      if (archiverMembers === 0) {
        await note(`no archiver running: archiving what is missing from here (up to ${opts.archiveWaitSeconds} s)…`)
        // Its write failures (database down, a row refused) are said, not retried in silence.
        const archiver = startArchiver({ log, db, topics, groupId: archiverGroup, registry: new Registry(), lagIntervalMs: 500, logger: createLogger({ level: 'warn', format: config.logFormat, destination: ctx.err, base: { command: 'reconcile' } }) })
        try {
          const deadline = Date.now() + waitMs
          if (!await untilOrDeadline(archiver.ready, deadline)) {
            await note(`the archiver was given no partition of ${archiverGroup} within ${opts.archiveWaitSeconds} s (is another archiver joining the group?)`)
            archiveLag = Number((await groupLag(log, archiverGroup, allTopics)).totalLag)
          } else {
            const total = Number((await groupLag(log, archiverGroup, allTopics)).totalLag)
            archiveLag = await waitForArchive({ measure: () => archiver.measureLag(), total, deadline, progress: new Progress(ctx.err, 'archive') })
          }
        } finally {
          await archiver.close()
        }
      } else {
        await note(`waiting up to ${opts.archiveWaitSeconds} s for the running archiver (${archiverMembers} member(s) of ${archiverGroup}) to catch up…`)
        const total = Number((await groupLag(log, archiverGroup, allTopics)).totalLag)
        archiveLag = await waitForArchive({ measure: async () => Number((await groupLag(log, archiverGroup, allTopics)).totalLag), total, deadline: Date.now() + waitMs, progress: new Progress(ctx.err, 'archive') })
      }
      if (archiveLag > 0) {
        await note(`the archive is still ${archiveLag} record(s) behind the log after ${opts.archiveWaitSeconds} s`)
        if (opts.ignoreLag !== true) {
          await write(ctx.err, 'rewards reconcile: the archive is not caught up: cannot prove the balances (retry later, raise --archive-wait-seconds, or --ignore-lag to compare anyway)')
          return EXIT.FAILED
        }
        await note('--ignore-lag: comparing anyway (members with recent activity may show as drift)')
      }

      // 3. SQL, then compare.
      const archive = await recon.archiveBalances(db, topics, platform.rules)
      const violations = await recon.ruleViolations(db, topics, platform.rules)
      const unprocessed = await recon.unprocessedInputs(db, topics)
      const store = await readStore([...archive.keys()])
      const members = new Set([...archive.keys(), ...(storeListsAll ? store.keys() : [])])
      const drift = []
      for (const id of [...members].sort()) {
        const d = recon.compareBalance(id, archive.get(id) ?? null, (store.get(id) as never) ?? null)
        if (d !== undefined) drift.push(d)
      }
      const limit = Number(opts.limit)
      const ok = drift.length === 0 && violations.length === 0 && (unprocessed === 0 || opts.ignoreLag === true)
      if (opts.json === true) {
        await write(ctx.out, JSON.stringify({ ok, members: members.size, drift: drift.slice(0, limit), driftCount: drift.length, violations, unprocessedInputs: unprocessed }, null, 2))
      } else {
        const lines = [`reconciled ${members.size} member(s) (archive: ${archive.size}, store: ${storeListsAll ? store.size : 'queried per member'})`]
        for (const d of drift.slice(0, limit)) {
          lines.push(`DRIFT ${d.memberId}: ${d.fields.map(f => d.archive !== null && d.store !== null ? `${f} archive=${JSON.stringify(d.archive[f as keyof typeof d.archive])} store=${JSON.stringify(d.store[f as keyof typeof d.store])}` : f).join(', ')}`)
        }
        if (drift.length > limit) lines.push(`… and ${drift.length - limit} more member(s)`)
        for (const v of violations) lines.push(`RULE ${v.memberId} ${v.id}: ${v.problem}`)
        if (unprocessed > 0) lines.push(`${unprocessed} archived input event(s) have neither a confirmation nor a dead letter (processor or archiver behind?)`)
        lines.push(ok ? 'OK: every balance matches the archive' : `FAILED: ${drift.length} member(s) differ, ${violations.length} rule violation(s)${unprocessed > 0 ? `, ${unprocessed} unprocessed input(s)` : ''}`)
        await write(ctx.out, lines.join('\n'))
      }
      return ok ? EXIT.OK : EXIT.FAILED
    } finally {
      for (const cleanup of cleanups) await cleanup().catch(() => undefined)
    }
  }))
  return command
}

function seconds (flag: string): (value: string) => number {
  return value => {
    if (!/^\d{1,6}$/.test(value)) throw new InvalidArgumentError(`${flag} expects a whole number of seconds`)
    return Number(value)
  }
}

/** Opens and migrates the archive; a failure names the database (password masked). */
async function openArchive<T> (config: RewardsConfig, open: () => Promise<T>): Promise<T> {
  const where = config.databaseUrl === null ? `the embedded PostgreSQL in ${config.pgDir}` : `PostgreSQL at ${maskUrl(config.databaseUrl)}`
  try {
    return await open()
  } catch (error) {
    throw new Error(`cannot open the archive (${where}): ${(error as Error).message}`, { cause: error })
  }
}

/** Resolves true when `promise` settles before `deadline`, false at the deadline. */
async function untilOrDeadline (promise: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise.then(() => true), new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now())) })])
  } finally {
    clearTimeout(timer)
  }
}

/** Polls the archive's lag until 0 or the deadline, showing progress; returns the last lag. */
async function waitForArchive (options: { measure: () => Promise<number>, total: number, deadline: number, progress: Progress }): Promise<number> {
  const { measure, total, deadline, progress } = options
  let lag: number
  try {
    for (;;) {
      lag = await measure()
      progress.update(Math.max(0, total - lag), Math.max(total, lag))
      if (lag === 0) {
        progress.done(Math.max(total, 0))
        return 0
      }
      if (Date.now() >= deadline) return lag
      await new Promise(resolve => setTimeout(resolve, Math.min(500, Math.max(0, deadline - Date.now()))))
    }
  } finally {
    progress.stop()
  }
}
