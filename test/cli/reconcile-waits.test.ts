// `rewards reconcile` never hangs: every wait is bounded by its flag and says what it waits for
// (docs/cli.md "rewards reconcile"). The archive database unreachable at start, the database lost
// while the archive catches up, and an archiver that does not catch up, with and without
// --ignore-lag: each ends within its bound with a clear message and exit 1 (or compares, with
// --ignore-lag).
import t, { type Test } from 'tap'
import { TcpProxy } from '../archive/tcp-proxy.ts'
import { cleanEnv, freePort, rewardEvent, runCli, RunningCli } from './cli-helpers.ts'
import { kafkaPlatformWorld, type KafkaPlatformWorld } from './kafka-platform-world.ts'

const databaseUrl = new URL(process.env.REWARDS_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test')

async function withRecords (t: Test, world: KafkaPlatformWorld, members: string[]): Promise<void> {
  const created = await runCli(['topics', 'create'], { env: world.env, cwd: world.dataDir })
  t.equal(created.code, 0, `topics created\n${created.stderr}`)
  const producer = await world.log.createProducer({ clientId: `${world.appId}-test-producer` })
  try {
    await producer.send(members.map((member, i) => ({ topic: `${world.prefix}reward-events`, key: Buffer.from(member), value: rewardEvent(member, `e-${i}`, 10_000) })))
  } finally {
    await producer.close()
  }
}

t.test('the archive database unreachable: a clear message, exit 1, within seconds', async t => {
  const port = await freePort() // closed: nothing listens there
  const started = Date.now()
  const result = await runCli(['reconcile', '--database-url', `postgres://rewards:s3cret@127.0.0.1:${port}/rewards`], { cwd: t.testdir({}), env: cleanEnv(), timeoutMs: 60_000 })
  t.equal(result.code, 1, 'exit 1')
  t.match(result.stderr, `rewards reconcile: cannot open the archive (PostgreSQL at postgres://rewards:***@127.0.0.1:${port}/rewards): `, 'says which database, password masked')
  t.match(result.stderr, /ECONNREFUSED/, 'and why')
  t.notMatch(result.stderr, /s3cret/, 'never the password')
  t.ok(Date.now() - started < 45_000, `ended in ${Date.now() - started} ms`)
})

t.test('the database lost while the archive catches up: ends after --archive-wait-seconds, exit 1', async t => {
  const world = kafkaPlatformWorld(t, 'reconcile-db-lost', 1)
  await withRecords(t, world, ['M-1', 'M-2'])
  const proxy = new TcpProxy(databaseUrl.hostname, Number(databaseUrl.port || 5432))
  const proxied = new URL(databaseUrl)
  proxied.port = String(await proxy.listen())
  t.teardown(() => proxy.close())
  const cli = new RunningCli(['reconcile', '--database-url', proxied.toString(), '--archive-wait-seconds', '3'], { cwd: world.dataDir, env: world.env })
  t.teardown(() => cli.kill())
  // Migrated: the database is lost before the archive catches up.
  await waitForStderr(cli, /starting the processor here/)
  proxy.cut()
  const exit = await cli.waitForExit(120_000)
  t.same(exit, { code: 1, signal: null }, 'exit 1', { stderr: cli.stderr.slice(-2000) })
  t.match(cli.stderr, /no archiver running: archiving what is missing from here \(up to 3 s\)/, 'says what it waits for, and how long')
  t.match(cli.stderr, /archive write failed/, 'says why the archive does not move')
  t.match(cli.stderr, /the archive is still \d+ record\(s\) behind the log after 3 s/)
  t.match(cli.stderr, /the archive is not caught up: cannot prove the balances/)
})

t.test('a running archiver that does not catch up: refused without --ignore-lag, compared with it', async t => {
  const world = kafkaPlatformWorld(t, 'reconcile-lag', 1)
  await withRecords(t, world, ['M-1'])
  // A member of the archiver's group that reads and never archives nor commits.
  let joined: () => void = () => {}
  const member = new Promise<void>(resolve => { joined = resolve })
  const stalled = world.log.createGroupConsumer({ groupId: `${world.appId}-archiver`, clientId: `${world.appId}-stalled`, topics: [`${world.prefix}reward-events`], listener: { async onPartitionsAssigned () { joined() }, async onPartitionsRevoked () {}, async onPartitionsLost () {} } })
  let polling = true
  const loop = (async () => { while (polling) await stalled.poll(200) })()
  t.teardown(async () => { polling = false; await loop; await stalled.close() })
  await member

  const env = { ...world.env, REWARDS_DATABASE_URL: databaseUrl.toString() }
  const refused = await runCli(['reconcile', '--archive-wait-seconds', '2'], { cwd: world.dataDir, env, timeoutMs: 180_000 })
  t.equal(refused.code, 1, 'exit 1')
  t.match(refused.stderr, /waiting up to 2 s for the running archiver \(1 member\(s\) of /, 'says what it waits for')
  t.match(refused.stderr, /the archive is still \d+ record\(s\) behind the log after 2 s/)
  t.match(refused.stderr, /the archive is not caught up: cannot prove the balances/)
  t.notMatch(refused.stdout, /reconciled/, 'nothing compared')

  const compared = await runCli(['reconcile', '--archive-wait-seconds', '2', '--ignore-lag', '--json'], { cwd: world.dataDir, env, timeoutMs: 180_000 })
  t.match(compared.stderr, /--ignore-lag: comparing anyway/)
  const report = JSON.parse(compared.stdout) as { members: number, driftCount: number }
  t.equal(report.members, 1, 'compared: the member the store has')
  t.equal(report.driftCount, 1, 'which the archive lacks (the archiver is behind): drift, exit 1')
  t.equal(compared.code, 1)
})

/** Resolves once the child's stderr matches `pattern` (its output is plain text, not log lines). */
function waitForStderr (cli: RunningCli, pattern: RegExp, timeoutMs = 120_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (pattern.test(cli.stderr)) done(resolve)
    }
    const timer = setTimeout(() => done(() => reject(new Error(`no ${String(pattern)} within ${timeoutMs} ms\n${cli.stderr}`))), timeoutMs)
    const exited = (): void => done(() => reject(new Error(`exited before ${String(pattern)}\n${cli.stderr}`)))
    const done = (then: () => void): void => {
      clearTimeout(timer)
      cli.child.stderr!.off('data', check)
      cli.child.off('exit', exited)
      then()
    }
    // After RunningCli's own listener, which appends the chunk to cli.stderr.
    cli.child.stderr!.on('data', check)
    cli.child.once('exit', exited)
    check()
  })
}
