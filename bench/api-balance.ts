// Balance queries per second and p50/p99 latency on one API instance, four ways in the same run:
//   constant   a bare Fastify route returning a constant JSON object (the HTTP floor)
//   constant, local requests   the same bare server and constant, sent the local row's exact
//              requests (its member paths and its bearer header, which the bare route ignores):
//              what is left is the route's own work and its longer answer (ETag, rate-limit headers…)
//   local      GET /v1/members/{id}/balance for members this instance owns (token check + store read)
//   forwarded  the same for members owned by the second processor instance (one more HTTP hop)
//   local keys, Fastify route   the local row's requests to a second API server over the same
//              processor with the balance fast lane off (api/routes/balance-fast-lane.ts)
// Each round runs the rows in alternating slices of --slice seconds (default 1; the order reversed
// every other cycle) until each row has had --seconds, so that a slow period of the machine falls
// on every row alike (bench/lib/paired-slices.ts); each slice with the same load generator
// (autocannon in a child process) and the same connections. A row's figures in a round are over
// all its slices (p50/p99: the median of its slices'); the ratio lines give the median of the
// pairs of adjacent slices of all rounds, their quartiles and range, and each round's ratio
// (docs/benchmarks.md "API balance query, tenth pass"). --slice 0: each row its --seconds in one
// piece, one row after the other, as before the tenth pass; the ratios then the rounds' median. The hot-balance cache is off (--cacheTtlMs 0) so every query reaches a store;
// --cacheTtlMs 1000 measures the cached path instead. Two processor instances on Kafka (or the
// embedded log). The per-client rate limit is on (its counter is part of every request's cost)
// with a budget this one client cannot exhaust (in process: the benchmark runs without Redis).
//
// Besides req/s and latency, each row's CPU time of this process (both API servers, the bare one
// and the idle engines) per request: less sensitive than req/s to other load on a shared machine,
// it is what the route itself costs (the forwarded row's covers both hops). The engines' idle CPU,
// measured for 2 s before the rows, is subtracted. "of which system": the kernel's share (socket
// reads and writes on loopback, wake-ups of the other side), not subtracted for idle.
//
// The load generator runs on the same machine: on 2 cores it and the server share the CPU, so a
// row's req/s follows the CPU per request of both (its column "loader CPU µs/req"), and a longer
// answer (the balance route's documented headers) costs the load generator too; the CPU columns
// compare the servers alone (docs/benchmarks.md "API balance query, fifth pass").
// --placement says where the two processes run: `shared` (as before: both anywhere on the
// machine's cores), `pinned` (this process — the API servers, the bare one and the engines — on
// CPU 0, the load generator on CPU 1, with `taskset`, as a load generator on another machine
// would be) or `both` (default: every round runs the four rows shared, then the four rows pinned;
// each placement gets its own table, ratios and verdicts). Both placements load every row alike
// (docs/benchmarks.md "API balance query, sixth pass"). Pinned is for a quiet machine: on a
// loaded one this process (its engines and Kafka clients too) gets one core shared with the rest,
// may stall past its consumer group's session timeout and answer 503 while tasks move; a placement
// with non-2xx answers is reported as not a valid measurement.
//
// Prints local/constant and forwarded/constant and whether the targets are met (local ≥ 0.8×
// constant with p99 ≤ 2 ms, forwarded p99 ≤ 10 ms). --profile constant|local|forwarded (or several,
// comma-separated: local,constant) writes a
// CPU profile of this process during that row of the first round (its first slice; api-balance-<row>.cpuprofile)
// and prints its top functions.
//
// --loopStats 1 adds, per row, this process's event-loop delay (p50, p99, max) and GC pauses
// (bench/lib/loop-stats.ts): what a p99 of the in-process servers is made of.
//
// --stallTrace 1|2|3 traces each open-loop row's event-loop stalls, here and in the loader, and
// what each request over 2 ms ran into (bench/lib/stall-trace.ts traceOpenRow). --loaderGc 0: the
// loader with V8's default GC (docs/benchmarks.md "API balance query, eleventh pass").
//
// --answerRow 1 adds a sixth row: the bare server sent the local row's requests and answering with
// the local row's answer — its documented headers, in order, and a balance body (a new x-request-id
// each time, the rest as first read from the lane) — from a Fastify route: what the longer answer
// costs the load generator and the socket write, the lane's own work aside (docs/benchmarks.md
// "API balance query, eighth pass").
//
// --inProcess N measures, after the rows, the servers' own JavaScript per request with no socket:
// N requests per row emitted on each server's 'request' event (an IncomingMessage with the row's
// headers, a ServerResponse with no socket, so the answer is built and buffered, never written):
// no HTTP parse, no syscall, no load generator — steady on a loaded machine, for A/B of the lane's
// own code against the bare route's (docs/benchmarks.md "API balance query, eighth pass").
//
// Open loop (always, after each round's saturated rows): the constant, local and forwarded rows
// again at one fixed offered rate, evenly spaced, whether or not earlier requests were answered
// (bench/lib/open-loop.ts): their p50/p99/p999 are answer times, not a queue behind the 2 cores
// as in the saturated rows. The rate: --openRate N req/s, or (default) --openFraction (0.05) of the
// bare route's saturated req/s in the first round (below every row's saturation, the forwarded row's included), rounded to 50; --openSeconds (default
// --seconds). The verdicts say on which rows each p99 bound is judged: both are printed
// (docs/benchmarks.md "API balance query, ninth pass").
//
// --fastLane 0 turns the balance fast lane off (api/routes/balance-fast-lane.ts; on by default, as
// in the API): the local row is then answered by the Fastify route, for A/B runs of the same tree
// (docs/benchmarks.md "API balance query, seventh pass").
//
//   node bench/api-balance.ts [--backend kafka|embedded] [--seconds 10] [--rounds 1] [--connections 20] [--members 200] [--cacheTtlMs 0] [--rateLimit 1] [--profile constant|local|forwarded] [--placement both|shared|pinned] [--fastLane 1|0] [--loopStats 0|1] [--inProcess 0] [--answerRow 0|1] [--openRate 0] [--openFraction 0.05] [--openSeconds 0] [--slice 1] [--stallTrace 0|1|2|3] [--loaderGc 1|0]
import { execFileSync } from 'node:child_process'
import { get, type Server } from 'node:http'
import { randomUUID } from 'node:crypto'
import { availableParallelism } from 'node:os'
import Fastify from 'fastify'
import { Registry } from 'prom-client'
import { Readiness } from '../api/health/readiness.ts'
import { buildServer } from '../api/ops-server.ts'
import { publicApi } from '../api/public-api.ts'
import { MemberQueries } from '../api/query/member-queries.ts'
import { ensurePlatformTopics, platformTopics } from '../lib/platform-topics.ts'
import { call, earn, eventually, startPlatform, startProcessor } from '../test/api/api-harness.ts'
import { autocannon as autocannonChild } from './lib/autocannon-child.ts'
import { backendOf, parseArgs } from './lib/cli.ts'
import { printTop, saveProfile, startProfile } from './lib/cpu-profile.ts'
import { openBenchLog, uniqueName } from './lib/logs.ts'
import { watchLoop } from './lib/loop-stats.ts'
import { inProcessCpu } from './lib/in-process-requests.ts'
import { openLoop, reportOpenLoop, type OpenRow } from './lib/open-loop.ts'
import { printTraces, traceOpenRow, type TraceReport } from './lib/stall-trace.ts'
import { combineSlices, cycleOrder, describeSpread, median, pairedSpread, type Load, type Result } from './lib/paired-slices.ts'

