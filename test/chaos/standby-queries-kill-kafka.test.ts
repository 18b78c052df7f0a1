// Balance queries through a kill -9, answered by standby copies (docs/api.md "Answers from
// standby replicas"): two full platform processes (`rewards start --role all`, one standby per
// task) on the real broker, a client querying balances of random members on the live instances
// continuously (bench/lib/balance-prober.ts), and the process group of one instance SIGKILLed.
// Until the group expels the dead instance (its session timeout, 10 s), the survivor answers the
// dead instance's members from its standby copies, at lag 0 and exact: no 503 then. Every 200 of
// the whole run equals the reference model; the 503 window that is left (the rebalance after the
// session timeout) is measured and printed.
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
const MEMBERS = 2000
/** The engine's default session timeout: until then the group still names the dead owner. */
const SESSION_TIMEOUT_MS = 10_000
/** The group consumer heartbeats every min(3 s, timeout / 3): the broker counts the timeout from
 *  the dead member's last heartbeat, up to this long before the kill, so it may expel it (and the
 *  rebalance begin) this much earlier than kill + timeout (seen: 503s from +8.5 s). */
const HEARTBEAT_MS = 3_000

t.test('kill -9 of one of two platform processes: the standby answers, never a wrong balance', async t => {
  const env = await createChaosEnvironment({ brokers, partitions: PARTITIONS, name: 'sbq' })
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
    const value = JSON.stringify({ eventId: `${memberId}-e`, memberId, source: 'HOTEL', type: 'EARN', amountCents: 1000 + j, currency: 'USD', occurredAt, propertyId: 'SBQ' })
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

  const baseDir = mkdtempSync(join(tmpdir(), 'sbq-'))
  const supervisor = new PlatformSupervisor({
    env: cleanEnv({
      REWARDS_KAFKA_BROKERS: env.brokers.join(','),
      REWARDS_DATABASE_URL: env.databaseUrl,
      REWARDS_APPLICATION_ID: env.applicationId,
      REWARDS_TOPIC_PREFIX: env.topicPrefix,
      REWARDS_PARTITIONS: String(PARTITIONS),
      REWARDS_AUTH_ISSUER: 'http://rewards.sbq.invalid',
      REWARDS_API_RATE_LIMIT: 'off',
      REWARDS_NUM_STANDBY_REPLICAS: '1',
      REWARDS_QUERY_MAX_STALENESS_RECORDS: '0'
    }),
    specs: instanceSpecs(baseDir, [await freePort(), await freePort()]),
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

  const t0 = Date.now()
  await supervisor.kill(1)
  let resumed = heartbeat.firstAfter(t0)
  while ([...resumed.values()].some(v => v === null) && Date.now() - t0 < 180_000) {
    await new Promise(resolve => setTimeout(resolve, 200))
    resumed = heartbeat.firstAfter(t0)
  }
  const t1 = Date.now()
  await prober.stop()
  const beforeExpulsion = prober.window(t0, t0 + SESSION_TIMEOUT_MS - HEARTBEAT_MS - 500)
  const whole = prober.window(t0, t1)
  t.comment(`kill -9: ${whole.answers} answers, ${whole.standby} served by a standby, non-200 ${JSON.stringify(whole.byStatus)}, some member got a 503 during ${whole.seconds503.toFixed(1)} s` +
    (whole.firstMs === null ? '' : ` (from +${(whole.firstMs / 1000).toFixed(1)} s to +${(whole.lastMs! / 1000).toFixed(1)} s)`) +
    `; every partition processed again after ${(Math.max(...[...resumed.values()].map(v => v ?? t1 - t0)) / 1000).toFixed(1)} s`)
  t.same(prober.wrong.map(w => `${w.memberId} ${w.status} ${w.body}`), [], `no wrong answer in ${prober.answers.length}`)
  t.ok(beforeExpulsion.standby > 0, `answers served by the standby before the session timeout (${beforeExpulsion.standby})`)
  t.equal(whole.standbyBehind, 0, 'every standby answer at lag 0 (bound 0)')
  t.same(beforeExpulsion.byStatus, {}, `no 503 before the session timeout (${beforeExpulsion.answers} answers)`)
  t.same(supervisor.unexpectedExits, [], 'no process exited on its own')
})
