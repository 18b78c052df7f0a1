// Conflicts are 409 (docs/api.md#conflicts) on the real broker, with Redis and with the
// in-process cache: an API-only instance first, with no processor running (the "before
// processing" window: only the recent-accepts cache knows the ids), then two processors (the
// "after" window: the dedupe entries' digests, read locally or through the owner). Each world has
// topics, application id, members and clients of its own.
import { pointsInternalTopics } from '../../processors/rewards/points-windows.ts'
import { Registry } from 'prom-client'
import t, { type Test } from 'tap'
import { Readiness } from '../../api/health/readiness.ts'
import { buildServer } from '../../api/ops-server.ts'
import { publicApi } from '../../api/public-api.ts'
import { GroupOwnerMap } from '../../api/query/group-owner-map.ts'
import { MemberQueries } from '../../api/query/member-queries.ts'
import { redemptionCacheKey, eventCacheKey } from '../../api/routes/conflicts.ts'
import { ensurePlatformTopics, platformTopics } from '../../lib/platform-topics.ts'
import { createKafkaLog } from '../../log/kafka/index.ts'
import type { Log, LogProducer } from '../../log/log-port.ts'
import { contentDigest } from '../../processors/rewards/content-digest.ts'
import { REWARDS_STORES } from '../../processors/rewards/topics.ts'
import { changelogTopicName } from '../../topology/runtime/stream-task.ts'
import { call, earn, eventually, redeem, startApiOnly, startPlatform, startProcessor, type Instance, type Platform } from './api-harness.ts'
import { memberTasks } from './member-tasks.ts'

const SCOPES = ['balances:read', 'events:write', 'redemptions:write']

async function endOffsets (log: Log, topic: string): Promise<bigint> {
  const [description] = await log.admin.describeTopics([topic])
  const offsets = await log.admin.listOffsets(Array.from({ length: description!.partitions }, (_, partition) => ({ topic, partition })), 'latest')
  return offsets.reduce((sum, o) => sum + o.offset, 0n)
}

function clientIdOf (token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { client_id: string }).client_id
}

/** An API-only instance whose produce waits until `open()`: a request held in flight. */
async function gatedApi (t: Test, platform: Platform): Promise<{ url: string, open: () => void }> {
  const real = await platform.log.createProducer({ clientId: `${platform.applicationId}-gated` })
  let open = (): void => {}
  const gate = new Promise<void>(resolve => { open = resolve })
  const producer: LogProducer = { send: async (records, options) => { await gate; return await real.send(records, options) }, commitTransaction: b => real.commitTransaction(b), abortTransaction: () => real.abortTransaction(), close: () => real.close() }
  const registry = new Registry()
  const server = buildServer({ readiness: new Readiness(), registry })
  const owners = new GroupOwnerMap({ log: async () => platform.log, groupId: platform.applicationId, topic: platform.topics.rewardEvents })
  await server.register(publicApi, { settings: platform.settings, guard: platform.services.guard, cache: platform.services.cache, queries: new MemberQueries({ owners, registry }), topics: platform.topics, producer: async () => producer, registry })
  await server.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { open(); await server.close(); await real.close() })
  return { url: `http://127.0.0.1:${(server.server.address() as { port: number }).port}`, open }
}