const opts = parseArgs({ backend: 'kafka', seconds: 10, rounds: 1, connections: 20, members: 200, cacheTtlMs: 0, rateLimit: 1, profile: '', placement: 'both', fastLane: 1, loopStats: 0, inProcess: 0, answerRow: 0, openRate: 0, openFraction: 0.05, openSeconds: 0, slice: 1, stallTrace: 0, loaderGc: 1 })
const profiled = opts.profile === '' ? [] : opts.profile.split(',')
if (!profiled.every(row => ['constant', 'local', 'forwarded'].includes(row))) throw new Error(`--profile must be constant, local or forwarded (or several, comma-separated), got ${opts.profile}`)
if (!['both', 'shared', 'pinned'].includes(opts.placement)) throw new Error(`--placement must be both, shared or pinned, got ${opts.placement}`)
type Placement = 'shared' | 'pinned'
const placements: Placement[] = opts.placement === 'both' ? ['shared', 'pinned'] : [opts.placement as Placement]
const cpus = availableParallelism()
if (placements.includes('pinned') && cpus < 2) throw new Error('--placement pinned needs 2 CPUs')
/** Every thread of this process (and the threads it starts later) on `list`, e.g. '0' or '0-1'. */
function pinThisProcess (list: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', list, String(process.pid)], { stdio: 'ignore' })
}


