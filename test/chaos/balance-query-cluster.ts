// The set-up of the chaos tests that query balances while instances go away
// (rolling-restart-queries-kafka.test.ts, standby-queries-kill-kafka.test.ts; docs/api.md
// "Answers from standby replicas"): an isolated chaos environment on the real broker, one earn
// event for each of `members` members (so every balance is known from the reference model),
// full platform processes (`rewards start --role all`) with one standby per task and standby
// answers only at lag 0, started and caught up, a heartbeat per partition (how long processing
// pauses) and a client querying random members' balances on the live instances continuously,
// already answered from both. What each test then does to the instances is its own.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Partitioners } from 'kafkajs'
import type { Test } from 'tap'
import { BalanceProber, type ExpectedBalance } from '../../bench/lib/balance-prober.ts'
import { PartitionHeartbeat } from '../../bench/lib/partition-heartbeat.ts'
import { brokers, cleanEnv, clientToken, freePort } from '../cli/cli-helpers.ts'
import { createChaosEnvironment, inputTopics, type ChaosEnvironment } from './chaos-environment.ts'
import { instanceSpecs, PlatformSupervisor } from './platform-supervisor.ts'
import { RecoveryTimer } from './recovery-timer.ts'
import { buildModel, type InputRecord } from './reference-model.ts'
import { partitionOf } from './traffic-generator.ts'

export interface BalanceQueryClusterOptions {
  /** Names the run: topic prefix, temporary directory, property id, token issuer. */
  readonly name: string
  readonly partitions: number
  readonly members: number
  readonly instances: number
}

export interface BalanceQueryCluster {
  readonly env: ChaosEnvironment
  readonly supervisor: PlatformSupervisor
  readonly heartbeat: PartitionHeartbeat
  readonly prober: BalanceProber
}

/** Starts it all; everything started is stopped by `t`'s teardown (instance logs are kept when
 *  the test fails). */
export async function startBalanceQueryCluster (t: Test, options: BalanceQueryClusterOptions): Promise<BalanceQueryCluster> {
  const { name, partitions } = options
  const env = await createChaosEnvironment({ brokers, partitions, name })
  t.teardown(() => env.close())
  const { members, expected } = await seedMembers(env, options)

  const baseDir = mkdtempSync(join(tmpdir(), `${name}-`))
  const ports: number[] = []
  for (let i = 0; i < options.instances; i++) ports.push(await freePort())
  const supervisor = new PlatformSupervisor({
    env: cleanEnv({
      REWARDS_KAFKA_BROKERS: env.brokers.join(','),
      REWARDS_DATABASE_URL: env.databaseUrl,
      REWARDS_APPLICATION_ID: env.applicationId,
      REWARDS_TOPIC_PREFIX: env.topicPrefix,
      REWARDS_PARTITIONS: String(partitions),
      REWARDS_AUTH_ISSUER: `http://rewards.${name}.invalid`,
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
  t.ok(await new RecoveryTimer(env.admin, env.applicationId, inputTopics(env.topics)).measure(started, 300_000) !== null, 'all instances caught up')

  const heartbeat = new PartitionHeartbeat(env.kafka, { tag: env.tag, partitions, inputTopic: env.topics.rewardEvents, confirmedTopic: env.topics.rewardConfirmed, intervalMs: 250 })
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
  // The standbys are placed by the assignment after all joined; wait for answers from them.
  const warm = Date.now()
  while (prober.answers.length < 200 && Date.now() - warm < 120_000) await new Promise(resolve => setTimeout(resolve, 100))
  return { env, supervisor, heartbeat, prober }
}

/** One earn event per member, and each member's balance after it by the reference model. */
async function seedMembers (env: ChaosEnvironment, options: BalanceQueryClusterOptions): Promise<{ members: string[], expected: Map<string, ExpectedBalance> }> {
  const producer = env.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  const members: string[] = []
  const records: InputRecord[] = []
  const nextOffset = new Map<number, number>()
  const occurredAt = new Date(Date.now() - 3600_000).toISOString()
  const propertyId = options.name.toUpperCase()
  const messages = []
  for (let j = 0; j < options.members; j++) {
    const memberId = `${env.tag}-m${j}`
    const value = JSON.stringify({ eventId: `${memberId}-e`, memberId, source: 'HOTEL', type: 'EARN', amountCents: 1000 + j, currency: 'USD', occurredAt, propertyId })
    const partition = partitionOf(memberId, options.partitions)
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
  return { members, expected }
}
