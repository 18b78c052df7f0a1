// `rewards start` on the real Kafka broker, under a unique topic prefix and application id:
// --create-topics creates the platform topics, the processor turns events into confirmations,
// `rewards lag` shows the group caught up, SIGTERM exits 0, and `rewards store get` reads the
// stopped instance's balance from its data directory; the processor-only process never opened the
// embedded PostgreSQL. Without the topics (and without
// --create-topics) start fails with a clear message.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { LogRecord } from '../../log/log-port.ts'
import { brokers, cleanEnv, rewardEvent, runCli, RunningCli, unique, waitForStatus } from './cli-helpers.ts'
import { kafkaPlatformWorld } from './kafka-platform-world.ts'

t.test('rewards start on Kafka', async t => {
  const { prefix, appId, dataDir, env, topics, log } = kafkaPlatformWorld(t, 'cli-start', 3)

  const cli = new RunningCli(['start', '--role', 'processor', '--create-topics'], { cwd: dataDir, env })
  t.teardown(() => cli.kill())
  const base = `http://127.0.0.1:${await cli.httpPort()}`
  await waitForStatus(`${base}/health/ready`, 200)
  // A processor-only process does not open the token store to start (docs/api.md "Roles").
  t.notOk(existsSync(join(dataDir, 'pg')), 'no embedded PostgreSQL was opened (no <data-dir>/pg)')
  t.same((await log.admin.describeTopics(topics)).map(d => d.partitions), [3, 3, 3, 3, 3, 3], 'platform topics created with REWARDS_PARTITIONS')
  t.equal((await log.admin.describeTopics([`${appId}-balances-changelog`]))[0]?.partitions, 3, 'the application created its changelogs')

  const producer = await log.createProducer({ clientId: unique('cli-start-producer') })
  await producer.send([
    { topic: `${prefix}reward-events`, key: Buffer.from('K-1'), value: rewardEvent('K-1', 'k-1', 12_345) },
    { topic: `${prefix}reward-events`, key: Buffer.from('K-1'), value: rewardEvent('K-1', 'k-2', 10_000, '2026-03-01T12:30:00Z') },
    { topic: `${prefix}reward-events`, key: Buffer.from('K-1'), value: Buffer.from('{not json') }
  ])
  await producer.close()

  // Two confirmations and one dead letter, read committed.
  const reader = log.createPartitionReader({ clientId: unique('cli-start-reader') })
  reader.assign([0, 1, 2].flatMap(partition => [`${prefix}reward-confirmed`, `${prefix}reward-events-dlq`].map(topic => ({ topic, partition, offset: 0n }))))
  const records: LogRecord[] = []
  const deadline = Date.now() + 60_000
  while (records.length < 3 && Date.now() < deadline) records.push(...await reader.poll(200))
  await reader.close()
  t.equal(records.filter(r => r.topic.endsWith('reward-confirmed')).length, 2, 'two confirmations')
  t.equal(records.filter(r => r.topic.endsWith('reward-events-dlq')).length, 1, 'one dead letter')

  const lag = await runCli(['lag', '--json'], { env, cwd: dataDir })
  t.equal(lag.code, 0, lag.stderr)
  const report = JSON.parse(lag.stdout) as { groups: Array<{ group: string, state: string, members: number, totalLag: string, partitions: Array<{ topic: string, committed: string | null, latest: string }> }> }
  t.equal(report.groups[0]?.group, appId)
  t.equal(report.groups[0]?.members, 1, 'the running instance is a member')
  t.equal(report.groups[0]?.totalLag, '0', 'caught up')
  t.equal(report.groups[0]?.partitions.length, 6, 'both inputs, 3 partitions each')
  const table = await runCli(['lag'], { env, cwd: dataDir })
  t.match(table.stdout, /GROUP\s+TOPIC\s+PARTITION\s+COMMITTED\s+LATEST\s+LAG/)
  t.match(table.stdout, new RegExp(`group ${appId}: state Stable, 1 member\\(s\\), total lag 0`))

  cli.child.kill('SIGTERM')
  t.same(await cli.waitForExit(30_000), { code: 0, signal: null }, 'exit 0 after SIGTERM')

  const got = await runCli(['store', 'get', 'balances', 'K-1'], { env, cwd: dataDir })
  t.equal(got.code, 0, got.stderr)
  t.match(JSON.parse(got.stdout), { memberId: 'K-1', earned: 1234 + 1000, events: 2 })
})

t.test('without the topics and without --create-topics, start fails clearly', async t => {
  const prefix = `${unique('cli-missing')}.`
  const dataDir = t.testdir({})
  const cli = new RunningCli(['start', '--role', 'processor', '--http-port', '0'], {
    cwd: dataDir,
    env: cleanEnv({ REWARDS_KAFKA_BROKERS: brokers.join(','), REWARDS_TOPIC_PREFIX: prefix, REWARDS_APPLICATION_ID: unique('cli-app'), REWARDS_DATA_DIR: dataDir })
  })
  t.teardown(() => cli.kill())
  const exit = await cli.waitForExit(60_000)
  t.same(exit, { code: 1, signal: null })
  t.ok(cli.lines.some(l => l.level === 'error' && /topics missing: .*reward-events.*rewards topics create/.test(l.msg)), 'names the missing topics and the command that creates them', { stderr: cli.stderr.slice(-3000) })
})