function autocannon (url: string, paths: string[], headers: Record<string, string>, placement: Placement = 'shared', seconds: number = opts.seconds): Promise<Load> {
  // Pinned: the load generator alone on CPU 1 (this process is on CPU 0 meanwhile).
  return autocannonChild({ url, paths, headers, connections: opts.connections, seconds, pinned: placement === 'pinned' })
}

function cpuMicros (): number {
  const { user, system } = process.cpuUsage()
  return user + system
}

function sysMicros (): number {
  return process.cpuUsage().system
}

/** One row (or one slice of a row): the load, and this process's CPU per request (the engines'
 *  idle rate subtracted). */
async function load (name: string, url: string, paths: string[], headers: Record<string, string>, idleCpuPerMs: number, placement: Placement, profile?: string, seconds = opts.seconds): Promise<Result> {
  const stopProfile = profile !== undefined ? await startProfile() : undefined
  const stopLoop = opts.loopStats !== 0 ? watchLoop() : undefined
  const cpu0 = cpuMicros()
  const sys0 = sysMicros()
  const t0 = performance.now()
  const result = await autocannon(url, paths, headers, placement, seconds)
  const cpu = cpuMicros() - cpu0 - idleCpuPerMs * (performance.now() - t0)
  const sys = sysMicros() - sys0
  const loop = stopLoop?.()
  if (stopProfile !== undefined) { const p = await stopProfile(); saveProfile(p, `api-balance-${profile!}.cpuprofile`); printTop(p, 40) }
  return { name, ...result, cpuUsPerRequest: cpu / Math.max(1, result.total), sysUsPerRequest: sys / Math.max(1, result.total), loaderUsPerRequest: result.loaderCpuUs / Math.max(1, result.total), ...(loop !== undefined ? { loop } : {}) }
}

