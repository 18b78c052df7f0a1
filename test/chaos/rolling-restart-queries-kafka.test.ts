// Balance queries through a rolling restart (issue 17; docs/engine.md "Interactive queries",
// reads during a task's move): two full platform processes (`rewards start --role all`, one
// standby per task) on the real broker, a client querying balances of random members on the live
// instances continuously (bench/lib/balance-prober.ts), and each instance in turn SIGTERMed,
// started again and ready again. A moving task answers from its standby copy, then from its new
// active while that restores the delta, and a query that falls in a move's gap tries again: no
// 503 at all, and every 200 equals the reference model. The longest pause of processing on a
// partition is printed.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Partitioners } from 'kafkajs'
import t from 'tap'
import { BalanceProber, type ExpectedBalance } from '../../bench/lib/balance-prober.ts'
import { PartitionHeartbeat } from '../../bench/lib/partition-heartbeat.ts'
import { brokers, cleanEnv, clientToken, freePort } from '../cli/cli-helpers.ts'
import { createChaosEnvironment, inputTopics } from './chaos-environment.ts'
import { instanceSpecs, PlatformSupervisor } from './platform-supervisor.ts'
import { RecoveryTimer } from './recovery-timer.ts'
import { buildModel, type InputRecord } from './reference-model.ts'
import { partitionOf } from './traffic-generator.ts'

const PARTITIONS = 4
const MEMBERS = 1000
const INSTANCES = 2
/** After an instance is ready again, before the next one stops (its standbys catch up). */
const SETTLE_MS = 3000

t.test('rolling SIGTERM of two platform processes: no 503, never a wrong balance', async t => {
  const env = await createChaosEnvironment({ brokers, partitions: PARTITIONS, name: 'roll' })
  t.teardown(() => env.close())
  const producer = env.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  const members: string[] = []
  const records: InputRecord[] = []
  const nextOffset = new Map<number, number>()
  const occurredAt = new Date(Date.now() - 3600_000).toISOString()
  const messages = []
  for (let j = 0; j < MEMBERS; j++) {
    const memberId = `${env.tag}-m${j}`
    const value = JSON.stringify({ eventId: `${memberId}-e`, memberId, source: 'HOTEL', type: 'EARN', amountCents: 1000 + j, currency: 'USD', occurredAt, propertyId: 'ROLL' })
    const partition = partitionOf(memberId, PARTITIONS)
    const offset = nextOffset.get(partition) ?? 0
    nextOffset.set(partition, offset + 1)
    members.push(memberId)
    records.push({ partition, offset, key: memberId, value: Buffer.from(value) })
    messages.push({ key: memberId, value })
  }
  await producer.send({ topic: env.topics.rewardEvents, acks: -1, messages })
  await producer.disconnect()
  const expected = new Map<string, ExpectedBalance>()
  for (const [id, member] of buildModel(records, []).members) expected.set(id, member.history.at(-1)!)

  const baseDir = mkdtempSync(join(tmpdir(), 'roll-'))
  const ports: number[] = []
  for (let i = 0; i < INSTANCES; i++) ports.push(await freePort())
  const supervisor = new PlatformSupervisor({
    env: cleanEnv({
      REWARDS_KAFKA_BROKERS: env.brokers.join(','),
      REWARDS_DATABASE_URL: env.databaseUrl,
      REWARDS_APPLICATION_ID: env.applicationId,
      REWARDS_TOPIC_PREFIX: env.topicPrefix,
      REWARDS_PARTITIONS: String(PARTITIONS),
      REWARDS_AUTH_ISSUER: 'http://rewards.roll.invalid',
      REWARDS_API_RATE_LIMIT: 'off',
      REWARDS_NUM_STANDBY_REPLICAS: '1',
      REWARDS_QUERY_MAX_STALENESS_RECORDS: '0'
    }),
    specs: instanceSpecs(baseDir, ports),
    logDir: join(baseDir, 'logs')
  })
  t.teardown(async () => {
    await supervisor.killAll()
    if (t.passing()) rmSync(baseDir, { recursive: true, force: true })
    else t.comment(`instance logs kept in ${supervisor.logDir}`)
  })
  const started = Date.now()
  supervisor.startAll()
  await supervisor.waitAllReady(300_000)
  t.ok(await new RecoveryTimer(env.admin, env.applicationId, inputTopics(env.topics)).measure(started, 300_000) !== null, 'both instances caught up')

  const heartbeat = new PartitionHeartbeat(env.kafka, { tag: env.tag, partitions: PARTITIONS, inputTopic: env.topics.rewardEvents, confirmedTopic: env.topics.rewardConfirmed, intervalMs: 250 })
  await heartbeat.start()
  t.teardown(() => heartbeat.stop())
  let token: string | undefined
  const getToken = async (): Promise<string> => {
    token ??= await clientToken(supervisor.liveUrls()[0]!, env.client.clientId, env.client.clientSecret, 'balances:read')
    return token
  }
  const prober = new BalanceProber({ urls: () => supervisor.liveUrls(), token: getToken, members, expected, concurrency: 4 })
  prober.start()
  t.teardown(() => prober.stop())
  // The standbys are placed by the assignment after both joined; wait for answers from both.
  const warm = Date.now()
  while (prober.answers.length < 200 && Date.now() - warm < 120_000) await new Promise(resolve => setTimeout(resolve, 100))
  await new Promise(resolve => setTimeout(resolve, SETTLE_MS))

  const t0 = Date.now()
  for (let i = 0; i < INSTANCES; i++) {
    const instance = supervisor.instances[i]!
    instance.killing = true // an expected exit: the supervisor must not restart it on its own
    instance.cli!.child.kill('SIGTERM')
    await instance.cli!.waitForExit(120_000)
    supervisor.start(i)
    await supervisor.waitReady(i, 300_000)
    await new Promise(resolve => setTimeout(resolve, SETTLE_MS))
  }
  const t1 = Date.now()
  await prober.stop()
  const whole = prober.window(t0, t1)
  const pauses = heartbeat.maxGaps(t0, t1)
  t.comment(`rolling restart of ${INSTANCES}: ${whole.answers} answers, ${whole.standby} served by a standby, non-200 ${JSON.stringify(whole.byStatus)}, ` +
    `p99 ${whole.p99Ms.toFixed(0)} ms; longest pause of processing on a partition ${(Math.max(...pauses.values()) / 1000).toFixed(1)} s`)
  t.same(prober.wrong.map(w => `${w.memberId} ${w.status} ${w.body}`), [], `no wrong answer in ${prober.answers.length}`)
  t.same(whole.byStatus, {}, `no 503 (nor any other non-200) in ${whole.answers} answers`)
  for (const f of prober.failures.slice(0, 10)) t.comment(`non-200 at +${f.atMs - t0} ms from ${f.url}: ${f.status} ${f.body}`)
  t.equal(whole.standbyBehind, 0, 'every standby answer at lag 0 (bound 0)')
  t.ok(whole.answers > 100, 'queries went on throughout')
  t.same(supervisor.unexpectedExits, [], 'no process exited on its own')
})
