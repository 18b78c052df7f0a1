// The internal balance fast lane (api/routes/internal-balance-lane.ts) answers exactly as the
// owner's internal Fastify route does: the same requests sent to two servers built as a processor
// builds its own (internal routes, then the public API) over the same processor's stores — the
// lane on, the lane off — get the same status, body and headers (names, order and values; Date
// and a generated x-request-id apart), and count the same metrics. The lane serves the happy read
// of a local member; every other case reaches Fastify untouched: the first request (the on-demand
// guard opens there), a member owned by the other instance (503), an unknown member (404), bad
// id, maxStalenessRecords, missing, forged or wrong-scope token, Accept without JSON, HEAD, POST,
// traceparent. Real Kafka, two processor instances.
import { Registry } from 'prom-client'
import t from 'tap'
import { Readiness } from '../../api/health/readiness.ts'
import { buildServer } from '../../api/ops-server.ts'
import { onDemandGuard, type ScopeGuard } from '../../api/auth/require-scope.ts'
import { publicApi } from '../../api/public-api.ts'
import type { LocalReader } from '../../api/query/local-reader.ts'
import { MemberQueries } from '../../api/query/member-queries.ts'
import { internalRoutes } from '../../api/routes/internal-routes.ts'
import { createKafkaLog } from '../../log/kafka/index.ts'
import { ensurePlatformTopics, platformTopics } from '../../lib/platform-topics.ts'
import { call, earn, eventually, guardsWithRevocationsLoaded, internalTopicsOf, startPlatform, startProcessor, type Platform } from './api-harness.ts'
import { memberTasks } from './member-tasks.ts'
import { comparable, send } from './raw-answer.ts'

interface Server { url: string, registry: Registry, fastifyRequests: () => number, close (): Promise<void> }

/** A server as a processor with the public API builds it (api-harness.ts startProcessor) over
 *  `reader`: the internal routes (their lane on or off, the on-demand guard), then the public API. */
async function processorServer (platform: Platform, guards: { guard: ScopeGuard, internalGuard: ScopeGuard }, reader: LocalReader, lane: boolean): Promise<Server> {
  const registry = new Registry()
  const server = buildServer({ readiness: new Readiness(), registry })
  let reached = 0
  server.addHook('onRequest', (_request, _reply, done) => { reached++; done() })
  void server.register(internalRoutes, { reader, guard: onDemandGuard(async () => guards.internalGuard), fastLane: lane })
  await server.register(publicApi, {
    settings: platform.settings, guard: guards.guard, cache: platform.services.cache,
    queries: new MemberQueries({ local: reader, registry }), topics: platform.topics,
    producer: async () => { throw new Error('no events posted here') }, registry
  })
  await server.listen({ host: '127.0.0.1', port: 0 })
  return { url: `http://127.0.0.1:${(server.server.address() as { port: number }).port}`, registry, fastifyRequests: () => reached, close: async () => { await server.close() } }
}

/** The request histogram's counts (the series both servers count), without timings. */
async function counted (registry: Registry): Promise<string[]> {
  const text = await registry.metrics()
  return text.split('\n').filter(line => line.startsWith('rewards_http_request_duration_seconds_count')).sort()
}