async function world (t: Test, cache: 'redis' | 'memory'): Promise<{ run: string, log: Log, platform: Platform, api: Instance, topics: ReturnType<typeof platformTopics> }> {
  const brokers = (process.env.REWARDS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
  const run = `cf${cache[0]}${Date.now().toString(36)}`
  const log = createKafkaLog({ brokers, clientId: run })
  const topics = platformTopics({ topicPrefix: `${run}-` })
  await ensurePlatformTopics(log, { topicPrefix: `${run}-`, partitions: 4 })
  const redisUrl = cache === 'redis' ? (process.env.REWARDS_REDIS_URL ?? 'redis://127.0.0.1:6379') : null
  const platform = await startPlatform({ log, topics, applicationId: run, settings: { apiRateLimit: null }, redisUrl })
  t.equal(platform.services.cache.kind, cache, `the shared cache is ${cache}`)
  const api = await startApiOnly(platform)
  t.teardown(async () => {
    await api.close()
    await platform.close()
    await log.admin.deleteTopics([...Object.values(topics), ...Object.values(REWARDS_STORES).map(s => changelogTopicName(run, s)), ...pointsInternalTopics(run)]).catch(() => undefined)
    await log.close()
  })
  return { run, log, platform, api, topics }
}

async function conflictsOn (t: Test, cache: 'redis' | 'memory'): Promise<void> {
  const { run, log, platform, api, topics } = await world(t, cache)
  const token = await platform.token(SCOPES)
  const m1 = `${run}-m1`
  const m2 = `${run}-m2`
  const m3 = `${run}-m3`
  const e1 = earn(m1, `${run}-e1`, 10_000)
  const e1Other = { ...e1, amountCents: 99_999 }

  // ---- Before processing: no processor runs, so only the recent-accepts record can tell.
  t.equal((await call(`${api.url}/v1/events`, token, { body: e1 })).status, 202, 'first version accepted')
  const reordered = Object.fromEntries(Object.entries(e1).reverse())
  t.equal((await call(`${api.url}/v1/events`, token, { body: reordered })).status, 202, 'the same event again (keys in another order): 202, harmless')
  const before = await call(`${api.url}/v1/events`, token, { body: e1Other })
  t.equal(before.status, 409, 'another body under the eventId, before processing: 409')
  t.equal(before.body.error.code, 'EVENT_ID_CONFLICT')
  t.same(before.body.error.details.conflicts, [{ index: 0, eventId: e1.eventId, memberId: m1, acceptedDigest: contentDigest(e1), sentDigest: contentDigest(e1Other) }], 'both digests')

  // A batch with conflicting items: 409 listing each, nothing published (checked below).
  const e2 = earn(m2, `${run}-e2`, 5_000)
  const batch = await call(`${api.url}/v1/events`, token, { body: [e2, e1Other, earn(m2, `${run}-e3`, 5_000), { ...e2, amountCents: 1 }] })
  t.equal(batch.status, 409, 'a batch with a conflicting item is refused whole')
  t.same(batch.body.error.details.conflicts.map((c: { index: number }) => c.index), [1, 3], 'each conflicting index: an accepted id, and a second version within the batch')

  // A redemption not decided yet (wait=0): the cache refuses other content, for this member or another.
  const r0 = redeem(m1, `${run}-r0`, 100)
  t.equal((await call(`${api.url}/v1/redemptions`, token, { body: r0, headers: { prefer: 'wait=0' } })).status, 202, 'pending')
  const r0Points = await call(`${api.url}/v1/redemptions`, token, { body: { ...r0, points: 200 }, headers: { prefer: 'wait=0' } })
  t.equal(r0Points.status, 409, 'same redemptionId, other points: 409')
  t.equal(r0Points.body.error.code, 'REDEMPTION_ID_CONFLICT')
  t.same(r0Points.body.error.details, { redemptionId: r0.redemptionId, acceptedDigest: contentDigest(r0), sentDigest: contentDigest({ ...r0, points: 200 }) })
  t.equal((await call(`${api.url}/v1/redemptions`, token, { body: { ...r0, channel: 'HOTEL' }, headers: { prefer: 'wait=0' } })).status, 409, 'other channel: 409')
  t.equal((await call(`${api.url}/v1/redemptions`, token, { body: { ...r0, memberId: m2 }, headers: { prefer: 'wait=0' } })).status, 409, 'the id used by another member: 409')
  t.equal((await call(`${api.url}/v1/redemptions`, token, { body: r0, headers: { prefer: 'wait=0' } })).status, 202, 'the same content again: 202 pending as before')

  // Idempotency-Key on a redemption still in flight (no processor: it waits its 3 s).
  const rk = redeem(m1, `${run}-rk`, 100)
  const idemKey = `idem:redemptions:${clientIdOf(token)}:key-1`
  const first = call(`${api.url}/v1/redemptions`, token, { body: rk, headers: { prefer: 'wait=3', 'idempotency-key': '"key-1"' } })
  const marker = await eventually(() => platform.services.cache.get(idemKey), v => v !== null, 3_000)
  t.match(marker, /"in-flight"/, 'the in-flight marker is set before the request runs')
  const inFlight = await call(`${api.url}/v1/redemptions`, token, { body: rk, headers: { prefer: 'wait=0', 'idempotency-key': 'key-1' } })
  t.equal(inFlight.status, 409, 'the same key while the first is in flight: 409')
  t.equal(inFlight.body.error.code, 'IDEMPOTENCY_KEY_IN_FLIGHT')
  t.equal(inFlight.headers.get('retry-after'), '1', 'with Retry-After')
  const reusedInFlight = await call(`${api.url}/v1/redemptions`, token, { body: { ...rk, points: 5 }, headers: { 'idempotency-key': '"key-1"' } })
  t.equal(reusedInFlight.body.error.code, 'IDEMPOTENCY_KEY_REUSED', 'another body under the key: reused, even in flight')
  const firstAnswer = await first
  t.equal(firstAnswer.status, 202, 'undecided within its wait')
  const replay = await call(`${api.url}/v1/redemptions`, token, { body: rk, headers: { 'idempotency-key': 'key-1' } })
  t.equal(replay.status, 202, 'the first answer replayed (the bare token names the same key as the SF string)')
  t.equal(replay.headers.get('idempotent-replayed'), 'true')
  t.equal(replay.headers.get('location'), `/v1/redemptions/${rk.redemptionId}`, 'its headers too')
  t.same(replay.body, firstAnswer.body)

  // Idempotency-Key on events still in flight: the produce is held until the gate opens.
  const gated = await gatedApi(t, platform)
  const eg = earn(`${run}-m4`, `${run}-eg`, 1_000)
  const held = call(`${gated.url}/v1/events`, token, { body: eg, headers: { 'idempotency-key': '"ev-held"' } })
  await eventually(() => platform.services.cache.get(`idem:events:${clientIdOf(token)}:ev-held`), v => v !== null, 3_000)
  const evInFlight = await call(`${api.url}/v1/events`, token, { body: eg, headers: { 'idempotency-key': 'ev-held' } })
  t.same([evInFlight.status, evInFlight.body.error.code, evInFlight.headers.get('retry-after')], [409, 'IDEMPOTENCY_KEY_IN_FLIGHT', '1'], 'events: the same key while the first is in flight, from another instance: 409 + Retry-After')
  gated.open()
  t.equal((await held).status, 202, 'the held request completes')
  const evHeldReplay = await call(`${api.url}/v1/events`, token, { body: eg, headers: { 'idempotency-key': 'ev-held' } })
  t.same([evHeldReplay.status, evHeldReplay.headers.get('idempotent-replayed')], [202, 'true'], 'then replayed')

  // ---- Processors start: the events above are processed.
  const a = await startProcessor(platform, { publicApi: true, waitRunning: false })
  const b = await startProcessor(platform, { publicApi: true, waitRunning: false })
  t.teardown(async () => { await b.close(); await a.close() })
  await eventually(async () => [a.app!.state, b.app!.state, memberTasks(a.app!).length, memberTasks(b.app!).length] as const, s => s[0] === 'RUNNING' && s[1] === 'RUNNING' && s[2] > 0 && s[3] > 0 && s[2] + s[3] === 4, 120_000)
  const m1Balance = await eventually(() => call(`${api.url}/v1/members/${m1}/balance`, token), r => r.status === 200 && r.body.events === 1 && r.body.redeemed === 200, 60_000)
  t.same([m1Balance.body.earned, m1Balance.body.redeemed], [1000, 200], 'e1 counted once with its first amount; r0 and rk decided')

  // Nothing of the refused batch was published: m2's only event is the one sent now.
  t.equal((await call(`${api.url}/v1/events`, token, { body: earn(m2, `${run}-e4`, 2_000) })).status, 202)
  const m2Balance = await eventually(() => call(`${api.url}/v1/members/${m2}/balance`, token), r => r.status === 200, 60_000)
  t.same([m2Balance.body.events, m2Balance.body.earned], [1, 200], 'the refused batch left no trace')
  t.equal((await call(`${api.url}/v1/events`, token, { body: { ...e2, amountCents: 1 } })).status, 202, 'its ids were released: a first version of e2 is accepted now')

  // ---- After processing: the cache forgets (as after 24 h); the dedupe entry's digest decides.
  for (const [name, instance] of [['API-only', api], ['processor A', a], ['processor B', b]] as const) {
    await platform.services.cache.del([eventCacheKey(m1, `${run}-e1`)])
    const after = await call(`${instance.url}/v1/events`, token, { body: e1Other })
    t.equal(after.status, 409, `${name}: another body after processing, from the member's task: 409`)
    t.equal(after.body.error.details.conflicts[0].acceptedDigest, contentDigest(e1), `${name}: the accepted digest comes from the store`)
  }
  await platform.services.cache.del([eventCacheKey(m1, `${run}-e1`)])
  t.equal((await call(`${api.url}/v1/events`, token, { body: [e1, earn(m1, `${run}-e5`, 1_000)] })).status, 202, 'the same body after processing: 202')
  const metrics = await api.registry.metrics()
  t.match(metrics, /rewards_api_queries_total\{route="event_digests",where="forwarded"\} [1-9]/, 'the API-only instance asked the owner')

  // Redemptions decided: the same content gets the decision, nothing re-published.
  const decided = await eventually(() => call(`${api.url}/v1/redemptions/${r0.redemptionId}`, token), r => r.status === 200, 30_000)
  const published = await endOffsets(log, topics.redeemEvents)
  for (const instance of [api, a, b]) {
    const again = await call(`${instance.url}/v1/redemptions`, token, { body: r0 })
    t.equal(again.status, 200, 'the same redemption again: 200')
    t.same(again.body, decided.body, 'with the existing decision (same processedAt: not decided again)')
  }
  t.equal(await endOffsets(log, topics.redeemEvents), published, 'nothing re-published')
  for (const instance of [api, a, b]) {
    await platform.services.cache.del([redemptionCacheKey(`${run}-r0`)])
    const otherMember = await call(`${instance.url}/v1/redemptions`, token, { body: { ...r0, memberId: m3 } })
    t.equal(otherMember.status, 409, 'the id of a decided redemption, by another member, found by id on every instance: 409')
    t.equal(otherMember.body.error.details.acceptedDigest, contentDigest(r0), 'the digest of the accepted request, from the store')
  }
  await platform.services.cache.del([redemptionCacheKey(`${run}-r0`)])
  t.equal((await call(`${a.url}/v1/redemptions`, token, { body: { ...r0, rewardCode: 'SPA' } })).status, 409, 'same member, other reward: 409 from the store')

  // 20 parallel redemptions of 100 points against 1000: exactly 10 CONFIRMED.
  t.equal((await call(`${api.url}/v1/events`, token, { body: earn(m3, `${run}-e6`, 10_000) })).status, 202)
  await eventually(() => call(`${api.url}/v1/members/${m3}/balance`, token), r => r.body?.available === 1000, 60_000)
  const instances = [api, a, b]
  const parallel = await Promise.all(Array.from({ length: 20 }, (_, i) => call(`${instances[i % 3]!.url}/v1/redemptions`, token, {
    body: redeem(m3, `${run}-p${i}`, 100, `2026-03-03T12:00:${String(i).padStart(2, '0')}Z`), headers: { prefer: 'wait=20' }
  })))
  t.same(parallel.map(r => r.status), Array(20).fill(200), 'every decision within the wait')
  t.equal(parallel.filter(r => r.body.status === 'CONFIRMED').length, 10, 'exactly 10 CONFIRMED')
  t.ok(parallel.filter(r => r.body.status === 'REJECTED').every(r => r.body.reason === 'INSUFFICIENT_POINTS'), 'the rest REJECTED for insufficient points')
  const overspend = await call(`${b.url}/v1/redemptions`, token, { body: redeem(m3, `${run}-p20`, 1, '2026-03-03T13:00:00Z'), headers: { prefer: 'wait=20' } })
  t.same([overspend.body.status, overspend.body.balance.available], ['REJECTED', 0], 'overspend rejected; available never negative')

  // Idempotency-Key on events: SF string and bare token, replay, reuse, and one key sent 8 times at once.
  const e7 = earn(m3, `${run}-e7`, 1_000)
  t.equal((await call(`${api.url}/v1/events`, token, { body: e7, headers: { 'idempotency-key': '"ev-key"' } })).status, 202)
  const evReplay = await call(`${a.url}/v1/events`, token, { body: e7, headers: { 'idempotency-key': 'ev-key' } })
  t.same([evReplay.status, evReplay.headers.get('idempotent-replayed')], [202, 'true'], 'replayed, from another instance')
  const evReused = await call(`${b.url}/v1/events`, token, { body: earn(m3, `${run}-e8`, 1_000), headers: { 'idempotency-key': '"ev-key"' } })
  t.equal(evReused.status, 409)
  t.same(evReused.body.error.details, { idempotencyKey: 'ev-key', acceptedDigest: contentDigest(e7), sentDigest: contentDigest(earn(m3, `${run}-e8`, 1_000)) }, 'IDEMPOTENCY_KEY_REUSED with both digests')
  t.equal(evReused.body.error.code, 'IDEMPOTENCY_KEY_REUSED')
  t.equal((await call(`${api.url}/v1/events`, token, { body: e7, headers: { 'idempotency-key': '"bad' } })).status, 400, 'a malformed key: 400')
  const e9 = earn(m3, `${run}-e9`, 1_000)
  const racing = await Promise.all(Array.from({ length: 8 }, (_, i) => call(`${instances[i % 3]!.url}/v1/events`, token, { body: e9, headers: { 'idempotency-key': 'race-1' } })))
  const ran = racing.filter(r => r.status === 202 && r.headers.get('idempotent-replayed') === null)
  const others = racing.filter(r => !ran.includes(r))
  t.equal(ran.length, 1, 'one key sent 8 times at once: exactly one request ran')
  t.ok(others.every(r => (r.status === 202 && r.headers.get('idempotent-replayed') === 'true') || (r.status === 409 && r.body.error.code === 'IDEMPOTENCY_KEY_IN_FLIGHT')), `the others replayed or in flight (${others.map(r => r.status).join(',')})`)

  // Idempotency-Key on a decided redemption: the decision replayed; another body refused.
  const rd = redeem(m3, `${run}-rd`, 1, '2026-03-03T14:00:00Z')
  const rdFirst = await call(`${a.url}/v1/redemptions`, token, { body: rd, headers: { prefer: 'wait=20', 'idempotency-key': '"rd-key"' } })
  t.equal(rdFirst.status, 200)
  const rdReplay = await call(`${b.url}/v1/redemptions`, token, { body: rd, headers: { 'idempotency-key': 'rd-key' } })
  t.same([rdReplay.status, rdReplay.headers.get('idempotent-replayed')], [200, 'true'])
  t.same(rdReplay.body, rdFirst.body, 'the decision replayed')
  const rdReused = await call(`${api.url}/v1/redemptions`, token, { body: { ...rd, points: 2 }, headers: { 'idempotency-key': 'rd-key' } })
  t.same([rdReused.status, rdReused.body.error.code], [409, 'IDEMPOTENCY_KEY_REUSED'])
}

t.test('conflicts are 409, with Redis', async t => { await conflictsOn(t, 'redis') })
t.test('conflicts are 409, with the in-process cache', async t => { await conflictsOn(t, 'memory') })
