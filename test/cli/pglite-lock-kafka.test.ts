// The embedded PostgreSQL is one process at a time, on Kafka too: `rewards start` on the broker
// without REWARDS_DATABASE_URL archives into <data-dir>/pg, and `rewards db status|migrate` run
// beside it were not refused (the embedded log's lock, which they check, is not used on Kafka), so
// a second PGlite opened the directory the archiver was writing (lib/db/pglite-lock.ts says what
// that lost). They are refused now, naming the holder; after a SIGKILL of the platform's process
// group the kernel has dropped the lock and they run.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { runCli, RunningCli, waitForStatus } from './cli-helpers.ts'
import { kafkaPlatformWorld } from './kafka-platform-world.ts'

t.test('rewards db beside a running platform on Kafka with the embedded archive', async t => {
  const { dataDir, env } = kafkaPlatformWorld(t, 'pglite-lock', 2)
  const cli = new RunningCli(['start', '--create-topics'], { cwd: dataDir, env, detached: true })
  t.teardown(() => cli.kill())
  const base = `http://127.0.0.1:${await cli.httpPort(120_000)}`
  await waitForStatus(`${base}/health/ready`, 200, 180_000)
  t.ok(existsSync(join(dataDir, 'pg')), 'the platform opened the embedded PostgreSQL')

  for (const command of [['db', 'status'], ['db', 'migrate']]) {
    const refused = await runCli(command, { cwd: dataDir, env, timeoutMs: 60_000 })
    t.equal(refused.code, 1, `${command.join(' ')} refuses while the platform runs`)
    t.equal(refused.stdout, '', 'prints no result')
    t.match(refused.stderr, new RegExp(`the embedded PostgreSQL .*${join(dataDir, 'pg')}.* is locked by another instance: pid ${cli.child.pid}`), 'names the directory and the platform holding it')
  }
  t.equal((await fetch(`${base}/health/ready`)).status, 200, 'the platform runs on')

  cli.signalGroup('SIGKILL')
  await cli.waitForExit(30_000)
  const status = await runCli(['db', 'status', '--json'], { cwd: dataDir, env, timeoutMs: 120_000 })
  t.equal(status.code, 0, `after the platform died: db status reads the archive ${status.stderr}`)
  t.match(JSON.parse(status.stdout), { pending: 0 })
})
