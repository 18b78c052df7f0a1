// --stallTrace 1 of bench/api-balance.ts (docs/benchmarks.md "API balance query, eleventh pass"):
// what stalls a process's event loop during an open-loop row, and what each slow request ran into.
// In a process (the bench's own, with the servers and engines, and the open-loop loader child):
// a 1 ms interval timer; each tick reads the main thread's /proc/self/task/<pid>/schedstat (its
// time on a CPU and its time runnable but waiting for one, ns). A tick later than the interval by
// more than `thresholdMs` is a stall: its gap is split into the main thread's own CPU (of which
// GC, from the PerformanceObserver 'gc' entries overlapping it), run-queue wait (another task held
// the CPU) and the rest (blocked: off the run queue, e.g. waiting for a GC helper thread or in a
// system call). Times are CLOCK_MONOTONIC µs (process.hrtime), the same in every process and in
// `perf sched` (recorded with -k CLOCK_MONOTONIC), so the loader's slow requests, both processes'
// stalls and the other tasks on the CPUs line up.
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, openSync, readSync, rmSync } from 'node:fs'
import { PerformanceObserver, constants } from 'node:perf_hooks'
import { startProfile } from './cpu-profile.ts'

export interface Stall {
  /** The tick before the stall, CLOCK_MONOTONIC µs. */
  readonly atUs: number
  readonly gapMs: number
  readonly cpuMs: number
  readonly waitMs: number
  gcMs: number
  gcKinds: string
}
export interface Gc { readonly atUs: number, readonly ms: number, readonly kind: string }
export interface StallTrace { readonly startUs: number, readonly spanMs: number, /** V8 heap used and reserved at the end, MiB. */ readonly heapUsedMib: number, readonly heapTotalMib: number, readonly stalls: Stall[], readonly gcs: Gc[] }
/** A request of the loader slower than the bound: sent at `atUs` (CLOCK_MONOTONIC µs). */
export interface SlowRequest { readonly atUs: number, readonly ms: number, /** How late the loader sent it against its schedule. */ readonly lateMs: number }

export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n)
/** performance.now() ms → CLOCK_MONOTONIC µs (performance.now() counts from the same clock). */
export function performanceToMonotonic (): (ms: number) => number {
  const offset = monotonicUs() - performance.now() * 1000
  return ms => ms * 1000 + offset
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks'
}

/** Starts tracing this process's main thread; the returned function stops and answers. */
export function traceStalls (thresholdMs = 2): () => StallTrace {
  const fd = openSync(`/proc/self/task/${process.pid}/schedstat`, 'r')
  const buf = Buffer.alloc(128)
  const sched = (): [cpu: number, wait: number] => {
    const n = readSync(fd, buf, 0, buf.length, 0)
    const text = buf.toString('latin1', 0, n)
    const a = text.indexOf(' ')
    return [Number(text.slice(0, a)) / 1e6, Number(text.slice(a + 1, text.indexOf(' ', a + 1))) / 1e6]
  }
  const toMono = performanceToMonotonic()
  const gcs: Gc[] = []
  const observer = new PerformanceObserver(list => {
    for (const e of list.getEntries()) gcs.push({ atUs: toMono(e.startTime), ms: e.duration, kind: GC_KINDS[(e as unknown as { detail: { kind: number } }).detail.kind] ?? 'gc' })
  })
  observer.observe({ entryTypes: ['gc'] })
  const stalls: Stall[] = []
  const start = monotonicUs()
  let last = start
  let [lastCpu, lastWait] = sched()
  const timer = setInterval(() => {
    const now = monotonicUs()
    const [cpu, wait] = sched()
    const gapMs = (now - last) / 1000
    if (gapMs - 1 > thresholdMs) stalls.push({ atUs: last, gapMs, cpuMs: cpu - lastCpu, waitMs: wait - lastWait, gcMs: 0, gcKinds: '' })
    last = now
    lastCpu = cpu
    lastWait = wait
  }, 1)
  return () => {
    clearInterval(timer)
    observer.disconnect()
    closeSync(fd)
    for (const s of stalls) {
      const end = s.atUs + s.gapMs * 1000
      const kinds = new Set<string>()
      for (const g of gcs) {
        const overlap = Math.min(end, g.atUs + g.ms * 1000) - Math.max(s.atUs, g.atUs)
        if (overlap > 0) { s.gcMs += overlap / 1000; kinds.add(g.kind) }
      }
      s.gcKinds = [...kinds].join('+')
    }
    const heap = process.memoryUsage()
    return { startUs: start, spanMs: (monotonicUs() - start) / 1000, heapUsedMib: heap.heapUsed / 2 ** 20, heapTotalMib: heap.heapTotal / 2 ** 20, stalls, gcs }
  }
}

