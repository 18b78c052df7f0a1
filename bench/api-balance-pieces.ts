// Where the balance query's CPU goes (docs/benchmarks.md "API balance query, third pass"): one
// processor instance with the public API, plus routes that each add one piece of the balance
// route to a constant answer, loaded one after the other (interleaved rounds) by the same load
// generator as bench/api-balance.ts. Prints this process's CPU time per request for each (the
// engine's idle CPU subtracted) and what each row adds to the one before:
//   bare        a bare Fastify server (its own), the constant body           (api-balance's "constant")
//   server      the platform's server (api/ops-server.ts hooks: request id, metrics, tracing), no schema
//   validated   + the balance route's params and query schemas (api/strict-validation.ts)
//   guarded     + the token check and the rate limit (the /v1 guard)
//   owner       + the member's owner look-up (LocalReader.owner)
//   get         guarded + the store read (LocalReader.balance: owner check and RocksDB read)
//   read        guarded + MemberQueries.balanceJson (read, serialization, counter), constant body
//   full        read with the real body, ETag and headers (sendConditional), outside /v1's plugin
//   balance     the real GET /v1/members/{id}/balance
// --inject N measures in process instead (light-my-request, N requests per row, no socket and no
// HTTP parsing): the routes' own code, steadier on a loaded machine; min and median of the rounds.
//
//   node bench/api-balance-pieces.ts [--backend embedded|kafka] [--seconds 4] [--rounds 3] [--connections 20] [--members 100] [--only bare,balance] [--inject 0]
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import Fastify, { type FastifyInstance } from 'fastify'
import { Registry } from 'prom-client'
import { Readiness } from '../api/health/readiness.ts'
import { buildServer } from '../api/ops-server.ts'
import { publicApi } from '../api/public-api.ts'
import { MemberQueries } from '../api/query/member-queries.ts'
import { registerStreamsQueries } from '../api/streams-queries.ts'
import { rateLimitedGuard, registerRateLimiting } from '../api/routes/rate-limit.ts'
import { sendConditional } from '../api/routes/conditional-get.ts'
import { MemberParams } from '../api/schemas.ts'
import { NO_QUERY } from '../api/strict-validation.ts'
import { ensurePlatformTopics, platformTopics } from '../lib/platform-topics.ts'
import { buildRewardsTopology, defaultRuleSet } from '../processors/rewards/index.ts'
import { StreamsApplication } from '../topology/streams-application.ts'
import { call, earn, eventually, startPlatform } from '../test/api/api-harness.ts'
import { backendOf, parseArgs } from './lib/cli.ts'
import { openBenchLog, uniqueName } from './lib/logs.ts'

const opts = parseArgs({ backend: 'embedded', seconds: 4, rounds: 3, connections: 20, members: 100, only: '', inject: 0 })
const CONSTANT = JSON.stringify({ memberId: 'm0', earned: 100, reversed: 0, redeemed: 0, available: 100, qualifyingPoints: 100, tier: 'MEMBER', lastActivityAt: null, events: 1 })

