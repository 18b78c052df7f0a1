// The embedded default, end to end through the command line with no configuration: `rewards start`
// archives to the embedded PostgreSQL (PGlite in ./data/pg, same migrations as PostgreSQL); while
// it runs, `rewards reconcile` refuses saying so (the log and PGlite are single-process); then,
// with the platform stopped, `rewards reconcile` catches both sides up in-process and exits 0,
// and `rewards db status` shows every migration applied.
import { join } from 'node:path'
import t from 'tap'
import { openDatabase } from '../../lib/db/database.ts'
import { listMigrations } from '../../lib/db/migrate.ts'
import { cleanEnv, runCli, RunningCli, waitForStatus } from './cli-helpers.ts'
import { waitFor } from '../archive/archive-helpers.ts'

t.test('embedded: start archives to PGlite; reconcile exits 0; db status all applied', async t => {
  const cwd = t.testdir({})
  const env = cleanEnv()
  const demo = await runCli(['demo', '--count', '600', '--rate', '0', '--members', '60', '--seed', '3'], { cwd, env, timeoutMs: 120_000 })
  t.equal(demo.code, 0, 'demo load on the embedded log')

  const cli = new RunningCli(['start', '--http-port', '0'], { cwd, env })
  t.teardown(() => cli.kill())
  const port = await cli.httpPort(90_000)
  const ready = await waitForStatus(`http://127.0.0.1:${port}/health/ready`, 200, 120_000)
  t.match(await ready.json(), { checks: { archiver: { ready: true, detail: /archiving; PostgreSQL circuit CLOSED/ } } })
  t.ok(cli.lines.some(l => /database schema migrated \(1-archive-records/.test(l.msg)), 'migrations applied on start')
  await waitFor('rows archived', async () => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    const rows = [...text.matchAll(/^rewards_archive_rows_total\{topic="([^"]+)"\} (\d+)/gm)]
    return rows.some(m => m[1] === 'reward-confirmed' && Number(m[2]) > 0)
  }, 120_000, 500)
  const whileRunning = await runCli(['reconcile'], { cwd, env, timeoutMs: 60_000 })
  t.equal(whileRunning.code, 1, 'reconcile refuses while the embedded platform runs')
  t.match(whileRunning.stderr, /^rewards reconcile: the embedded platform in .* is running \(.*\); stop it first/)
  cli.child.kill('SIGTERM')
  t.match(await cli.waitForExit(60_000), { code: 0 }, 'graceful stop')

  const reconcile = await runCli(['reconcile'], { cwd, env, timeoutMs: 180_000 })
  if (reconcile.code !== 0) t.comment(reconcile.stdout, reconcile.stderr)
  t.equal(reconcile.code, 0, 'reconcile exits 0')
  t.match(reconcile.stdout, /OK: every balance matches the archive/)

  const status = await runCli(['db', 'status', '--json'], { cwd, env })
  t.equal(status.code, 0, 'db status: nothing pending')
  const report = JSON.parse(status.stdout) as { migrations: Array<{ version: number, appliedAt: string | null }>, pending: number }
  t.same(report.migrations.map(m => m.version), listMigrations().map(m => m.version))
  t.equal(report.pending, 0)

  const db = await openDatabase({ dataDir: join(cwd, 'data') })
  t.teardown(() => db.close())
  t.equal(db.kind, 'pglite')
  const kinds = await db.query<{ kind: string, n: number }>('SELECT kind, count(*)::int AS n FROM archive_records GROUP BY kind ORDER BY kind')
  const byKind = Object.fromEntries(kinds.rows.map(r => [r.kind, r.n]))
  t.equal((byKind['reward-event'] ?? 0) + (byKind['redeem-event'] ?? 0), 600, 'every input archived once')
  t.ok((byKind['reward-confirmed'] ?? 0) > 0 && (byKind['redeem-confirmed'] ?? 0) > 0, `outputs archived: ${JSON.stringify(byKind)}`)
})
