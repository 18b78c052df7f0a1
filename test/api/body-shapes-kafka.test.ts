// Every documented body shape end to end over HTTP on the real broker (docs/api.md, "Routes"):
// a single EARN, a single REVERSAL of it, a mixed batch (EARN and REVERSAL), a redemption. Each is
// accepted, lands on its topic as the client sent it (same JSON text, key = memberId), and the
// balance read over HTTP reflects it: the REVERSAL takes the points back.
import { pointsInternalTopics } from '../../processors/rewards/points-windows.ts'
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { ensurePlatformTopics, platformTopics } from '../../lib/platform-topics.ts'
import { createKafkaLog } from '../../log/kafka/index.ts'
import { REWARDS_STORES } from '../../processors/rewards/topics.ts'
import { changelogTopicName } from '../../topology/runtime/stream-task.ts'
import { call, eventually, startPlatform, startProcessor } from './api-harness.ts'
import { tailTopic } from './topic-tail.ts'

const PARTITIONS = 2
const now = (offsetMs = 0): string => new Date(Date.now() + offsetMs).toISOString()

t.test('EARN, REVERSAL, a mixed batch and a redemption: HTTP → topic → balance', async t => {
  const brokers = (process.env.REWARDS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
  const run = `apishape${Date.now().toString(36)}`
  const log = createKafkaLog({ brokers, clientId: run })
  const topics = platformTopics({ topicPrefix: `${run}-` })
  await ensurePlatformTopics(log, { topicPrefix: `${run}-`, partitions: PARTITIONS })
  const platform = await startPlatform({ log, topics, applicationId: run })
  const node = await startProcessor(platform, { publicApi: true })
  const rewards = await tailTopic(log, topics.rewardEvents, PARTITIONS)
  const redemptions = await tailTopic(log, topics.redeemEvents, PARTITIONS)
  t.teardown(async () => {
    await rewards.close()
    await redemptions.close()
    await node.close()
    await platform.close()
    await log.admin.deleteTopics([...Object.values(topics), ...Object.values(REWARDS_STORES).map(s => changelogTopicName(run, s)), ...pointsInternalTopics(run)]).catch(() => undefined)
    await log.close()
  })
  const token = await platform.token(['balances:read', 'events:write', 'redemptions:write'])
  const base = node.url
  const alice = `alice-${randomUUID().slice(0, 8)}`
  const bob = `bob-${randomUUID().slice(0, 8)}`
  const event = (memberId: string, eventId: string, source: string, amountCents: number, extra: Record<string, unknown> = {}): Record<string, unknown> =>
    ({ eventId, memberId, source, type: 'EARN', amountCents, currency: 'USD', occurredAt: now(-60_000), propertyId: `${source}-1`, ...extra })

  /** Once the records of these ids are on the topic: each as the client sent it, keyed by member. */
  const onTopic = async (name: string, sent: Array<Record<string, unknown>>, idField: string): Promise<void> => {
    const tail = idField === 'eventId' ? rewards : redemptions
    const ids = new Set(sent.map(s => s[idField]))
    const found = (await tail.until(rs => sent.every(s => rs.some(r => r.value?.toString().includes(JSON.stringify(s[idField]))))))
      .filter(r => ids.has((JSON.parse(r.value!.toString()) as Record<string, unknown>)[idField]))
    // Members' records may sit on different partitions: compare in id order.
    const byId = (a: string[], b: string[]): number => a[1]!.localeCompare(b[1]!)
    t.same(found.map(r => [r.key?.toString() ?? '', r.value?.toString() ?? '']).sort(byId), sent.map(s => [s.memberId as string, JSON.stringify(s)]).sort(byId), `${name}: on ${tail === rewards ? 'reward-events' : 'redeem-events'} as sent`)
  }
  const balanceOf = async (memberId: string, check: (b: Record<string, number>) => boolean): Promise<Record<string, number>> =>
    (await eventually(() => call(`${base}/v1/members/${memberId}/balance`, token), r => r.status === 200 && check(r.body), 60_000)).body

  // A single EARN: HOTEL, 10 points per dollar at MEMBER.
  const earn1 = event(alice, `${run}-e1`, 'HOTEL', 10_000)
  const single = await call(`${base}/v1/events`, token, { body: earn1 })
  t.equal(single.status, 202, 'single EARN accepted')
  t.same(single.body, { accepted: 1, eventIds: [earn1.eventId] })
  await onTopic('single EARN', [earn1], 'eventId')
  t.match(await balanceOf(alice, b => b.events === 1), { earned: 1000, reversed: 0, available: 1000, events: 1 }, 'the EARN is credited')

  // A single REVERSAL of it: the points are taken back.
  const reversal1 = event(alice, `${run}-r1`, 'HOTEL', 10_000, { type: 'REVERSAL', originalEventId: earn1.eventId, occurredAt: now(-30_000) })
  const reversed = await call(`${base}/v1/events`, token, { body: reversal1 })
  t.equal(reversed.status, 202, 'single REVERSAL accepted')
  await onTopic('single REVERSAL', [reversal1], 'eventId')
  t.match(await balanceOf(alice, b => b.events === 2), { earned: 1000, reversed: 1000, available: 0, events: 2 }, 'the REVERSAL takes the points back')

  // A mixed batch: EARNs of two members and a REVERSAL of one of them, in one request.
  const batch = [
    event(bob, `${run}-b1`, 'DINING', 40_000),
    event(alice, `${run}-b2`, 'CASINO', 500_000),
    event(bob, `${run}-b3`, 'DINING', 40_000, { type: 'REVERSAL', originalEventId: `${run}-b1` }),
    event(alice, `${run}-b4`, 'HOTEL', 30_000)
  ]
  const mixed = await call(`${base}/v1/events`, token, { body: batch })
  t.equal(mixed.status, 202, 'mixed batch accepted')
  t.same(mixed.body.eventIds, batch.map(e => e.eventId))
  await onTopic('mixed batch', batch, 'eventId')
  t.match(await balanceOf(bob, b => b.events === 2), { earned: 2000, reversed: 2000, available: 0 }, "bob's EARN and its REVERSAL")
  t.match(await balanceOf(alice, b => b.events === 4), { earned: 1000 + 500 + 3000, reversed: 1000, available: 3500 }, "alice's two EARNs added")

  // A redemption: the decision over HTTP, the balance after it.
  const request = { redemptionId: `${run}-x1`, memberId: alice, points: 1500, rewardCode: 'ROOM-NIGHT', channel: 'ONLINE', requestedAt: now() }
  const decision = await call(`${base}/v1/redemptions`, token, { body: request, headers: { prefer: 'wait=20' } })
  t.equal(decision.status, 200, 'decided within the wait')
  t.equal(decision.body.status, 'CONFIRMED')
  await onTopic('redemption', [request], 'redemptionId')
  t.match(await balanceOf(alice, b => b.redeemed === 1500), { redeemed: 1500, available: 2000 }, 'the redemption is taken from the balance')
})
