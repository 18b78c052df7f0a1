// An open-loop load of one row (bench/api-balance.ts): a fixed offered rate, well below saturation,
// so that a latency percentile is the server's answer time, not a queue behind a saturated CPU
// (the closed-loop rows measure that: docs/benchmarks.md "API balance query, ninth pass"). The
// load generator is a child process (bench/lib/open-loop-child.ts), as autocannon is: the same
// machine, and with `pinned` on CPU 1.
import { spawn } from 'node:child_process'
import type { SlowRequest, StallTrace } from './stall-trace.ts'

export interface OpenLoad {
  readonly offered: number
  readonly achieved: number
  readonly total: number
  readonly errors: number
  /** Latency percentiles and maximum, µs (from the request handed to the pool to its last byte). */
  readonly p50Us: number
  readonly p99Us: number
  readonly p999Us: number
  readonly maxUs: number
  /** p99 of how late the loader sent a request against its schedule, µs (not in the latencies). */
  readonly lateP99Us: number
  /** The most requests sent and not yet answered at once (above the connections: a queue). */
  readonly maxInFlight: number
  readonly loaderCpuUs: number
  /** With `stallTrace`: the loader's own stalls and slow requests (bench/lib/stall-trace.ts). */
  readonly trace?: { loader: StallTrace, slow: SlowRequest[], pid: number }
}

export interface OpenLoadJob {
  readonly url: string
  readonly paths: string[]
  readonly headers: Record<string, string>
  /** Offered requests per second, evenly spaced. */
  readonly rate: number
  readonly seconds: number
  readonly connections: number
  /** On CPU 1 alone (taskset), as autocannon's `pinned` placement. */
  readonly pinned: boolean
  /** false: the loader with V8's default GC (LOADER_GC). */
  readonly loaderGc?: boolean
  /** 1: the loader traces its stalls and its requests over 2 ms (bench/lib/stall-trace.ts). */
  readonly stallTrace?: number
}

const CHILD = new URL('./open-loop-child.ts', import.meta.url).pathname
// The loader's own GC out of the latencies it measures (docs/benchmarks.md "API balance query,
// eleventh pass"): a young generation of 16 MiB from the start (V8 starts it at 1 MiB and grows it,
// ~25–30 scavenges in a 10 s row at 1 800 req/s), scavenged by the main thread alone (a parallel
// scavenge waits for V8's helper threads, which on 2 shared cores wait for a CPU: up to 17 ms seen).
// Off with `loaderGc: false` (--loaderGc 0) for the loader as before.
const LOADER_GC = ['--min-semi-space-size=16', '--max-semi-space-size=16', '--single-threaded-gc']

