// `rewards db migrate|status` on the embedded default while `rewards start` runs on the same data
// directory: PGlite has no lock of its own, and a second process that opened <data-dir>/pg beside
// the running archiver made the rows that archiver inserted afterwards disappear at its next
// restart (its offsets committed, so never archived again: `rewards reconcile` then reported the
// members as missing in the archive). The commands refuse while the platform runs, as
// `rewards report` does, and work once it has stopped.
import { join } from 'node:path'
import t from 'tap'
import { cleanEnv, runCli, RunningCli, waitForStatus } from './cli-helpers.ts'

t.test('rewards db refuses while the embedded platform runs', async t => {
  const cwd = t.testdir({})
  const env = cleanEnv({ REWARDS_DATA_DIR: join(cwd, 'data'), REWARDS_HTTP_PORT: '0', REWARDS_PARTITIONS: '2' })
  const cli = new RunningCli(['start'], { cwd, env })
  t.teardown(() => cli.kill())
  const base = `http://127.0.0.1:${await cli.httpPort(120_000)}`
  await waitForStatus(`${base}/health/ready`, 200, 180_000)

  for (const command of [['db', 'status'], ['db', 'migrate']]) {
    const refused = await runCli(command, { cwd, env, timeoutMs: 60_000 })
    t.equal(refused.code, 1, `${command.join(' ')} refuses while the platform runs`)
    t.equal(refused.stdout, '', 'prints no result')
    t.match(refused.stderr, /^rewards db (status|migrate): the embedded platform in .* is running .*stop it first/)
  }

  cli.child.kill('SIGTERM')
  t.match(await cli.waitForExit(90_000), { code: 0 }, 'stopped')
  const status = await runCli(['db', 'status', '--json'], { cwd, env, timeoutMs: 120_000 })
  t.equal(status.code, 0, `stopped: db status reads the embedded archive ${status.stderr}`)
  t.match(JSON.parse(status.stdout), { pending: 0 })
  const migrate = await runCli(['db', 'migrate'], { cwd, env, timeoutMs: 120_000 })
  t.equal(migrate.code, 0, `stopped: db migrate runs ${migrate.stderr}`)
  t.match(migrate.stdout, /schema up to date on embedded PostgreSQL/)
  // A platform can start again after it (the command released the log).
  const again = new RunningCli(['start'], { cwd, env })
  t.teardown(() => again.kill())
  await waitForStatus(`http://127.0.0.1:${await again.httpPort(120_000)}/health/ready`, 200, 180_000)
})
