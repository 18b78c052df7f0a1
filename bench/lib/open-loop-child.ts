// The open-loop load generator of bench/lib/open-loop.ts, run as a child process: requests sent on
// a fixed schedule (rate req/s, evenly spaced), whether or not the earlier ones were answered, over
// a keep-alive pool of `connections`; each latency from the moment the request is handed to the
// pool (a request waiting for a free connection waits on the clock) to the answer's last byte, in
// microseconds. Prints one JSON line: the percentiles, the achieved rate, non-2xx, and how late
// the schedule ran (the loader's own timer lag, which is not in the latencies).
import { Pool } from 'undici'
import { performanceToMonotonic, traceStalls, type SlowRequest, type StallTrace } from './stall-trace.ts'

interface Job { url: string, paths: string[], headers: Record<string, string>, rate: number, seconds: number, connections: number, stallTrace?: number }
const job = JSON.parse(process.env.BENCH_OPEN_LOOP!) as Job
const pool = new Pool(job.url, { connections: job.connections, pipelining: 1, keepAliveTimeout: 30_000 })
const latencies: number[] = []
const lateness: number[] = []
let errors = 0
// Requests sent and not yet answered, and the most at once: above the pool's connections, requests
// waited in the pool for a connection (the server fell behind the offered rate for a while).
let inFlight = 0
let maxInFlight = 0
let sent = 0
let done = 0
// The first second is a warm-up (the child's own JIT, the connections opening): sent on the same
// schedule, not recorded.
const warmup = Math.round(job.rate)
const total = warmup + Math.round(job.rate * job.seconds)
const intervalMs = 1000 / job.rate
const start = performance.now()

let measuredFrom = 0
// --stallTrace (bench/lib/stall-trace.ts): this process's stalls and its requests slower than 2 ms,
// from the end of the warm-up.
const toMono = performanceToMonotonic()
const slow: SlowRequest[] = []
let stopTrace: (() => StallTrace) | undefined
let cpuFrom = process.cpuUsage()

const origin = new URL(job.url).origin

/** One request by dispatch() with a handler of its own (no Readable body, no URL parsed per call:
 *  the loader's CPU per request is then close to autocannon's). */
function one (path: string, recorded: boolean, lateMs: number): void {
  const t0 = performance.now()
  let status = 0
  if (recorded && ++inFlight > maxInFlight) maxInFlight = inFlight
  const end = (failed: boolean): void => {
    if (recorded) inFlight--
    if (recorded) {
      if (!failed) latencies.push((performance.now() - t0) * 1000)
      if (stopTrace !== undefined && !failed && performance.now() - t0 > 2) slow.push({ atUs: toMono(t0), ms: performance.now() - t0, lateMs })
      if (failed || status < 200 || status > 299) errors++
    }
    if (++done === total) finish()
  }
  pool.dispatch({ origin, path, method: 'GET', headers: job.headers }, {
    onRequestStart () {},
    onResponseStart (_controller, statusCode) { status = statusCode },
    onResponseData () {},
    onResponseEnd () { end(false) },
    onResponseError () { end(true) }
  })
}

/** Sends every request whose time has come (a timer fires ~1 ms apart: a few per tick at most). */
function tick (): void {
  const now = performance.now()
  while (sent < total && start + sent * intervalMs <= now) {
    const recorded = sent >= warmup
    if (sent === warmup) { measuredFrom = now; cpuFrom = process.cpuUsage(); if (job.stallTrace !== undefined && job.stallTrace > 0) stopTrace = traceStalls() }
    if (recorded) lateness.push((now - (start + sent * intervalMs)) * 1000)
    one(job.paths[sent % job.paths.length]!, recorded, now - (start + sent * intervalMs))
    sent++
  }
  if (sent < total) setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()))
}

function percentile (sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!
}

function finish (): void {
  const elapsed = (performance.now() - measuredFrom) / 1000
  const sorted = latencies.sort((x, y) => x - y)
  const late = lateness.sort((x, y) => x - y)
  const cpu = process.cpuUsage(cpuFrom)
  const trace = stopTrace?.()
  process.stdout.write(JSON.stringify({
    offered: job.rate,
    achieved: latencies.length / elapsed,
    total: latencies.length,
    errors,
    p50Us: percentile(sorted, 0.5),
    p99Us: percentile(sorted, 0.99),
    p999Us: percentile(sorted, 0.999),
    maxUs: sorted[sorted.length - 1] ?? 0,
    lateP99Us: percentile(late, 0.99),
    maxInFlight,
    loaderCpuUs: cpu.user + cpu.system,
    ...(trace !== undefined ? { trace: { loader: trace, slow, pid: process.pid } } : {})
  }))
  void pool.close()
}

tick()