/** What a stall was mostly: GC, the main thread's own other work, waiting for a CPU, or blocked. */
export function stallKind (s: Stall): 'gc' | 'own work' | 'run queue' | 'blocked' {
  const blocked = Math.max(0, s.gapMs - s.cpuMs - s.waitMs)
  const parts: Array<[ReturnType<typeof stallKind>, number]> = [['gc', s.gcMs], ['own work', Math.max(0, s.cpuMs - s.gcMs)], ['run queue', s.waitMs], ['blocked', blocked]]
  return parts.sort((x, y) => y[1] - x[1])[0]![0]
}

function overlaps (s: Stall, from: number, to: number): boolean {
  return s.atUs < to && s.atUs + s.gapMs * 1000 > from
}

/** CPU time of the other tasks in a window, from `perf sched timehist` lines (run time ending at
 *  `time` on `cpu`). */
export interface SchedSlice { readonly endUs: number, readonly runMs: number, readonly tid: number, readonly pid: number, readonly comm: string }

/** `perf sched record` of the whole machine while `body` runs (root and perf needed; null when
 *  perf is missing or refuses), the slices parsed from `perf sched timehist`. */
export async function withSchedRecord<T> (file: string, body: () => Promise<T>): Promise<{ result: T, slices: SchedSlice[] | null }> {
  const perf = spawn('perf', ['sched', 'record', '-k', 'CLOCK_MONOTONIC', '-o', file], { stdio: 'ignore' })
  const ok = await new Promise<boolean>(resolve => { perf.once('error', () => resolve(false)); setTimeout(() => resolve(perf.exitCode === null), 500) })
  let result: T
  try { result = await body() } finally { if (ok) perf.kill('SIGINT') }
  if (!ok) return { result, slices: null }
  await new Promise(resolve => perf.exitCode !== null ? resolve(null) : perf.once('exit', resolve))
  const out = spawnSync('perf', ['sched', 'timehist', '-i', file], { encoding: 'utf8', maxBuffer: 1 << 30 })
  rmSync(file, { force: true })
  rmSync(`${file}.old`, { force: true })
  const slices: SchedSlice[] = []
  for (const line of out.stdout.split('\n')) {
    const m = /^\s*(\d+\.\d+)\s+\[\d+\]\s+(.+?)\[(\d+)(?:\/(\d+))?\]\s+[\d.]+\s+[\d.]+\s+([\d.]+)/.exec(line)
    if (m === null) continue
    slices.push({ endUs: Number(m[1]) * 1e6, runMs: Number(m[5]), tid: Number(m[3]), pid: Number(m[4] ?? m[3]), comm: m[2]!.trim() })
  }
  return { result, slices }
}

export interface TraceReport {
  readonly server: StallTrace
  readonly loader: StallTrace
  readonly slow: SlowRequest[]
  readonly requests: number
  readonly slices: SchedSlice[] | null
  readonly serverPid: number
  readonly loaderPid: number
  readonly profile?: TimedProfile
}

const f1 = (x: number): string => x.toFixed(1)

