// Per-client rate limits of the /v1 routes (@fastify/rate-limit, api/routes/rate-limit.ts):
// counted per client and route, shared by every API instance through Redis, per instance without
// it or while it is down; beyond the limit 429 RATE_LIMITED (a problem) with Retry-After and
// RateLimit-* headers, counted in rewards_api_rate_limited_total{route}. Another client, or
// another route, is not affected.
// No processor runs: the balance route answers 503 (no owner). The API instances answer it at once
// (moveRetryMs 0) instead of retrying a task's move for up to 3 s: the limit is what is tested here.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import t, { type Test } from 'tap'
import { Readiness } from '../../api/health/readiness.ts'
import { buildServer } from '../../api/ops-server.ts'
import { publicApi } from '../../api/public-api.ts'
import { GroupOwnerMap } from '../../api/query/group-owner-map.ts'
import { MemberQueries } from '../../api/query/member-queries.ts'
import { openEmbeddedLog } from '../../log/embedded/index.ts'
import { ensurePlatformTopics } from '../../lib/platform-topics.ts'
import { REWARDS_TOPICS } from '../../processors/rewards/index.ts'
import { TcpProxy } from '../archive/tcp-proxy.ts'
import { call, eventually, startPlatform, type Platform } from './api-harness.ts'

const REDIS_URL = process.env.REWARDS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const LIMIT = { max: 5, windowMs: 60_000 }

interface ApiInstance { readonly url: string, readonly registry: Registry, close (): Promise<void> }

/** An API-only instance (as api-harness.ts startApiOnly) whose queries answer 503 at once. */
async function startApiOnly (platform: Platform): Promise<ApiInstance> {
  const registry = new Registry()
  const server = buildServer({ readiness: new Readiness(), registry })
  const producer = platform.log.createProducer({ clientId: `rl-${randomUUID()}` })
  const owners = new GroupOwnerMap({ log: async () => platform.log, groupId: platform.applicationId, topic: platform.topics.rewardEvents, ttlMs: 500 })
  await server.register(publicApi, {
    settings: platform.settings, guard: platform.services.guard, cache: platform.services.cache,
    queries: new MemberQueries({ owners, registry, moveRetryMs: 0 }), topics: platform.topics, producer: () => producer, registry
  })
  await server.listen({ host: '127.0.0.1', port: 0 })
  return {
    url: `http://127.0.0.1:${(server.server.address() as { port: number }).port}`,
    registry,
    async close () {
      await server.close()
      await (await producer).close()
    }
  }
}