/** One placement's rows: each round, the medians, the ratios and the verdicts. */
function report (placement: Placement, rounds: Result[][], idleCpuPerMs: number): void {
  const where = placement === 'shared' ? 'server and load generator sharing the cores (as before)' : 'server pinned to CPU 0, load generator to CPU 1'
  const header = `balance queries, ${where}, ${opts.backend}, ${opts.connections} connections, ${opts.seconds} s per row, ${rounds.length} round(s), cache ${opts.cacheTtlMs === 0 ? 'off' : `${opts.cacheTtlMs} ms`}, rate limit ${opts.rateLimit === 0 ? 'off' : 'on'}, fast lane ${opts.fastLane === 0 ? 'off' : 'on'}, node ${process.version}, engines idle ${(idleCpuPerMs / 10).toFixed(1)} % CPU`
  console.log(`\n${header}`)
  console.log('| round | route | req/s | p50 ms | p99 ms | vs constant | CPU µs/req | of which system | CPU vs constant | loader CPU µs/req | non-2xx |')
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  rounds.forEach((rows, i) => {
    for (const r of rows) console.log(`| ${i + 1} | ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${(r.rps / rows[0]!.rps).toFixed(2)}× | ${r.cpuUsPerRequest.toFixed(1)} | ${r.sysUsPerRequest.toFixed(1)} | ${(r.cpuUsPerRequest / rows[0]!.cpuUsPerRequest).toFixed(2)}× | ${r.loaderUsPerRequest.toFixed(1)} | ${r.errors} |`)
  })
  if (opts.loopStats !== 0) {
    // This process's event loop during each row (docs/benchmarks.md "API balance query, sixth pass
    // on the forwarded path"): a request's latency includes the loop's delay when it arrives.
    console.log('\n| round | route | p99 ms | loop delay p50 ms | loop delay p99 ms | loop delay max ms | GC pauses | GC total ms | GC longest ms |')
    console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|')
    rounds.forEach((rows, i) => {
      for (const r of rows) if (r.loop !== undefined) console.log(`| ${i + 1} | ${r.name} | ${r.p99} | ${r.loop.delayP50.toFixed(2)} | ${r.loop.delayP99.toFixed(2)} | ${r.loop.delayMax.toFixed(1)} | ${r.loop.gcCount} | ${r.loop.gcTotalMs.toFixed(1)} | ${r.loop.gcMaxMs.toFixed(2)} |`)
    })
  }
  // Medians over the rounds; ratios are per round (rows of one round ran under the same load).
  const summary = rounds[0]!.map((_, row) => ({
    name: rounds[0]![row]!.name,
    rps: median(rounds.map(r => r[row]!.rps)),
    p50: median(rounds.map(r => r[row]!.p50)),
    p99: median(rounds.map(r => r[row]!.p99)),
    ratio: median(rounds.map(r => r[row]!.rps / r[0]!.rps)),
    cpu: median(rounds.map(r => r[row]!.cpuUsPerRequest)),
    sys: median(rounds.map(r => r[row]!.sysUsPerRequest)),
    cpuRatio: median(rounds.map(r => r[row]!.cpuUsPerRequest / r[0]!.cpuUsPerRequest)),
    loader: median(rounds.map(r => r[row]!.loaderUsPerRequest)),
    errors: rounds.reduce((sum, r) => sum + r[row]!.errors, 0)
  }))
  if (rounds.length > 1) {
    console.log(`\nmedian over the rounds (${placement}):`)
    console.log('| route | req/s | p50 ms | p99 ms | vs constant | CPU µs/req | of which system | CPU vs constant | loader CPU µs/req | non-2xx |')
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for (const r of summary) console.log(`| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.ratio.toFixed(2)}× | ${r.cpu.toFixed(1)} | ${r.sys.toFixed(1)} | ${r.cpuRatio.toFixed(2)}× | ${r.loader.toFixed(1)} | ${r.errors} |`)
  }
  // The targets of docs/benchmarks.md "API balance query" (authentication and rate limit on).
  const [constantRow, sameRequests, localRow, forwardedRow, routeRow] = summary as [typeof summary[0], typeof summary[0], typeof summary[0], typeof summary[0], typeof summary[0]]
  const verdict = (met: boolean): string => met ? 'met' : 'NOT met'
  // Row `row` against row `base`: with --slice, the median of the pairs of adjacent slices of
  // every round (bench/lib/paired-slices.ts), its spread, and each round's ratio of its rows'
  // totals; without, the median of the rounds' ratios.
  const sliced = opts.slice > 0
  const paired = (row: number, base: number, of: (x: Result, y: Result) => number): { value: number, how: string } => {
    const perRound = `rounds ${rounds.map(r => of(r[row]!, r[base]!).toFixed(2)).join(' / ')}`
    if (!sliced) return { value: median(rounds.map(r => of(r[row]!, r[base]!))), how: perRound }
    const spread = pairedSpread(rounds, row, base, of)
    return { value: spread.median, how: `${describeSpread(spread, opts.slice)}; ${perRound}` }
  }
  const rps = (x: Result, y: Result): number => x.rps / y.rps
  const cpuPerRequest = (x: Result, y: Result): number => x.cpuUsPerRequest / y.cpuUsPerRequest
  const localVs = paired(2, 0, rps)
  const localCpu = paired(2, 0, cpuPerRequest)
  const vsSame = paired(2, 1, rps)
  const cpuVsSame = paired(2, 1, cpuPerRequest)
  const p99How = sliced ? ', the median of its slices\' p99' : ''
  console.log(`\n${placement}: local/constant ${localVs.value.toFixed(2)}× (saturated closed-loop rows; ${localVs.how}; target ≥ 0.80×: ${verdict(localVs.value >= 0.8)}); local p99 judged on the saturated closed-loop rows (${opts.connections} connections, the CPU the queue${p99How}): ${localRow.p99} ms (target ≤ 2 ms: ${verdict(localRow.p99 <= 2)}), the bare route's own ${constantRow.p99} ms; CPU per request ${localCpu.value.toFixed(2)}× the constant route's (${localCpu.how})`)
  console.log(`${placement}: local/constant with the local row's requests ${vsSame.value.toFixed(2)}×, CPU per request ${cpuVsSame.value.toFixed(2)}× (${cpuVsSame.how}); load generator CPU per request: constant ${constantRow.loader.toFixed(1)} µs, same requests ${sameRequests.loader.toFixed(1)} µs, local ${localRow.loader.toFixed(1)} µs`)
  if (rounds[0]!.length > 5) {
    const answerRow = summary[5]!
    const vsAnswer = paired(2, 5, rps)
    const cpuVsAnswer = paired(2, 5, cpuPerRequest)
    console.log(`${placement}: the bare route answering the local row's bytes: ${answerRow.ratio.toFixed(2)}× the constant's req/s, CPU per request ${answerRow.cpuRatio.toFixed(2)}×, load generator ${answerRow.loader.toFixed(1)} µs/req; the local row against it: req/s ${vsAnswer.value.toFixed(2)}× (${vsAnswer.how}), CPU per request ${cpuVsAnswer.value.toFixed(2)}× (${cpuVsAnswer.how})`)
  }
  const laneVsRoute = paired(2, 4, cpuPerRequest)
  console.log(`${placement}: local keys through the Fastify route (fast lane off): local/constant ${routeRow.ratio.toFixed(2)}×, CPU per request ${routeRow.cpuRatio.toFixed(2)}× the constant route's; the local row's CPU per request ${laneVsRoute.value.toFixed(2)}× this row's (${laneVsRoute.how})`)
  console.log(`${placement}: forwarded/constant ${forwardedRow.ratio.toFixed(2)}×; forwarded p99 judged on the saturated closed-loop rows: ${forwardedRow.p99} ms (target ≤ 10 ms: ${verdict(forwardedRow.p99 <= 10)}); CPU per request ${forwardedRow.cpuRatio.toFixed(2)}× (both hops); constant p99 ${constantRow.p99} ms`)
  // A row with non-2xx answers measured something else (503s while tasks moved: a process pinned
  // to one core of a loaded machine can stall past its consumer group's session timeout).
  const failed = summary.filter(r => r.errors > 0).map(r => `${r.name} ${r.errors}`)
  if (failed.length > 0) console.log(`${placement}: NOT A VALID MEASUREMENT — non-2xx answers (${failed.join(', ')})`)
}

