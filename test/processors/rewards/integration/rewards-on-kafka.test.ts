// Integration: the rewards topology on the real Kafka broker under exactly-once, fed with 50 000
// seeded demo events. Half-way through, the instance is closed and a new one starts on a WIPED
// state directory (stores restored from their changelogs). Afterwards: every output exists
// exactly once, and every balance equals the independent reference model's.
//
// REWARDS_KAFKA_BROKERS (default 127.0.0.1:9092); REWARDS_IT_EVENTS overrides the event count.
import { pointsInternalTopics } from '../../../../processors/rewards/points-windows.ts'
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createKafkaLog } from '../../../../log/kafka/index.ts'
import type { Log, LogRecord, TopicPartition } from '../../../../log/log-port.ts'
import { StreamsApplication } from '../../../../topology/streams-application.ts'
import {
  buildRewardsTopology, defaultRuleSet, REWARDS_STORES, REWARDS_TOPICS,
  type Balance, type RedeemConfirmed, type RewardConfirmed, type RewardsTopics
} from '../../../../processors/rewards/index.ts'
import { demoRecords } from '../../../../processors/rewards/demo/index.ts'
import { canonical, ReferenceModel } from '../reference-model.ts'

const brokers = (process.env.REWARDS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
const EVENTS = Number(process.env.REWARDS_IT_EVENTS ?? 50_000)
const PARTITIONS = 6
const SEED = 2026
const MEMBERS = 3000
/** Engine defaults. Earlier engine versions needed smaller commits (a commit over the broker's
 *  1 MiB limit was refused: the Kafka backend now splits it) and a long maxTaskIdleMs (a sparse
 *  partition was processed ahead of a lagging one: the engine now waits for partitions known to
 *  lag, KIP-695). REWARDS_IT_MAX_TASK_IDLE_MS still overrides, to experiment. */
const SMALL_COMMITS = {}
const IDLE = process.env.REWARDS_IT_MAX_TASK_IDLE_MS ? { maxTaskIdleMs: Number(process.env.REWARDS_IT_MAX_TASK_IDLE_MS) } : {}

async function readAll (log: Log, topic: string, done: (n: number) => boolean, timeoutMs: number, app?: StreamsApplication): Promise<LogRecord[]> {
  const reader = log.createPartitionReader({ clientId: `it-reader-${topic}` })
  const tps: TopicPartition[] = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }))
  reader.assign(tps.map(tp => ({ ...tp, offset: 0n })))
  const all: LogRecord[] = []
  const deadline = Date.now() + timeoutMs
  try {
    while (!done(all.length)) {
      if (app?.state === 'ERROR') throw new Error(`application failed: ${(app.error as Error | undefined)?.stack ?? String(app.error)}`)
      if (Date.now() > deadline) throw new Error(`timed out reading ${topic}: ${all.length} records (application ${app?.state ?? '?'})`)
      all.push(...await reader.poll(200))
    }
    return all
  } finally {
    await reader.close()
  }
}

