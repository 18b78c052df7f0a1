// Balance queries per second and p50/p99 latency on one API instance, three ways in the same run:
//   constant   a bare Fastify route returning a constant JSON object (the HTTP floor)
//   local      GET /v1/members/{id}/balance for members this instance owns (token check + store read)
//   forwarded  the same for members owned by the second processor instance (one more HTTP hop)
// The hot-balance cache is off (--cacheTtlMs 0) so every query reaches a store; --cacheTtlMs 1000
// measures the cached path instead. Two processor instances on Kafka (or the embedded log), the
// load generator (autocannon) in a child process. The per-client rate limit is on (its counter is
// part of every request's cost) with a budget this one client cannot exhaust.
//
//   node bench/api-balance.ts [--backend kafka|embedded] [--seconds 10] [--connections 20] [--members 200] [--cacheTtlMs 0]
import { spawn } from 'node:child_process'
import Fastify from 'fastify'
import { ensurePlatformTopics, platformTopics } from '../lib/platform-topics.ts'
import { call, earn, eventually, startPlatform, startProcessor } from '../test/api/api-harness.ts'
import { backendOf, parseArgs } from './lib/cli.ts'
import { openBenchLog, uniqueName } from './lib/logs.ts'

const opts = parseArgs({ backend: 'kafka', seconds: 10, connections: 20, members: 200, cacheTtlMs: 0 })

interface Result { name: string, rps: number, p50: number, p99: number, errors: number, total: number }

// autocannon aggregates its histograms only on a main thread: a child process, not a worker.
const LOADER = `
const workerData = JSON.parse(process.env.BENCH_LOAD)
const autocannon = require(${JSON.stringify(new URL('../node_modules/autocannon/autocannon.js', import.meta.url).pathname)})
autocannon({ url: workerData.url, connections: workerData.connections, duration: workerData.seconds, requests: workerData.requests }, (err, r) => {
  if (err) throw err
  process.stdout.write(JSON.stringify({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.non2xx + r.errors, total: r.requests.total }))
})`

function load (name: string, url: string, paths: string[], headers: Record<string, string>): Promise<Result> {
  return new Promise((resolve, reject) => {
    const load = { url, connections: opts.connections, seconds: opts.seconds, requests: paths.map(path => ({ method: 'GET', path, headers })) }
    const child = spawn(process.execPath, ['-e', LOADER], { env: { ...process.env, BENCH_LOAD: JSON.stringify(load) }, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', c => { out += c })
    child.once('error', reject)
    child.once('close', code => code === 0 ? resolve({ name, ...JSON.parse(out) as Omit<Result, 'name'> }) : reject(new Error(`load generator exited ${code}`)))
  })
}

const run = uniqueName('apibench')
const bench = await openBenchLog(backendOf(opts.backend), run)
const log = bench.log
const topics = platformTopics({ topicPrefix: `${run}-` })
await ensurePlatformTopics(log, { topicPrefix: `${run}-`, partitions: 6 })
const platform = await startPlatform({ log, topics, applicationId: run, settings: { balanceCacheTtlMs: opts.cacheTtlMs, apiRateLimit: { max: 1_000_000_000, windowMs: 1000 } } })
const a = await startProcessor(platform, { publicApi: true, waitRunning: false })
const b = await startProcessor(platform, { publicApi: true, waitRunning: false })
const bare = Fastify()
bare.get('/constant', async () => ({ memberId: 'm0', earned: 100, reversed: 0, redeemed: 0, available: 100, qualifyingPoints: 100, tier: 'MEMBER', lastActivityAt: null, events: 1 }))
await bare.listen({ host: '127.0.0.1', port: 0 })
try {
  await eventually(async () => [a.app!.state, b.app!.state, a.app!.localTasks().length + b.app!.localTasks().length], s => s[0] === 'RUNNING' && s[1] === 'RUNNING' && s[2] === 6, 120_000)
  const token = await platform.token(['balances:read', 'events:write'])
  const members = Array.from({ length: opts.members }, (_, i) => `bench-${i}`)
  for (let i = 0; i < members.length; i += 500) await call(`${a.url}/v1/events`, token, { body: members.slice(i, i + 500).map(m => earn(m, `${m}-e`, 1000)) })
  for (const m of members) await eventually(() => call(`${a.url}/v1/members/${m}/balance`, token), r => r.status === 200, 60_000)
  const local = members.filter(m => a.app!.queryMetadataForKey('balances', m).local)
  const remote = members.filter(m => !a.app!.queryMetadataForKey('balances', m).local)
  const auth = { authorization: `Bearer ${token}` }
  const results: Result[] = []
  // Warm-up, then measure each in turn.
  await load('warm-up', a.url, local.map(m => `/v1/members/${m}/balance`), auth)
  results.push(await load('constant (bare Fastify)', `http://127.0.0.1:${(bare.server.address() as { port: number }).port}`, ['/constant'], {}))
  results.push(await load(`local keys (${local.length})`, a.url, local.map(m => `/v1/members/${m}/balance`), auth))
  results.push(await load(`forwarded keys (${remote.length})`, a.url, remote.map(m => `/v1/members/${m}/balance`), auth))
  const floor = results[0]!.rps
  console.log(`\nbalance queries, ${opts.backend}, ${opts.connections} connections, ${opts.seconds} s each, cache ${opts.cacheTtlMs === 0 ? 'off' : `${opts.cacheTtlMs} ms`}, node ${process.version}`)
  console.log('| route | req/s | p50 ms | p99 ms | vs constant | non-2xx |')
  console.log('|---|---:|---:|---:|---:|---:|')
  for (const r of results) console.log(`| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${(r.rps / floor).toFixed(2)}× | ${r.errors} |`)
} finally {
  await bare.close()
  await b.close()
  await a.close()
  await platform.close()
  await bench.close()
}