const LOADER = `
const workerData = JSON.parse(process.env.BENCH_LOAD)
const autocannon = require(${JSON.stringify(new URL('../node_modules/autocannon/autocannon.js', import.meta.url).pathname)})
autocannon({ url: workerData.url, connections: workerData.connections, duration: workerData.seconds, requests: workerData.requests }, (err, r) => {
  if (err) throw err
  process.stdout.write(JSON.stringify({ rps: r.requests.average, p99: r.latency.p99, errors: r.non2xx + r.errors, total: r.requests.total }))
})`
interface Load { rps: number, p99: number, errors: number, total: number }
function autocannon (url: string, paths: string[], headers: Record<string, string>, seconds: number): Promise<Load> {
  return new Promise((resolve, reject) => {
    const load = { url, connections: opts.connections, seconds, requests: paths.map(path => ({ method: 'GET', path, headers })) }
    const child = spawn(process.execPath, ['-e', LOADER], { env: { ...process.env, BENCH_LOAD: JSON.stringify(load) }, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', c => { out += c })
    child.once('error', reject)
    child.once('close', code => code === 0 ? resolve(JSON.parse(out) as Load) : reject(new Error(`load generator exited ${code}`)))
  })
}
const median = (v: number[]): number => { const s = [...v].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2 }
const cpu = (): number => { const { user, system } = process.cpuUsage(); return user + system }

const run = uniqueName('apipieces')
const bench = await openBenchLog(backendOf(opts.backend), run)
const topics = platformTopics({ topicPrefix: `${run}-` })
await ensurePlatformTopics(bench.log, { topicPrefix: `${run}-`, partitions: 6 })
const platform = await startPlatform({ log: bench.log, topics, applicationId: run, settings: { balanceCacheTtlMs: 0, apiRateLimit: { max: 1_000_000_000, windowMs: 1000 } } })
const registry = new Registry()
const server = buildServer({ readiness: new Readiness(), registry })
const holder: { app?: StreamsApplication } = {}
const reader = registerStreamsQueries(server, () => holder.app, async () => platform.services)
const queries = new MemberQueries({ local: reader, registry })
await server.register(publicApi, { settings: platform.settings, guard: platform.services.guard, cache: platform.services.cache, queries, topics, producer: async () => await bench.log.createProducer({ clientId: `${run}-p` }), registry })
await server.register(async (scope: FastifyInstance) => {
  const store = await registerRateLimiting(scope, platform.services.cache)
  const guard = rateLimitedGuard(store, platform.services.guard, { max: 1_000_000_000, windowMs: 1000 }, registry)
  const schema = { params: MemberParams, querystring: NO_QUERY }
  const constant = (_request: unknown, reply: { type: (t: string) => { send: (b: string) => unknown } }): unknown => reply.type('application/json; charset=utf-8').send(CONSTANT)
  scope.get('/p/server/:memberId', constant as never)
  scope.get('/p/validated/:memberId', { schema }, constant as never)
  scope.get('/p/guarded/:memberId', { schema, preHandler: guard('balances:read') }, constant as never)
  scope.get<{ Params: { memberId: string } }>('/p/owner/:memberId', { schema, preHandler: guard('balances:read') }, (request, reply) => {
    if (!reader.owner(request.params.memberId).local) throw new Error('not a local member')
    return reply.type('application/json; charset=utf-8').send(CONSTANT)
  })
  scope.get<{ Params: { memberId: string } }>('/p/get/:memberId', { schema, preHandler: guard('balances:read') }, (request, reply) => {
    if (reader.balance(request.params.memberId) === undefined) throw new Error('no such member')
    return reply.type('application/json; charset=utf-8').send(CONSTANT)
  })
  scope.get<{ Params: { memberId: string } }>('/p/read/:memberId', { schema, preHandler: guard('balances:read') }, (request, reply) => {
    const json = queries.balanceJson(request.params.memberId, { authorization: undefined, requestId: request.id })
    if (json instanceof Promise || json === undefined) throw new Error('not a local member')
    return reply.type('application/json; charset=utf-8').send(CONSTANT)
  })
  scope.get<{ Params: { memberId: string } }>('/p/full/:memberId', { schema, preHandler: guard('balances:read') }, (request, reply) => {
    const json = queries.balanceJson(request.params.memberId, { authorization: undefined, requestId: request.id })
    if (json instanceof Promise || json === undefined) throw new Error('not a local member')
    return sendConditional(request, reply.header('x-cache', 'miss'), json)
  })
})
await server.listen({ host: '127.0.0.1', port: 0 })
const address = `127.0.0.1:${(server.server.address() as { port: number }).port}`
const app = new StreamsApplication(buildRewardsTopology({ rules: defaultRuleSet(), topics }), {
  log: bench.log, registry, config: { applicationId: run, stateDir: mkdtempSync(join(tmpdir(), 'api-pieces-')), applicationServer: address }
})
holder.app = app
await app.start()
await app.waitForState('RUNNING', 120_000)
const bare = Fastify()
bare.get('/constant', async () => JSON.parse(CONSTANT) as unknown)
await bare.listen({ host: '127.0.0.1', port: 0 })
try {
  const url = `http://${address}`
  const token = await platform.token(['balances:read', 'events:write'])
  const members = Array.from({ length: opts.members }, (_, i) => `bench-${i}`)
  await call(`${url}/v1/events`, token, { body: members.map(m => earn(m, `${m}-e`, 1000)) })
  for (const m of members) await eventually(() => call(`${url}/v1/members/${m}/balance`, token), r => r.status === 200, 60_000)
  const auth = { authorization: `Bearer ${token}` }
  const bareUrl = `http://127.0.0.1:${(bare.server.address() as { port: number }).port}`
  const rows: Array<{ name: string, url: string, paths: string[], headers: Record<string, string> }> = [
    { name: 'bare', url: bareUrl, paths: ['/constant'], headers: {} },
    { name: 'server', url, paths: members.map(m => `/p/server/${m}`), headers: auth },
    { name: 'validated', url, paths: members.map(m => `/p/validated/${m}`), headers: auth },
    { name: 'guarded', url, paths: members.map(m => `/p/guarded/${m}`), headers: auth },
    { name: 'owner', url, paths: members.map(m => `/p/owner/${m}`), headers: auth },
    { name: 'get', url, paths: members.map(m => `/p/get/${m}`), headers: auth },
    { name: 'read', url, paths: members.map(m => `/p/read/${m}`), headers: auth },
    { name: 'full', url, paths: members.map(m => `/p/full/${m}`), headers: auth },
    { name: 'balance', url, paths: members.map(m => `/v1/members/${m}/balance`), headers: auth }
  ].filter(r => opts.only === '' || opts.only.split(',').includes(r.name))
  if (opts.inject > 0) {
    // In process (light-my-request): no socket, no HTTP parsing; what the routes' code costs.
    const target = (r: { url: string }): FastifyInstance => r.url === bareUrl ? bare : server
    const injected = new Map<string, number[]>(rows.map(r => [r.name, []]))
    for (let round = 0; round < opts.rounds + 1; round++) {
      for (const r of rows) {
        const t = target(r)
        const c0 = cpu()
        for (let i = 0; i < opts.inject; i++) await t.inject({ method: 'GET', url: r.paths[i % r.paths.length]!, headers: r.headers })
        if (round > 0) injected.get(r.name)!.push((cpu() - c0) / opts.inject)
      }
    }
    console.log(`\ninject, ${opts.inject} requests per row, ${opts.rounds} round(s) after a warm-up one; CPU µs per request: min / median`)
    let previous: number | undefined
    for (const r of rows) {
      const v = injected.get(r.name)!
      const m = Math.min(...v)
      console.log(`${r.name.padEnd(10)} ${m.toFixed(1).padStart(7)} / ${median(v).toFixed(1).padStart(7)}${previous === undefined ? '' : `  step ${(m - previous >= 0 ? '+' : '')}${(m - previous).toFixed(1)}`}`)
      previous = m
    }
    process.exitCode = 0
  }
  for (const r of rows) if (opts.inject === 0) await autocannon(r.url, r.paths, r.headers, 1)
  const i0 = cpu(); const t0 = performance.now()
  await new Promise(resolve => setTimeout(resolve, 2000))
  const idlePerMs = (cpu() - i0) / (performance.now() - t0)
  if (opts.inject > 0) opts.rounds = 0
  const results = new Map<string, number[]>(rows.map(r => [r.name, []]))
  for (let round = 0; round < opts.rounds; round++) {
    for (const r of rows) {
      const c0 = cpu(); const s0 = performance.now()
      const load = await autocannon(r.url, r.paths, r.headers, opts.seconds)
      const us = (cpu() - c0 - idlePerMs * (performance.now() - s0)) / Math.max(1, load.total)
      results.get(r.name)!.push(us)
      console.log(`round ${round + 1} ${r.name.padEnd(10)} ${Math.round(load.rps)} req/s p99 ${load.p99} ms CPU ${us.toFixed(1)} µs/req non-2xx ${load.errors}`)
    }
  }
  if (opts.inject === 0) console.log(`\n${opts.backend}, ${opts.connections} connections, ${opts.seconds} s per row, ${opts.rounds} round(s), engine idle ${(idlePerMs / 10).toFixed(1)} % CPU; median CPU µs per request (step: added by that piece)`)
  let previous: number | undefined
  for (const r of opts.inject > 0 ? [] : rows) {
    const m = median(results.get(r.name)!)
    console.log(`${r.name.padEnd(10)} ${m.toFixed(1).padStart(7)}${previous === undefined ? '' : `  step ${(m - previous >= 0 ? '+' : '')}${(m - previous).toFixed(1)}`}`)
    previous = m
  }
} finally {
  await bare.close()
  await app.close()
  await server.close()
  await platform.close()
  await bench.close()
}