export function openLoop (job: OpenLoadJob): Promise<OpenLoad> {
  return new Promise((resolve, reject) => {
    const flags = job.loaderGc === false ? [] : LOADER_GC
    const [command, args] = job.pinned ? ['taskset', ['-c', '1', process.execPath, ...flags, CHILD]] : [process.execPath, [...flags, CHILD]]
    const child = spawn(command, args, { env: { ...process.env, BENCH_OPEN_LOOP: JSON.stringify(job) }, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', c => { out += c })
    child.once('error', reject)
    child.once('close', code => code === 0 ? resolve(JSON.parse(out) as OpenLoad) : reject(new Error(`open-loop load generator exited ${code}`)))
  })
}

/** One open-loop row of a round, with this process's CPU per request (engines' idle subtracted). */
export interface OpenRow extends OpenLoad { readonly name: string, readonly cpuUsPerRequest: number }

function median (values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const ms = (us: number): string => (us / 1000).toFixed(2)

/** Prints one placement's open-loop rows (rows: constant, local, forwarded in each round), their
 *  medians over the rounds, the p99 ratios to the constant route, and the p99 verdicts judged on
 *  these rows (issue 16: local ≤ 2 ms, forwarded ≤ 10 ms). */
export function reportOpenLoop (placement: string, rate: number, rule: string, connections: number, rounds: OpenRow[][]): void {
  console.log(`\n${placement}, open loop: ${rate} req/s offered to every row (${rule}), evenly spaced, ${rounds[0]![0]!.total} requests per row recorded after a 1 s warm-up; latency from the request handed to the loader's connection pool to its answer's last byte`)
  console.log('| round | route | offered req/s | achieved req/s | p50 ms | p99 ms | p999 ms | max ms | p99 vs constant | loader late p99 ms | max in flight | CPU µs/req | non-2xx |')
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  rounds.forEach((rows, i) => {
    for (const r of rows) console.log(`| ${i + 1} | ${r.name} | ${r.offered} | ${Math.round(r.achieved)} | ${ms(r.p50Us)} | ${ms(r.p99Us)} | ${ms(r.p999Us)} | ${ms(r.maxUs)} | ${(r.p99Us / rows[0]!.p99Us).toFixed(2)}× | ${ms(r.lateP99Us)} | ${r.maxInFlight} | ${r.cpuUsPerRequest.toFixed(1)} | ${r.errors} |`)
  })
  const summary = rounds[0]!.map((_, row) => ({
    name: rounds[0]![row]!.name,
    achieved: median(rounds.map(r => r[row]!.achieved)),
    p50: median(rounds.map(r => r[row]!.p50Us)),
    p99: median(rounds.map(r => r[row]!.p99Us)),
    p999: median(rounds.map(r => r[row]!.p999Us)),
    ratio: median(rounds.map(r => r[row]!.p99Us / r[0]!.p99Us)),
    cpu: median(rounds.map(r => r[row]!.cpuUsPerRequest)),
    errors: rounds.reduce((sum, r) => sum + r[row]!.errors, 0)
  }))
  if (rounds.length > 1) {
    console.log(`\nmedian over the rounds (${placement}, open loop at ${rate} req/s):`)
    console.log('| route | achieved req/s | p50 ms | p99 ms | p999 ms | p99 vs constant | CPU µs/req | non-2xx |')
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|')
    for (const r of summary) console.log(`| ${r.name} | ${Math.round(r.achieved)} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.p999)} | ${r.ratio.toFixed(2)}× | ${r.cpu.toFixed(1)} | ${r.errors} |`)
  }
  const [constant, local, forwarded] = summary as [typeof summary[0], typeof summary[0], typeof summary[0]]
  const verdict = (met: boolean): string => met ? 'met' : 'NOT met'
  console.log(`\n${placement}: local p99 judged at the fixed offered rate (open loop, ${rate} req/s): ${ms(local.p99)} ms (target ≤ 2 ms: ${verdict(local.p99 <= 2000)}); p50 ${ms(local.p50)} ms, p999 ${ms(local.p999)} ms; the bare route's own p99 at this rate ${ms(constant.p99)} ms (local/constant p99 ${local.ratio.toFixed(2)}×)`)
  console.log(`${placement}: forwarded p99 judged at the fixed offered rate (open loop, ${rate} req/s): ${ms(forwarded.p99)} ms (target ≤ 10 ms: ${verdict(forwarded.p99 <= 10_000)}); p50 ${ms(forwarded.p50)} ms, p999 ${ms(forwarded.p999)} ms (forwarded/constant p99 ${forwarded.ratio.toFixed(2)}×)`)
  // A row that did not keep up with the offered rate measured a queue, not an answer time.
  const behind = summary.filter(r => r.achieved < 0.95 * rate).map(r => `${r.name} ${Math.round(r.achieved)} req/s`)
  if (behind.length > 0) console.log(`${placement}: open loop NOT A VALID LATENCY MEASUREMENT — rows below 95 % of the offered rate (${behind.join(', ')})`)
  // Or it kept up on average but fell behind for a while: requests queued for a connection.
  const queued = rounds.flatMap((rows, i) => rows.filter(r => r.maxInFlight > connections).map(r => `round ${i + 1} ${r.name} ${r.maxInFlight} in flight`))
  if (queued.length > 0) console.log(`${placement}: open loop: the server fell behind the offered rate for a while, requests queued for the ${connections} connections (${queued.join(', ')}): those rows' percentiles include that queue`)
  const failed = summary.filter(r => r.errors > 0).map(r => `${r.name} ${r.errors}`)
  if (failed.length > 0) console.log(`${placement}: open loop NOT A VALID MEASUREMENT — non-2xx answers (${failed.join(', ')})`)
}