t.test('the internal lane answers as the internal Fastify route, and hands every other request to it', async t => {
  const brokers = (process.env.REWARDS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
  const run = `ilane${Date.now().toString(36)}`
  const log = createKafkaLog({ brokers, clientId: run })
  const topics = platformTopics({ topicPrefix: `${run}-` })
  await ensurePlatformTopics(log, { topicPrefix: `${run}-`, partitions: 4 })
  const platform = await startPlatform({ log, topics, applicationId: run, settings: { balanceCacheTtlMs: 0 } })
  const a = await startProcessor(platform, { publicApi: true, waitRunning: false })
  const b = await startProcessor(platform, { publicApi: false, waitRunning: false })
  const servers: Server[] = []
  t.teardown(async () => {
    for (const s of servers) await s.close()
    await b.close()
    await a.close()
    await platform.close()
    await log.admin.deleteTopics([...Object.values(topics), ...internalTopicsOf(run)]).catch(() => undefined)
    await log.close()
  })
  const tasks = (): number => { try { return memberTasks(a.app!).length + memberTasks(b.app!).length } catch { return -1 } }
  const settled = await eventually(async () => [a.app!.state, b.app!.state, tasks()], s => s[0] === 'RUNNING' && s[1] === 'RUNNING' && s[2] === 4, 120_000)
  t.same(settled, ['RUNNING', 'RUNNING', 4], 'both processors running, the 4 member tasks assigned')
  const token = await platform.token(['balances:read'])
  const writeOnly = await platform.token(['events:write'])
  const members = Array.from({ length: 12 }, (_, i) => `ilane-${i}`)
  t.ok((await call(`${a.url}/v1/events`, writeOnly, { body: members.map(m => earn(m, `${m}-e`, 1000)) })).status < 300, 'events accepted')
  for (const m of members) await eventually(() => call(`${a.url}/v1/members/${m}/balance`, token), r => r.status === 200, 60_000)
  const local = members.filter(m => a.app!.queryMetadataForKey('balances', m).local)
  const remote = members.filter(m => !a.app!.queryMetadataForKey('balances', m).local)
  t.ok(local.length > 0 && remote.length > 0, `members on both instances (${local.length} local, ${remote.length} remote)`)

  // One token check for both servers, its revocations loaded once (api-harness.ts).
  const guards = await guardsWithRevocationsLoaded(platform)
  const lane = await processorServer(platform, guards, a.reader!, true)
  servers.push(lane)
  const plain = await processorServer(platform, guards, a.reader!, false)
  servers.push(plain)
  // What a forward sends (api/query/member-queries.ts #forward).
  const forwarded = { authorization: `Bearer ${token}`, accept: 'application/json', 'x-request-id': 'fwd-1' }
  const bearer = { authorization: `Bearer ${token}` }
  const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`
  const path = (m: string): string => `/internal/v1/members/${m}/balance`
  // The lane's on-demand guard has not opened yet: its first request goes through Fastify (which
  // opens it), on both servers alike.
  const first = await send(plain.url, path(local[0]!), forwarded)
  const before = lane.fastifyRequests()
  t.same(comparable(await send(lane.url, path(local[0]!), forwarded), true, first), comparable(first, true), 'the first request: the same answer')
  t.equal(lane.fastifyRequests() - before, 1, 'the first request: through Fastify (the token store opens there)')
  const cases: Array<{ name: string, path: string, headers: Record<string, string>, method?: string, served: boolean }> = [
    ...local.map(m => ({ name: `local member ${m}`, path: path(m), headers: forwarded, served: true })),
    { name: 'no request id', path: path(local[0]!), headers: { authorization: forwarded.authorization, accept: 'application/json' }, served: true },
    { name: 'a malformed request id', path: path(local[0]!), headers: { ...forwarded, 'x-request-id': 'bad id!' }, served: true },
    { name: 'no Accept', path: path(local[0]!), headers: bearer, served: true },
    { name: 'If-None-Match (the internal route has no ETag)', path: path(local[0]!), headers: { ...forwarded, 'if-none-match': '"x"' }, served: true },
    { name: 'unknown member', path: path('nobody-here-0'), headers: forwarded, served: false },
    ...remote.slice(0, 3).map(m => ({ name: `member owned by the other instance ${m}`, path: path(m), headers: forwarded, served: false })),
    { name: 'bad id', path: path('bad!id'), headers: forwarded, served: false },
    { name: 'id too long', path: path('x'.repeat(65)), headers: forwarded, served: false },
    { name: 'percent-encoded id', path: path(local[0]!.replace('-', '%2D')), headers: forwarded, served: false },
    { name: 'trailing slash', path: `${path(local[0]!)}/`, headers: forwarded, served: false },
    { name: 'maxStalenessRecords (the standby path)', path: `${path(local[0]!)}?maxStalenessRecords=0`, headers: forwarded, served: false },
    { name: 'maxStalenessRecords of a remote member', path: `${path(remote[0]!)}?maxStalenessRecords=0`, headers: forwarded, served: false },
    { name: 'unknown query parameter', path: `${path(local[0]!)}?x=1`, headers: forwarded, served: false },
    { name: 'missing token', path: path(local[0]!), headers: { accept: 'application/json' }, served: false },
    { name: 'forged token', path: path(local[0]!), headers: { ...forwarded, authorization: `Bearer ${forged}` }, served: false },
    { name: 'wrong scope', path: path(local[0]!), headers: { ...forwarded, authorization: `Bearer ${writeOnly}` }, served: false },
    { name: 'Accept without JSON', path: path(local[0]!), headers: { ...forwarded, accept: 'text/html' }, served: false },
    { name: 'HEAD', path: path(local[0]!), headers: forwarded, method: 'HEAD', served: false },
    { name: 'POST', path: path(local[0]!), headers: forwarded, method: 'POST', served: false },
    { name: 'traceparent', path: path(local[0]!), headers: { ...forwarded, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, served: false }
  ]
  for (const c of cases) {
    const fromPlain = await send(plain.url, c.path, c.headers, c.method)
    const before = lane.fastifyRequests()
    const fromLane = await send(lane.url, c.path, c.headers, c.method)
    const givenId = typeof c.headers['x-request-id'] === 'string' && c.headers['x-request-id'] !== 'bad id!'
    t.same(comparable(fromLane, givenId, fromPlain), comparable(fromPlain, givenId), `${c.name}: same status ${fromPlain.status}, body and headers`)
    t.equal(lane.fastifyRequests() - before, c.served ? 0 : 1, `${c.name}: ${c.served ? 'answered by the lane' : 'handed to Fastify'}`)
  }
  t.same(await counted(lane.registry), await counted(plain.registry), 'the same request histogram series and counts')
  t.match((await counted(lane.registry)).join('\n'), /route="\/internal\/v1\/members\/:memberId\/balance",status_code="200"/, 'the lane\'s answers counted under the route template')
})