const run = uniqueName('apibench')
const bench = await openBenchLog(backendOf(opts.backend), run)
const log = bench.log
const topics = platformTopics({ topicPrefix: `${run}-` })
await ensurePlatformTopics(log, { topicPrefix: `${run}-`, partitions: 6 })
const platform = await startPlatform({ log, topics, applicationId: run, settings: { balanceCacheTtlMs: opts.cacheTtlMs, balanceFastLane: opts.fastLane !== 0, apiRateLimit: opts.rateLimit === 0 ? null : { max: 1_000_000_000, windowMs: 1000 } } })
const a = await startProcessor(platform, { publicApi: true, waitRunning: false })
// A second public API over processor A's stores with the balance fast lane off: the fifth row,
// the local keys answered by the Fastify route in the same rounds (docs/benchmarks.md "API balance
// query, seventh pass").
const routeServer = buildServer({ readiness: new Readiness(), registry: new Registry() })
await routeServer.register(publicApi, {
  settings: { ...platform.settings, balanceFastLane: false },
  guard: platform.services.guard,
  cache: platform.services.cache,
  queries: new MemberQueries({ local: a.reader!, registry: new Registry() }),
  topics,
  producer: async () => { throw new Error('the benchmark posts no events through this server') }
})
await routeServer.listen({ host: '127.0.0.1', port: 0 })
const routeUrl = `http://127.0.0.1:${(routeServer.server.address() as { port: number }).port}`
const b = await startProcessor(platform, { publicApi: true, waitRunning: false })
const bare = Fastify()
const constant = async (): Promise<unknown> => ({ memberId: 'm0', earned: 100, reversed: 0, redeemed: 0, available: 100, qualifyingPoints: 100, tier: 'MEMBER', lastActivityAt: null, events: 1 })
bare.get('/constant', constant)
// The same constant for the local row's exact requests (its paths, its bearer header, ignored).
bare.get('/v1/members/:memberId/balance', constant)
// --answerRow: the local row's answer, filled in once a member is readable (its header lines in
// order but Node's own Date, Connection and Keep-Alive; its body).
const answer: { headers: Array<[string, string]>, body: string } = { headers: [], body: '' }
bare.get('/answer/v1/members/:memberId/balance', (_request, reply) => {
  for (const [name, value] of answer.headers) void reply.header(name, name === 'x-request-id' ? randomUUID() : value)
  void reply.send(answer.body)
})
await bare.listen({ host: '127.0.0.1', port: 0 })
/** One answer of the lane, its raw header lines in order and its body. */
function rawAnswer (url: string, headers: Record<string, string>): Promise<{ headers: Array<[string, string]>, body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, response => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', chunk => { body += chunk as string })
      response.on('end', () => {
        const lines: Array<[string, string]> = []
        for (let i = 0; i < response.rawHeaders.length; i += 2) lines.push([response.rawHeaders[i]!, response.rawHeaders[i + 1]!])
        resolve({ headers: lines.filter(([name]) => !['date', 'connection', 'keep-alive', 'content-length'].includes(name.toLowerCase())), body })
      })
    }).once('error', reject)
  })
}
try {
  // localTasks() throws STORE_CLOSED for a task closing during the first rebalance: not yet.
  const tasks = (): number => { try { return a.app!.localTasks().length + b.app!.localTasks().length } catch { return -1 } }
  await eventually(async () => [a.app!.state, b.app!.state, tasks()], s => s[0] === 'RUNNING' && s[1] === 'RUNNING' && s[2] === 6, 120_000)
  const token = await platform.token(['balances:read', 'events:write'])
  const members = Array.from({ length: opts.members }, (_, i) => `bench-${i}`)
  for (let i = 0; i < members.length; i += 500) await call(`${a.url}/v1/events`, token, { body: members.slice(i, i + 500).map(m => earn(m, `${m}-e`, 1000)) })
  for (const m of members) await eventually(() => call(`${a.url}/v1/members/${m}/balance`, token), r => r.status === 200, 60_000)
  const local = members.filter(m => a.app!.queryMetadataForKey('balances', m).local)
  const remote = members.filter(m => !a.app!.queryMetadataForKey('balances', m).local)
  // Tokens expire after 300 s: a fresh one for each round and for the in-process rows (the header
  // object is shared by the rows, so its value is replaced in place).
  const auth = { authorization: `Bearer ${token}` }
  const freshToken = async (): Promise<void> => {
    const fresh = await platform.token(['balances:read', 'events:write'], { fresh: true })
    // Verified once (the servers share the guard's verifier) before the rows send it.
    await call(`${a.url}/v1/members/${members[0]!}/balance`, fresh)
    auth.authorization = `Bearer ${fresh}`
  }
  const bareUrl = `http://127.0.0.1:${(bare.server.address() as { port: number }).port}`
  if (opts.answerRow !== 0) Object.assign(answer, await rawAnswer(`${a.url}/v1/members/${local[0]!}/balance`, auth))
  // Warm-up (both servers, both paths), then the engines' idle CPU rate.
  await autocannon(a.url, [...local, ...remote].map(m => `/v1/members/${m}/balance`), auth)
  await autocannon(bareUrl, ['/constant'], {})
  const idle0 = cpuMicros()
  const i0 = performance.now()
  await new Promise(resolve => setTimeout(resolve, 2000))
  const idleCpuPerMs = (cpuMicros() - idle0) / (performance.now() - i0)
  const byPlacement = new Map<Placement, Result[][]>(placements.map(p => [p, []]))
  const openByPlacement = new Map<Placement, OpenRow[][]>(placements.map(p => [p, []]))
  // The open loop's offered rate, the same for every row, round and placement: --openRate, or
  // --openFraction of the bare route's saturated req/s in the first round's first placement.
  let openRate = opts.openRate
  const traces: Array<[string, TraceReport]> = []
  const openRule = opts.openRate > 0 ? '--openRate' : `${opts.openFraction} × the bare route's saturated req/s in round 1`
  /** One open-loop row and this process's CPU per request meanwhile (the engines' idle subtracted). */
  const open = async (name: string, url: string, paths: string[], headers: Record<string, string>, placement: Placement): Promise<OpenRow> => {
    const cpu0 = cpuMicros()
    const t0 = performance.now()
    const job = (): ReturnType<typeof openLoop> => openLoop({ url, paths, headers, rate: openRate, seconds: opts.openSeconds > 0 ? opts.openSeconds : opts.seconds, connections: opts.connections, pinned: placement === 'pinned', stallTrace: opts.stallTrace, loaderGc: opts.loaderGc !== 0 })
    const { result, report } = opts.stallTrace > 0 ? await traceOpenRow(opts.stallTrace, `/tmp/${run}-sched.data`, job) : { result: await job(), report: undefined }
    if (report !== undefined) traces.push([`${placement} round ${openByPlacement.get(placement)!.length + 1} ${name}`, report])
    // The loader's 1 s warm-up is in this span and not in `total`: counted as if one more second of requests.
    const cpu = cpuMicros() - cpu0 - idleCpuPerMs * (performance.now() - t0)
    return { name, ...result, cpuUsPerRequest: cpu / Math.max(1, result.total + openRate) }
  }
  for (let round = 0; round < Math.max(1, opts.rounds); round++) {
    if (round > 0) await freshToken()
    for (const placement of placements) {
      // The profile, if asked, in the first round's first placement.
      const profile = (row: string): string | undefined => round === 0 && placement === placements[0] && profiled.includes(row) ? row : undefined
      if (placement === 'pinned') pinThisProcess('0')
      try {
        const localPaths = local.map(m => `/v1/members/${m}/balance`)
        const rows: Array<[name: string, url: string, paths: string[], headers: Record<string, string>, profiled?: string]> = [
          ['constant (bare Fastify)', bareUrl, ['/constant'], {}, 'constant'],
          ['constant, local requests', bareUrl, localPaths, auth],
          [`local keys (${local.length})`, a.url, localPaths, auth, 'local'],
          [`forwarded keys (${remote.length})`, a.url, remote.map(m => `/v1/members/${m}/balance`), auth, 'forwarded'],
          ['local keys, Fastify route (fast lane off)', routeUrl, localPaths, auth],
          ...(opts.answerRow !== 0 ? [['constant, the local row\'s answer', bareUrl, local.map(m => `/answer/v1/members/${m}/balance`), auth] as [string, string, string[], Record<string, string>]] : [])
        ]
        if (opts.slice <= 0) {
          // --slice 0: each row its full seconds in one piece, one row after the other.
          const results: Result[] = []
          for (const [name, url, paths, headers, p] of rows) results.push(await load(name, url, paths, headers, idleCpuPerMs, placement, p === undefined ? undefined : profile(p)))
          byPlacement.get(placement)!.push(results)
        } else {
          // The rows in alternating slices (bench/lib/paired-slices.ts), the order reversed every
          // other cycle; a profile covers the row's first slice.
          const slices = rows.map(() => [] as Result[])
          const cycles = Math.max(1, Math.round(opts.seconds / opts.slice))
          for (let cycle = 0; cycle < cycles; cycle++) {
            for (const i of cycleOrder(rows.map((_, i) => i), cycle)) {
              const [name, url, paths, headers, p] = rows[i]!
              slices[i]!.push(await load(name, url, paths, headers, idleCpuPerMs, placement, cycle === 0 && p !== undefined ? profile(p) : undefined, opts.slice))
            }
          }
          byPlacement.get(placement)!.push(rows.map(([name], i) => combineSlices(name, slices[i]!)))
        }
        if (openRate <= 0) openRate = Math.max(50, Math.round(byPlacement.get(placement)![0]![0]!.rps * opts.openFraction / 50) * 50)
        openByPlacement.get(placement)!.push([
          await open('constant (bare Fastify)', bareUrl, ['/constant'], {}, placement),
          await open(`local keys (${local.length})`, a.url, local.map(m => `/v1/members/${m}/balance`), auth, placement),
          await open(`forwarded keys (${remote.length})`, a.url, remote.map(m => `/v1/members/${m}/balance`), auth, placement)
        ])
      } finally {
        if (placement === 'pinned') pinThisProcess(`0-${cpus - 1}`)
      }
    }
  }
  for (const placement of placements) {
    report(placement, byPlacement.get(placement)!, idleCpuPerMs)
    reportOpenLoop(placement, openRate, openRule, opts.connections, openByPlacement.get(placement)!)
  }
  printTraces(traces, 2)
  if (opts.inProcess > 0) {
    await freshToken()
    // The servers' own JavaScript per request (no socket, no parse, no load generator), rounds
    // interleaved; the engines' idle CPU is not subtracted (a few % of a core: noise at this size).
    const localPaths = local.map(m => `/v1/members/${m}/balance`)
    const rows: Array<[string, Server, string[], Record<string, string>]> = [
      ['constant (bare Fastify)', bare.server, ['/constant'], {}],
      ['constant, local requests', bare.server, localPaths, auth],
      [`local keys (${local.length})`, a.server.server, localPaths, auth],
      ['local keys, Fastify route (fast lane off)', routeServer.server, localPaths, auth],
      ...(opts.answerRow !== 0 ? [['constant, the local row\'s answer', bare.server, local.map(m => `/answer/v1/members/${m}/balance`), auth] as [string, Server, string[], Record<string, string>]] : [])
    ]
    const results = rows.map(() => [] as number[])
    for (let round = 0; round < Math.max(3, opts.rounds); round++) {
      for (const [i, [name, server, paths, headers]] of rows.entries()) {
        const { us, status } = await inProcessCpu(server, paths, headers, opts.inProcess)
        if (status !== 200) throw new Error(`in process: ${name} answered ${status === 0 ? 'nothing at once' : status}`)
        results[i]!.push(us)
      }
    }
    console.log(`\nin process (no socket: the servers' JavaScript per request), ${opts.inProcess} requests per row and round, ${results[0]!.length} rounds`)
    console.log('| route | CPU µs/req, each round | median | vs constant (median of rounds) |')
    console.log('|---|---|---:|---:|')
    rows.forEach(([name], i) => {
      const ratio = median(results[i]!.map((us, round) => us / results[0]![round]!))
      console.log(`| ${name} | ${results[i]!.map(us => us.toFixed(2)).join(' / ')} | ${median(results[i]!).toFixed(2)} | ${ratio.toFixed(2)}× |`)
    })
  }
} finally {
  await bare.close()
  await routeServer.close()
  await b.close()
  await a.close()
  await platform.close()
  await bench.close()
}