function byKind (trace: StallTrace, fromUs: number, toUs: number): string {
  const stalls = trace.stalls.filter(s => s.atUs >= fromUs && s.atUs < toUs)
  const gcs = trace.gcs.filter(g => g.atUs >= fromUs && g.atUs < toUs)
  const sums = new Map<string, { n: number, ms: number }>()
  for (const s of stalls) {
    const k = stallKind(s)
    const v = sums.get(k) ?? { n: 0, ms: 0 }
    v.n++
    v.ms += s.gapMs
    sums.set(k, v)
  }
  const gcMax = gcs.reduce((m, g) => Math.max(m, g.ms), 0)
  const kinds = [...sums].sort((x, y) => y[1].ms - x[1].ms).map(([k, v]) => `${k} ${v.n} (${f1(v.ms)} ms)`).join(', ')
  const gcByKind = new Map<string, { n: number, ms: number, max: number }>()
  for (const g of gcs) {
    const v = gcByKind.get(g.kind) ?? { n: 0, ms: 0, max: 0 }
    v.n++
    v.ms += g.ms
    v.max = Math.max(v.max, g.ms)
    gcByKind.set(g.kind, v)
  }
  const gc = [...gcByKind].map(([k, v]) => `${k} ${v.n}, ${f1(v.ms)} ms, longest ${f1(v.max)}`).join('; ')
  return `${stalls.length} stalls > 2 ms in ${f1((toUs - fromUs) / 1e6)} s, ${f1(stalls.reduce((sum, s) => sum + s.gapMs, 0))} ms in all: ${kinds || 'none'}; GC ${gc || 'none'} (longest ${f1(gcMax)} ms); heap ${trace.heapUsedMib.toFixed(0)} of ${trace.heapTotalMib.toFixed(0)} MiB at the end`
}

/** Who ran on the CPUs during [from, to] µs: ms per task class — this process's main thread or
 *  another of its threads (by thread name: V8's GC and compiler helpers are V8Worker), the loader,
 *  the broker, anything else (other processes of the machine, by name). */
function othersIn (slices: SchedSlice[], from: number, to: number, who: (s: SchedSlice) => string, into = new Map<string, number>()): Map<string, number> {
  for (const s of slices) {
    const overlap = Math.min(to, s.endUs) - Math.max(from, s.endUs - s.runMs * 1000)
    if (overlap <= 0 || s.pid === 0) continue
    const name = who(s)
    into.set(name, (into.get(name) ?? 0) + overlap / 1000)
  }
  return into
}
const top = (ms: Map<string, number>, n: number): string => [...ms].sort((x, y) => y[1] - x[1]).slice(0, n).map(([k, v]) => `${k} ${f1(v)}`).join(', ') || '—'

/** Prints one open-loop row's trace: each process's stalls by kind, what each slow request
 *  overlapped, the longest stalls, and (with perf) who held the CPUs meanwhile. */