t.test(`${EVENTS} demo events, exactly-once on Kafka, restart on a wiped state dir: balances equal the reference model`, async t => {
  const id = `it-rewards-${Date.now().toString(36)}`
  const prefix = `${id}.`
  const topics: RewardsTopics = Object.fromEntries(Object.entries(REWARDS_TOPICS).map(([k, v]) => [k, prefix + v])) as unknown as RewardsTopics
  const applicationId = id
  const log = await createKafkaLog({ brokers, clientId: id })
  const state = mkdtempSync(join(tmpdir(), 'rewards-it-'))
  t.teardown(async () => {
    const changelogs = [...Object.values(REWARDS_STORES).map(s => `${applicationId}-${s}-changelog`), ...pointsInternalTopics(applicationId)]
    await log.admin.deleteTopics([...Object.values(topics), ...changelogs]).catch(() => undefined)
    await log.close()
    rmSync(state, { recursive: true, force: true })
  })
  await log.admin.createTopics(Object.values(topics).map(name => ({ name, partitions: PARTITIONS })))

  // The history and what the spec says it must produce.
  const records = demoRecords({ seed: SEED, members: MEMBERS, count: EVENTS, startTimeMs: Date.parse('2026-03-01T00:00:00Z'), meanGapMs: 2000 })
  const model = new ReferenceModel()
  for (const r of records) model.apply({ topic: r.topic as 'reward-events', key: r.key, value: r.value })
  const expected = {
    rewards: model.outcomes.filter(o => o.kind === 'reward').length,
    redeems: model.outcomes.filter(o => o.kind === 'redeem').length,
    rewardDlq: model.outcomes.filter(o => o.kind === 'dlq' && o.topic === 'reward-events').length,
    redeemDlq: model.outcomes.filter(o => o.kind === 'dlq' && o.topic === 'redeem-events').length
  }
  t.comment(`expected: ${JSON.stringify(expected)}, ${model.balances.size} balances`)

  // Publish everything first (so each task can order the two inputs by event time).
  const producer = await log.createProducer({ clientId: `${id}-producer` })
  for (let i = 0; i < records.length; i += 1000) {
    await producer.send(records.slice(i, i + 1000).map(r => ({
      topic: r.topic === REWARDS_TOPICS.rewardEvents ? topics.rewardEvents : topics.redeemEvents,
      key: Buffer.from(r.key),
      value: Buffer.from(r.value),
      timestamp: r.timestamp
    })))
  }
  await producer.close()

  const start = async (): Promise<StreamsApplication> => {
    const app = new StreamsApplication(buildRewardsTopology({ rules: defaultRuleSet(), topics }), {
      log,
      config: { applicationId, stateDir: state, processingGuarantee: 'exactly_once_v2', ...SMALL_COMMITS, ...IDLE }
    })
    await app.start()
    await app.waitForState('RUNNING', 120_000)
    return app
  }

  const startedMs = Date.now()
  const first = await start()
  // Let it get part of the way, then stop it and throw its local state away.
  await readAll(log, topics.rewardConfirmed, n => n >= expected.rewards / 2, 240_000, first)
  await first.close()
  rmSync(state, { recursive: true, force: true })
  const second = await start()
  t.teardown(() => second.close())

  const rewardOut = await readAll(log, topics.rewardConfirmed, n => n >= expected.rewards, 240_000, second)
  const redeemOut = await readAll(log, topics.redeemConfirmed, n => n >= expected.redeems, 120_000)
  const rewardDlq = await readAll(log, topics.rewardEventsDlq, n => n >= expected.rewardDlq, 60_000)
  const redeemDlq = await readAll(log, topics.redeemEventsDlq, n => n >= expected.redeemDlq, 60_000)
  const elapsedMs = Date.now() - startedMs
  t.comment(`processed ${EVENTS} events in ${elapsedMs} ms (${Math.round(EVENTS / elapsedMs * 1000)} events/s including a restart and restore)`)
  // Give a little time for anything extra (a duplicate would show up here).
  await new Promise(resolve => setTimeout(resolve, 2000))
  const [rewardAgain, redeemAgain] = await Promise.all([
    readAll(log, topics.rewardConfirmed, n => n >= rewardOut.length, 30_000),
    readAll(log, topics.redeemConfirmed, n => n >= redeemOut.length, 30_000)
  ])

  // Exactly once: one output per accepted eventId / redemptionId, none extra.
  t.equal(rewardAgain.length, expected.rewards, 'reward-confirmed: one record per accepted event')
  t.equal(redeemAgain.length, expected.redeems, 'redeem-confirmed: one record per redemption')
  t.equal(rewardDlq.length, expected.rewardDlq, 'reward-events-dlq count')
  t.equal(redeemDlq.length, expected.redeemDlq, 'redeem-events-dlq count')
  const rewardIds = new Set(rewardOut.map(r => { const v = JSON.parse(r.value!.toString()) as RewardConfirmed; return `${v.memberId}:${v.eventId}` }))
  const redeemIds = new Set(redeemOut.map(r => { const v = JSON.parse(r.value!.toString()) as RedeemConfirmed; return `${v.memberId}:${v.redemptionId}` }))
  t.equal(rewardIds.size, rewardOut.length, 'no eventId confirmed twice')
  t.equal(redeemIds.size, redeemOut.length, 'no redemptionId decided twice')

  // Every balance, from the application's stores (interactive queries), equals the model's.
  const store = second.store<string, Balance>(REWARDS_STORES.balances)
  const actual = new Map(store.range(undefined, undefined, { limit: 1_000_000 }).map(kv => [kv.key, kv.value]))
  t.equal(actual.size, model.balances.size, 'one balance per member with accepted events')
  // Reward-event fields do not depend on how the two inputs interleave (earns and reversals share
  // one partition, redemptions never change them); redemption decisions do (docs/contract.md "Balances and redemptions": event-time
  // order across the two inputs). Checked separately so a failure says which.
  const rewardFields = (b: Balance): string => JSON.stringify([b.earned, b.reversed, b.qualifyingPoints, b.tier, b.events])
  const differing = (same: (a: Balance, b: Balance) => boolean): string[] => {
    const out: string[] = []
    for (const [memberId, wanted] of model.balances) {
      const got = actual.get(memberId)
      if (got === undefined || !same(got, wanted)) out.push(`${memberId}: ${JSON.stringify(got)} vs model ${JSON.stringify(wanted)}`)
    }
    return out
  }
  const rewardDiffs = differing((a, b) => rewardFields(a) === rewardFields(b))
  t.equal(rewardDiffs.length, 0, `earned, reversed, qualifying points, tier and events equal the model${rewardDiffs.length > 0 ? '\n' + rewardDiffs.slice(0, 5).join('\n') : ''}`)
  const allDiffs = differing((a, b) => canonical(a) === canonical(b))
  t.equal(allDiffs.length, 0, `whole balances (redemptions decided in event-time order) equal the model${allDiffs.length > 0 ? ` (${allDiffs.length} of ${model.balances.size} differ)\n` + allDiffs.slice(0, 5).join('\n') : ''}`)
  // Whatever the interleaving, each balance's redeemed is the sum of its CONFIRMED redemptions.
  const confirmedSum = new Map<string, number>()
  for (const r of redeemOut) {
    const v = JSON.parse(r.value!.toString()) as RedeemConfirmed
    if (v.status === 'CONFIRMED') confirmedSum.set(v.memberId, (confirmedSum.get(v.memberId) ?? 0) + v.points)
  }
  t.equal([...actual.values()].filter(b => b.redeemed !== (confirmedSum.get(b.memberId) ?? 0)).length, 0, 'redeemed = sum of confirmed redemptions')

  // And no confirmed redemption left a negative balance.
  const negative = redeemOut.filter(r => { const v = JSON.parse(r.value!.toString()) as RedeemConfirmed; return v.status === 'CONFIRMED' && v.balance.available < 0 })
  t.equal(negative.length, 0, 'available never negative after a redemption')
})