async function setUp (t: Test, redisUrl: string | null): Promise<{ platform: Platform, a: ApiInstance, b: ApiInstance }> {
  const dir = mkdtempSync(join(tmpdir(), 'api-ratelimit-'))
  const log = await openEmbeddedLog({ dir })
  await ensurePlatformTopics(log, { topicPrefix: '', partitions: 2 })
  const platform = await startPlatform({ log, topics: REWARDS_TOPICS, applicationId: `rl-${Date.now()}`, settings: { apiRateLimit: LIMIT }, redisUrl })
  const a = await startApiOnly(platform)
  const b = await startApiOnly(platform)
  t.teardown(async () => {
    await a.close()
    await b.close()
    await platform.close()
    await log.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return { platform, a, b }
}

t.test('with Redis: one budget per client and route across API instances', async t => {
  const { platform, a, b } = await setUp(t, REDIS_URL)
  const x = await platform.token(['balances:read', 'events:write'])
  const y = await platform.token(['balances:read'])
  const statuses: number[] = []
  for (let i = 0; i < LIMIT.max; i++) statuses.push((await call(`${(i % 2 === 0 ? a : b).url}/v1/members/m-1/balance`, x)).status)
  t.notOk(statuses.includes(429), `the first ${LIMIT.max} requests over both instances pass the limit (${statuses.join(' ')})`)
  const first = await call(`${a.url}/v1/members/m-1/balance`, x)
  t.equal(first.headers.get('ratelimit-limit'), String(LIMIT.max))
  const refused = await call(`${b.url}/v1/members/m-2/balance`, x)
  t.equal(refused.status, 429, 'the next one is refused, on the other instance too (counted in Redis)')
  t.match(refused.headers.get('content-type'), /^application\/problem\+json/)
  t.match(refused.body, { type: 'urn:rewards:problem:rate-limited', status: 429, code: 'RATE_LIMITED' })
  t.equal(refused.body.error.code, 'RATE_LIMITED')
  t.match(refused.body.error.message, /More than 5 requests to GET \/v1\/members\/:memberId\/balance/)
  const retryAfter = Number(refused.headers.get('retry-after'))
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter} s`)
  t.equal(refused.headers.get('ratelimit-remaining'), '0')
  t.match(await b.registry.metrics(), /rewards_api_rate_limited_total\{route="\/v1\/members\/:memberId\/balance"\} 1/, 'counted by route template')

  t.not((await call(`${a.url}/v1/members/m-1/balance`, y)).status, 429, 'another client has its own budget')
  const other = await call(`${a.url}/v1/events`, x, { body: [] })
  t.equal(other.status, 400, 'another route has its own budget (and its own answer)')
  t.equal((await call(`${a.url}/v1/members/m-1/balance`, 'not-a-token')).status, 401, 'no token: 401, not counted against anyone')
})

t.test('without Redis: the limit holds in process', async t => {
  // (Each instance counts on its own.)
  const { platform, a } = await setUp(t, null)
  t.equal(platform.services.cache.kind, 'memory')
  const x = await platform.token(['balances:read'])
  for (let i = 0; i < LIMIT.max; i++) t.not((await call(`${a.url}/v1/members/m-1/balance`, x)).status, 429)
  const refused = await call(`${a.url}/v1/members/m-1/balance`, x)
  t.equal(refused.status, 429, 'refused beyond the limit, counted in process')
  t.ok(Number(refused.headers.get('retry-after')) >= 1, 'with Retry-After')
  // One counter per route template and method (each route's key is made when it is added).
  t.equal((await call(`${a.url}/v1/members/m-2/balance`, x)).status, 429, 'another member: the same route template, the same budget')
  const head = await fetch(`${a.url}/v1/members/m-1/balance`, { method: 'HEAD', headers: { authorization: `Bearer ${x}` } })
  t.not(head.status, 429, 'HEAD of the route: a budget of its own')
  t.equal(head.headers.get('ratelimit-remaining'), String(LIMIT.max - 1))
  const activity = await call(`${a.url}/v1/members/m-1/activity`, x)
  t.not(activity.status, 429, 'another route: not affected')
  t.equal(activity.headers.get('ratelimit-remaining'), String(LIMIT.max - 1))
})

t.test('Redis down: each instance counts on its own, no request fails', async t => {
  const [host, port] = REDIS_URL.replace(/^redis:\/\//, '').split(':')
  const proxy = new TcpProxy(host!, Number(port ?? 6379))
  await proxy.listen()
  t.teardown(() => proxy.close())
  const { platform, a, b } = await setUp(t, `redis://127.0.0.1:${proxy.port}`)
  const redisUp = async (): Promise<string> => (await platform.registry.metrics()).split('\n').find(l => l.startsWith('rewards_api_redis_up ')) ?? ''
  t.equal(await eventually(redisUp, line => line.endsWith(' 1'), 10_000), 'rewards_api_redis_up 1', 'Redis up first')
  const x = await platform.token(['balances:read'])
  proxy.cut()
  const statuses: number[] = []
  for (let i = 0; i < LIMIT.max; i++) statuses.push((await call(`${a.url}/v1/members/m-1/balance`, x)).status)
  t.notOk(statuses.some(s => s === 429 || s === 500), `no request refused or failed within the limit (${statuses.join(' ')})`)
  t.equal((await call(`${a.url}/v1/members/m-1/balance`, x)).status, 429, 'beyond it: refused, counted by this instance')
  t.not((await call(`${b.url}/v1/members/m-1/balance`, x)).status, 429, 'the other instance counts on its own meanwhile')
  t.match(await platform.registry.metrics(), /rewards_api_cache_fallbacks_total\{operation="rateLimit"\} [1-9]/, 'the fallback is counted')
})
