// The balance fast lane (api/routes/balance-fast-lane.ts, docs/api.md "Balance fast lane") answers
// exactly as the Fastify route does: the same requests sent to two API servers over the same
// processor instance — the lane on, the lane off — get the same status, body and headers (names,
// order and values; Date and a generated x-request-id apart), and count the same metrics. The lane
// serves the happy read (no request reaches Fastify's hooks); every other case reaches Fastify
// untouched: bad id, missing, forged or unverified token, wrong scope, rate limited, If-None-Match,
// a member owned by the other instance, an Accept without JSON, HEAD, a query string, traceparent.
// Real Kafka, two processor instances.
import { Registry } from 'prom-client'
import t from 'tap'
import type { ScopeGuard } from '../../api/auth/require-scope.ts'
import { Readiness } from '../../api/health/readiness.ts'
import { buildServer } from '../../api/ops-server.ts'
import { MemoryCache } from '../../api/cache/shared-cache.ts'
import { publicApi } from '../../api/public-api.ts'
import { GroupOwnerMap } from '../../api/query/group-owner-map.ts'
import type { LocalReader } from '../../api/query/local-reader.ts'
import { MemberQueries } from '../../api/query/member-queries.ts'
import { createKafkaLog } from '../../log/kafka/index.ts'
import { ensurePlatformTopics, platformTopics } from '../../lib/platform-topics.ts'
import { call, earn, eventually, guardsWithRevocationsLoaded, internalTopicsOf, startPlatform, startProcessor, type Platform } from './api-harness.ts'
import { memberTasks } from './member-tasks.ts'
import { comparable, send } from './raw-answer.ts'

interface ApiServer { url: string, registry: Registry, fastifyRequests: () => number, close (): Promise<void> }

/** An API server over processor A's stores, with a hot-balance cache of its own when cacheTtlMs > 0. */
async function apiServer (platform: Platform, guard: ScopeGuard, reader: LocalReader, lane: boolean, rateLimit: { max: number, windowMs: number }, cacheTtlMs = 0, moveRetryMs?: number): Promise<ApiServer> {
  const registry = new Registry()
  const server = buildServer({ readiness: new Readiness(), registry })
  let reached = 0
  server.addHook('onRequest', (_request, _reply, done) => { reached++; done() })
  const owners = new GroupOwnerMap({ log: async () => platform.log, groupId: platform.applicationId, topic: platform.topics.rewardEvents, ttlMs: 500 })
  await server.register(publicApi, {
    settings: { ...platform.settings, balanceFastLane: lane, apiRateLimit: rateLimit, balanceCacheTtlMs: cacheTtlMs },
    guard,
    cache: cacheTtlMs > 0 ? new MemoryCache() : platform.services.cache,
    queries: new MemberQueries({ local: reader, owners, registry, ...(moveRetryMs !== undefined ? { moveRetryMs } : {}) }),
    topics: platform.topics,
    producer: async () => await platform.log.createProducer({ clientId: `lane-${lane}` }),
    registry
  })
  await server.listen({ host: '127.0.0.1', port: 0 })
  return { url: `http://127.0.0.1:${(server.server.address() as { port: number }).port}`, registry, fastifyRequests: () => reached, close: async () => { await server.close() } }
}

/** The metrics both servers count, without the histogram's timings (sums and buckets). */
async function counted (registry: Registry): Promise<string[]> {
  const text = await registry.metrics()
  return text.split('\n').filter(line =>
    line.startsWith('rewards_http_request_duration_seconds_count') || line.startsWith('rewards_api_queries_total') || line.startsWith('rewards_api_rate_limited_total') ||
    line.startsWith('rewards_api_cache_requests_total')
  ).sort()
}