export function printTrace (row: string, t: TraceReport, boundMs: number, brokerPids: number[]): void {
  const who = (x: SchedSlice): string => {
    const thread = x.tid === x.pid ? 'main' : x.comm.replace(/[\d-]+$/, '')
    if (x.pid === t.serverPid) return `bench ${thread}`
    if (x.pid === t.loaderPid) return `loader ${thread}`
    if (brokerPids.includes(x.pid)) return 'kafka broker'
    return x.comm === 'perf' || x.comm.startsWith('perf-') ? 'perf (this trace)' : `other: ${x.comm}`
  }
  // The loader's measured span (the server's trace also covers the warm-up and the perf parse).
  const from = t.loader.startUs
  const to = t.loader.startUs + t.loader.spanMs * 1000
  console.log(`stall trace, ${row}: server ${byKind(t.server, from, to)}`)
  console.log(`stall trace, ${row}: loader ${byKind(t.loader, from, to)}`)
  // Each slow request against the stalls in its span: the server's kind, the loader's, or none.
  const causes = new Map<string, number>()
  for (const r of t.slow) {
    const to = r.atUs + r.ms * 1000
    const server = t.server.stalls.filter(s => overlaps(s, r.atUs, to)).sort((x, y) => y.gapMs - x.gapMs)[0]
    const loader = t.loader.stalls.filter(s => overlaps(s, r.atUs, to)).sort((x, y) => y.gapMs - x.gapMs)[0]
    // None in its span: a stall that ended within 20 ms before it was sent (the request waited
    // behind that stall's backlog, or was sent late in the loader's burst after it), else none.
    const before = (trace: StallTrace): Stall | undefined => trace.stalls.filter(s => overlaps(s, r.atUs - 20_000, r.atUs)).sort((x, y) => y.gapMs - x.gapMs)[0]
    const prior = server === undefined && loader === undefined ? [before(t.server), before(t.loader)] : [undefined, undefined]
    const key = [server !== undefined ? `server ${stallKind(server)}` : '', loader !== undefined ? `loader ${stallKind(loader)}` : ''].filter(x => x !== '').join(' + ') ||
      [prior[0] !== undefined ? `after a server ${stallKind(prior[0])}` : '', prior[1] !== undefined ? `after a loader ${stallKind(prior[1])}` : ''].filter(x => x !== '').join(' + ') ||
      (r.lateMs > 1 ? 'no stall, sent > 1 ms late' : 'no stall')
    causes.set(key, (causes.get(key) ?? 0) + 1)
  }
  const loaderFree = t.slow.filter(r => !t.loader.stalls.some(s => overlaps(s, r.atUs - 20_000, r.atUs + r.ms * 1000)) && r.lateMs <= 1).length
  const share = (n: number): string => `${n} (${(100 * n / Math.max(1, t.requests)).toFixed(2)} %)`
  console.log(`stall trace, ${row}: ${share(t.slow.length)} of ${t.requests} requests over ${boundMs} ms; each by the longest stall it overlapped: ${[...causes].sort((x, y) => y[1] - x[1]).map(([k, n]) => `${k} ${n}`).join(', ') || '—'}`)
  console.log(`stall trace, ${row}: over ${boundMs} ms with no loader stall in its span or 20 ms before it and sent on time: ${share(loaderFree)} (p99 ≤ ${boundMs} ms needs fewer than 1 %)`)
  const longest = [...t.server.stalls.filter(s => s.atUs >= from && s.atUs < to).map(s => ['server', s] as const), ...t.loader.stalls.map(s => ['loader', s] as const)].sort((x, y) => y[1].gapMs - x[1].gapMs).slice(0, 6)
  for (const [proc, s] of longest) {
    const others = t.slices === null ? '' : `; on the CPUs meanwhile (ms): ${top(othersIn(t.slices, s.atUs, s.atUs + s.gapMs * 1000, who), 5)}`
    console.log(`stall trace, ${row}:   ${proc} ${f1(s.gapMs)} ms at +${f1((s.atUs - t.loader.startUs) / 1000)} ms: own CPU ${f1(s.cpuMs)} (GC ${f1(s.gcMs)}${s.gcKinds !== '' ? ` ${s.gcKinds}` : ''}), run queue ${f1(s.waitMs)}, blocked ${f1(Math.max(0, s.gapMs - s.cpuMs - s.waitMs))}${others}`)
  }
  if (t.profile !== undefined) console.log(`stall trace, ${row}: the server's own-work and GC stalls, CPU profile samples by the innermost project frame (ms): ${stallFunctions(t.profile, t.server.stalls.filter(s => s.atUs >= from && s.atUs < to), new URL('../../', import.meta.url).pathname)}`)
  if (t.slices !== null) {
    // Over all of each process's run-queue stalls: who held the CPUs.
    for (const [proc, trace] of [['server', t.server], ['loader', t.loader]] as const) {
      const queued = trace.stalls.filter(s => stallKind(s) === 'run queue' && s.atUs >= from && s.atUs < to)
      const total = new Map<string, number>()
      for (const s of queued) othersIn(t.slices, s.atUs, s.atUs + s.gapMs * 1000, who, total)
      console.log(`stall trace, ${row}: during the ${proc}'s ${queued.length} run-queue stalls (${f1(queued.reduce((sum, s) => sum + s.gapMs, 0))} ms) the CPUs ran (ms): ${top(total, 8)}`)
    }
  }
}