t.test('the fast lane answers as the Fastify route, and hands every other request to it', async t => {
  const brokers = (process.env.REWARDS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
  const run = `lane${Date.now().toString(36)}`
  const log = createKafkaLog({ brokers, clientId: run })
  const topics = platformTopics({ topicPrefix: `${run}-` })
  await ensurePlatformTopics(log, { topicPrefix: `${run}-`, partitions: 4 })
  const platform = await startPlatform({ log, topics, applicationId: run, settings: { balanceCacheTtlMs: 0 } })
  const a = await startProcessor(platform, { publicApi: true, waitRunning: false })
  const b = await startProcessor(platform, { publicApi: false, waitRunning: false })
  const unlimited = { max: 1_000_000, windowMs: 60_000 }
  const limited = { max: 3, windowMs: 60_000 }
  const servers: ApiServer[] = []
  t.teardown(async () => {
    for (const s of servers) await s.close()
    await b.close()
    await a.close()
    await platform.close()
    await log.admin.deleteTopics([...Object.values(topics), ...internalTopicsOf(run)]).catch(() => undefined)
    await log.close()
  })
  // The member tasks only: the points windows' sub-topology has 4 more (test/api/member-tasks.ts).
  const tasks = (): number => { try { return memberTasks(a.app!).length + memberTasks(b.app!).length } catch { return -1 } }
  const settled = await eventually(async () => [a.app!.state, b.app!.state, tasks()], s => s[0] === 'RUNNING' && s[1] === 'RUNNING' && s[2] === 4, 120_000)
  t.same(settled, ['RUNNING', 'RUNNING', 4], 'both processors running, the 4 member tasks assigned')
  const token = await platform.token(['balances:read'])
  const writeOnly = await platform.token(['events:write'])
  const members = Array.from({ length: 12 }, (_, i) => `lane-${i}`)
  t.ok((await call(`${a.url}/v1/events`, writeOnly, { body: members.map(m => earn(m, `${m}-e`, 1000)) })).status < 300, 'events accepted')
  for (const m of members) await eventually(() => call(`${a.url}/v1/members/${m}/balance`, token), r => r.status === 200, 60_000)
  const local = members.filter(m => a.app!.queryMetadataForKey('balances', m).local)
  const remote = members.filter(m => !a.app!.queryMetadataForKey('balances', m).local)
  t.ok(local.length > 0 && remote.length > 0, `members on both instances (${local.length} local, ${remote.length} remote)`)

  // One token check for every server compared, its revocations loaded once (api-harness.ts).
  const { guard } = await guardsWithRevocationsLoaded(platform)
  const lane = await apiServer(platform, guard, a.reader!, true, unlimited)
  servers.push(lane)
  const plain = await apiServer(platform, guard, a.reader!, false, unlimited)
  servers.push(plain)
  const bearer = { authorization: `Bearer ${token}` }
  const unknown = Array.from({ length: 6 }, (_, i) => `nobody-here-${i}`)
  const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`
  // Sent to both servers, so that their rate-limit counts stay equal.
  const etag = (await send(plain.url, `/v1/members/${local[0]}/balance`, bearer)).headers.find(([n]) => n === 'etag')![1]
  await send(lane.url, `/v1/members/${local[0]}/balance`, bearer)
  // Each case: path, headers, method, and whether the lane answers it itself.
  const cases: Array<{ name: string, path: string, headers: Record<string, string>, method?: string, served: boolean }> = [
    ...local.map(m => ({ name: `local member ${m}`, path: `/v1/members/${m}/balance`, headers: bearer, served: true })),
    { name: 'a request id given', path: `/v1/members/${local[0]}/balance`, headers: { ...bearer, 'x-request-id': 'client-id-1' }, served: true },
    { name: 'a malformed request id', path: `/v1/members/${local[0]}/balance`, headers: { ...bearer, 'x-request-id': 'bad id!' }, served: true },
    { name: 'Accept: application/json', path: `/v1/members/${local[0]}/balance`, headers: { ...bearer, accept: 'application/json' }, served: true },
    // Unknown members, some placed here and some on the other instance (forwarded by the lane,
    // the owner's 404 handed to the route: api/routes/balance-handoff.ts).
    ...unknown.map(m => ({ name: `unknown member ${m} (${a.app!.queryMetadataForKey('balances', m).local ? 'here' : 'forwarded'})`, path: `/v1/members/${m}/balance`, headers: bearer, served: false })),
    ...remote.map(m => ({ name: `member owned by the other instance ${m} (forwarded by the lane)`, path: `/v1/members/${m}/balance`, headers: bearer, served: true })),
    { name: 'forwarded, a request id given', path: `/v1/members/${remote[0]}/balance`, headers: { ...bearer, 'x-request-id': 'client-id-1' }, served: true },
    { name: 'bad id', path: '/v1/members/bad!id/balance', headers: bearer, served: false },
    { name: 'id too long', path: `/v1/members/${'x'.repeat(65)}/balance`, headers: bearer, served: false },
    { name: 'percent-encoded id', path: `/v1/members/${local[0]!.replace('-', '%2D')}/balance`, headers: bearer, served: false },
    { name: 'trailing slash', path: `/v1/members/${local[0]}/balance/`, headers: bearer, served: false },
    { name: 'query string', path: `/v1/members/${local[0]}/balance?x=1`, headers: bearer, served: false },
    { name: 'an empty query', path: `/v1/members/${local[0]}/balance?&`, headers: bearer, served: false },
    { name: 'missing token', path: `/v1/members/${local[0]}/balance`, headers: {}, served: false },
    { name: 'two spaces after Bearer', path: `/v1/members/${local[0]}/balance`, headers: { authorization: `Bearer  ${token}` }, served: false },
    { name: 'forged token', path: `/v1/members/${local[0]}/balance`, headers: { authorization: `Bearer ${forged}` }, served: false },
    { name: 'wrong scope', path: `/v1/members/${local[0]}/balance`, headers: { authorization: `Bearer ${writeOnly}` }, served: false },
    { name: 'If-None-Match matching', path: `/v1/members/${local[0]}/balance`, headers: { ...bearer, 'if-none-match': etag }, served: false },
    { name: 'If-None-Match other', path: `/v1/members/${local[0]}/balance`, headers: { ...bearer, 'if-none-match': '"other"' }, served: false },
    { name: 'Accept without JSON', path: `/v1/members/${local[0]}/balance`, headers: { ...bearer, accept: 'text/html' }, served: false },
    { name: 'Accept JSON q=0', path: `/v1/members/${local[0]}/balance`, headers: { ...bearer, accept: 'application/json;q=0' }, served: false },
    { name: 'HEAD', path: `/v1/members/${local[0]}/balance`, headers: bearer, method: 'HEAD', served: false },
    { name: 'POST', path: `/v1/members/${local[0]}/balance`, headers: bearer, method: 'POST', served: false },
    { name: 'traceparent', path: `/v1/members/${local[0]}/balance`, headers: { ...bearer, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, served: false }
  ]
  // The plain server first: a token is then verified before the lane sees it, as in steady state.
  for (const c of cases) {
    const fromPlain = await send(plain.url, c.path, c.headers, c.method)
    const before = lane.fastifyRequests()
    const fromLane = await send(lane.url, c.path, c.headers, c.method)
    const givenId = c.headers['x-request-id'] === 'client-id-1'
    t.same(comparable(fromLane, givenId, fromPlain), comparable(fromPlain, givenId), `${c.name}: same status ${fromPlain.status}, body and headers`)
    t.equal(lane.fastifyRequests() - before, c.served ? 0 : 1, `${c.name}: ${c.served ? 'answered by the lane' : 'handed to Fastify'}`)
  }
  t.same(await counted(lane.registry), await counted(plain.registry), 'the same request histogram series and counts, queries served')

  // Rate limited: the fourth request in the window is refused by Fastify on both servers.
  const laneLimited = await apiServer(platform, guard, a.reader!, true, limited)
  servers.push(laneLimited)
  const plainLimited = await apiServer(platform, guard, a.reader!, false, limited)
  servers.push(plainLimited)
  for (let i = 1; i <= 5; i++) {
    const fromPlain = await send(plainLimited.url, `/v1/members/${local[0]}/balance`, bearer)
    const before = laneLimited.fastifyRequests()
    const fromLane = await send(laneLimited.url, `/v1/members/${local[0]}/balance`, bearer)
    t.same(comparable(fromLane, false, fromPlain), comparable(fromPlain, false), `request ${i} with a limit of 3: same status ${fromPlain.status}, body and headers`)
    t.equal(laneLimited.fastifyRequests() - before, i <= 3 ? 0 : 1, `request ${i}: ${i <= 3 ? 'answered by the lane' : 'handed to Fastify (429)'}`)
  }
  t.same(await counted(laneLimited.registry), await counted(plainLimited.registry), 'rate limited: the same metrics')
  t.match((await counted(laneLimited.registry)).join('\n'), /rewards_api_rate_limited_total\{route="\/v1\/members\/:memberId\/balance"\} 2/, '2 refusals counted')

  // A forwarded member within a limit of 3 (servers of their own: their own counts): the lane
  // answers the first three, the route refuses the 4th and 5th.
  const laneLimitedFwd = await apiServer(platform, guard, a.reader!, true, limited)
  servers.push(laneLimitedFwd)
  const plainLimitedFwd = await apiServer(platform, guard, a.reader!, false, limited)
  servers.push(plainLimitedFwd)
  for (let i = 1; i <= 5; i++) {
    const fromPlain = await send(plainLimitedFwd.url, `/v1/members/${remote[0]}/balance`, bearer)
    const before = laneLimitedFwd.fastifyRequests()
    const fromLane = await send(laneLimitedFwd.url, `/v1/members/${remote[0]}/balance`, bearer)
    t.same(comparable(fromLane, false, fromPlain), comparable(fromPlain, false), `forwarded request ${i} with a limit of 3: same status ${fromPlain.status}, body and headers`)
    t.equal(laneLimitedFwd.fastifyRequests() - before, i <= 3 ? 0 : 1, `forwarded request ${i}: ${i <= 3 ? 'answered by the lane' : 'handed to Fastify (429)'}`)
  }
  t.same(await counted(laneLimitedFwd.registry), await counted(plainLimitedFwd.registry), 'forwarded, rate limited: the same metrics')

  // An owner that cannot be reached (a closed port, no standby, no retry): the lane's forward
  // fails and the route answers its 503 OWNER_UNAVAILABLE, the same on both servers.
  const unreachable = new Proxy(a.reader!, {
    get (target, name) {
      const gone = { local: false, host: '127.0.0.1:1', standbyHosts: [], localStandby: false }
      if (name === 'balanceIfLocal' || name === 'owner') return () => gone
      const value = Reflect.get(target, name) as unknown
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    }
  })
  // Cache off, then on (a miss forwarded by the lane, its failure handed to the route, which
  // counts the miss once).
  for (const cacheTtlMs of [0, 60_000]) {
    const cacheName = cacheTtlMs > 0 ? ', cache on' : ''
    const laneGone = await apiServer(platform, guard, unreachable, true, unlimited, cacheTtlMs, 0)
    servers.push(laneGone)
    const plainGone = await apiServer(platform, guard, unreachable, false, unlimited, cacheTtlMs, 0)
    servers.push(plainGone)
    for (const given of [false, true]) {
      const headers = given ? { ...bearer, 'x-request-id': 'client-id-1' } : bearer
      const fromPlain = await send(plainGone.url, `/v1/members/${remote[0]}/balance`, headers)
      const before = laneGone.fastifyRequests()
      const fromLane = await send(laneGone.url, `/v1/members/${remote[0]}/balance`, headers)
      t.equal(fromPlain.status, 503, `owner unreachable${cacheName}: 503`)
      t.same(comparable(fromLane, given, fromPlain), comparable(fromPlain, given), `owner unreachable${cacheName}${given ? ', a request id given' : ''}: same status, body and headers`)
      t.equal(laneGone.fastifyRequests() - before, 1, `owner unreachable${cacheName}: the outcome handed to the route`)
    }
    t.same(await counted(laneGone.registry), await counted(plainGone.registry), `owner unreachable${cacheName}: the same metrics`)
  }

  // The in-process hot-balance cache on (a cache per server): a miss read from the store and
  // cached, then hits — a forwarded member's miss and its cached answer included — as the route
  // answers them.
  const laneCached = await apiServer(platform, guard, a.reader!, true, unlimited, 60_000)
  servers.push(laneCached)
  const plainCached = await apiServer(platform, guard, a.reader!, false, unlimited, 60_000)
  servers.push(plainCached)
  const cachedCases = [
    ...local.slice(0, 2).map(m => ({ member: m, served: [true, true] })),
    ...remote.slice(0, 2).map(m => ({ member: m, served: [true, true] })),
    { member: 'nobody-here-1', served: [false, false] }
  ]
  for (const c of cachedCases) {
    for (const [i, served] of c.served.entries()) {
      const fromPlain = await send(plainCached.url, `/v1/members/${c.member}/balance`, bearer)
      const before = laneCached.fastifyRequests()
      const fromLane = await send(laneCached.url, `/v1/members/${c.member}/balance`, bearer)
      t.same(comparable(fromLane, false, fromPlain), comparable(fromPlain, false), `cache on, ${c.member} read ${i + 1}: same status ${fromPlain.status}, x-cache ${fromPlain.headers.find(([n]) => n === 'x-cache')?.[1]}, body and headers`)
      t.equal(laneCached.fastifyRequests() - before, served ? 0 : 1, `cache on, ${c.member} read ${i + 1}: ${served ? 'answered by the lane' : 'handed to Fastify'}`)
    }
  }
  t.same(await counted(laneCached.registry), await counted(plainCached.registry), 'cache on: the same metrics (cache hits and misses included)')
})