/** One open-loop row run by `job` under --stallTrace `level`: 1, this process's stalls beside the
 *  loader's; 2, and `perf sched` of the machine (into `schedFile`); 3, and a CPU profile of this
 *  process. No report when the loader sent no trace. */
export async function traceOpenRow<R extends { readonly total: number, readonly trace?: { loader: StallTrace, slow: SlowRequest[], pid: number } }> (level: number, schedFile: string, job: () => Promise<R>): Promise<{ result: R, report: TraceReport | undefined }> {
  const stop = traceStalls()
  const stopProfile = level > 2 ? await startProfile() : undefined
  const { result, slices } = level > 1 ? await withSchedRecord(schedFile, job) : { result: await job(), slices: null }
  const server = stop()
  const profile = stopProfile !== undefined ? await stopProfile() as unknown as TimedProfile : undefined
  if (result.trace === undefined) return { result, report: undefined }
  return { result, report: { server, loader: result.trace.loader, slow: result.trace.slow, requests: result.total, slices, serverPid: process.pid, loaderPid: result.trace.pid, ...(profile !== undefined ? { profile } : {}) } }
}

/** Prints the traced rows (label, report), the broker's pids named. */
export function printTraces (traces: ReadonlyArray<readonly [string, TraceReport]>, boundMs: number): void {
  if (traces.length === 0) return
  console.log(`\nstall trace of the open-loop rows (--stallTrace; bench/lib/stall-trace.ts): stalls of the event loop > ${boundMs} ms in this process (the servers and engines) and in the loader, what each request over ${boundMs} ms overlapped`)
  const brokers = brokerPids()
  for (const [row, t] of traces) printTrace(row, t, boundMs, brokers)
}

/** The local Kafka broker's pids (java processes whose command line names kafka), to name them. */
export function brokerPids (): number[] {
  const out = spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).stdout ?? ''
  return out.split('\n').filter(l => /\bjava\b/.test(l) && /kafka/i.test(l)).map(l => Number(l.trim().split(/\s+/)[0]))
}

interface ProfileNodeWithChildren { readonly id: number, readonly callFrame: { readonly functionName: string, readonly url: string, readonly lineNumber: number }, readonly children?: number[] }
export interface TimedProfile { readonly nodes: ProfileNodeWithChildren[], readonly samples: number[], readonly timeDeltas: number[], readonly startTime: number }

/** --stallTrace 3: the CPU profile's samples (V8's clock is CLOCK_MONOTONIC µs on Linux) inside the
 *  server's stalls of own work or GC, by the innermost frame of the project's code on the stack (or
 *  the leaf's name when none): what the main thread was running when it did not get to the timer. */
export function stallFunctions (profile: TimedProfile, stalls: Stall[], root: string): string {
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const label = (id: number): string => {
    const leaf = byId.get(id)!
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { url, functionName, lineNumber } = byId.get(at)!.callFrame
      const file = url.replace(/^file:\/\//, '')
      if (file.startsWith(root) && !file.includes('/node_modules/')) return `${functionName || '(anonymous)'} ${file.slice(root.length)}:${lineNumber + 1}`
    }
    return `${leaf.callFrame.functionName || '(anonymous)'} (no project frame)`
  }
  const windows = stalls.filter(s => stallKind(s) === 'own work' || stallKind(s) === 'gc').map(s => [s.atUs, s.atUs + s.gapMs * 1000] as const).sort((x, y) => x[0] - y[0])
  const ms = new Map<string, number>()
  let at = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0
    at += delta
    if (!windows.some(([from, to]) => at >= from && at < to)) continue
    const name = label(profile.samples[i]!)
    ms.set(name, (ms.get(name) ?? 0) + delta / 1000)
  }
  return top(ms, 8)
}
