// Engine throughput (issue 16): the engine on a trivial topology (mapValues, then
// groupByKey().count() into a RocksDB store with its changelog, the counts streamed to an output
// topic: one output per key per commit, Kafka Streams' record cache, docs/engine.md "Record
// cache") against a raw @platformatic/kafka consumer group reading the same
// input (JSON.parse per record, offsets committed every commit interval), same run, same topic,
// under exactly_once_v2 and at_least_once, both committing as often as the raw consumer (100 ms
// unless --config commitIntervalMs=N). --records records are pre-produced into the input topic
// over --partitions partitions and --keys keys.
// Engine: from app.start() to the moment the application's group has committed offsets covering
// the whole input (listCommittedOffsets, polled every 50 ms); "steady" is from RUNNING (tasks
// created, stores restored) to that moment. Raw consumer: from creating it to the last record;
// "steady" from its first record. The raw consumer runs before the engine runs and again after
// them; the ratio is engine rate / the mean of the two. After each engine run the store is checked
// against the expected count of every key.
// The window (the issue's figure since branch engine7, docs/benchmarks.md): both sides measured
// the same way, from the first input record handed to the per-record code (the raw consumer's
// handler, the engine's mapValues) to the group's committed offsets seen covering the input
// (polled every 20 ms on both sides); start-up (client creation, group join, topic checks, store
// opens) is printed apart, outside it on both sides. With it: the event loop's utilization and the
// main thread's CPU share over the window, and the local broker's CPU per record (it shares the
// machine's cores). The older figures above are printed as before.
//
//   node_modules/.bin/node bench/engine-throughput.ts [--records 1000000] [--keys 10000]
//     [--partitions 12] [--backend kafka|embedded] [--guarantee both|exactly_once_v2|at_least_once]
//     [--config commitIntervalMs=100,...]   (numeric engine config overrides)
//     [--timeout 600]   (s: each phase's bound; the [watchdog] lines on stderr say where it waits)
//     [--report 30]   (s between the watchdog's reports of a phase still running)
//     [--timeline 1]   (print each engine run's timeline: fetches, poll waits, commits and their steps;
//                      with BENCH_TIMELINE_DUMP=/tmp/x also its events as JSON, /tmp/x-<guarantee>.json)
//     [--rounds 1]   (runs the guarantees' sequence this many times in the same process: the first
//                    engine run also pays the JIT warm-up of the engine's code, the later ones not)
//     [--profile /tmp/engine]   (CPU profile of each engine run: top functions, /tmp/engine-<guarantee>.cpuprofile)
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import type { EventLoopUtilization } from 'node:perf_hooks'
import type { LogRecord } from '../log/log-port.ts'
import type { StreamsConfigInput } from '../topology/runtime/streams-config.ts'
import { StreamsApplication } from '../topology/streams-application.ts'
import { StreamsBuilder } from '../topology/streams-builder.ts'
import { platformaticRead, portRead, type ReadProgress, type ReadTiming } from './lib/baselines.ts'
import { KEEP_EVERY_RECORD } from '../lib/platform-topics.ts'
import { backendOf, parseArgs } from './lib/cli.ts'
import { printTop, saveProfile, startProfile, type CpuProfile } from './lib/cpu-profile.ts'
import { printTopAllocations, startHeapProfile, type HeapProfile } from './lib/heap-profile.ts'
import { openBenchLog, partitionsOf, produce, tempStateDir, uniqueName } from './lib/logs.ts'
import { fmtMs, fmtRate, fmtRatio, nowMs, printTable, rate, waitForCommitted } from './lib/timing.ts'
import { describeCommitted, Watchdog, withBound } from './lib/watchdog.ts'
import { printTimeline } from './lib/timeline.ts'
import { procStats, threadCpuByName, threadCpuSince } from './lib/proc-stats.ts'
import { startTimeline, stopTimeline } from '../lib/tracing/engine-timeline.ts'

const args = parseArgs({ records: 1_000_000, keys: 10_000, partitions: 12, backend: 'kafka', guarantee: 'both', timeout: 600, report: 30, profile: '', config: '', timeline: 0, heap: '', rounds: 1 })
const backend = backendOf(args.backend)
type Guarantee = 'exactly_once_v2' | 'at_least_once'
const isGuarantee = (g: string): g is Guarantee => g === 'exactly_once_v2' || g === 'at_least_once'
const guarantees: Guarantee[] = args.guarantee === 'both' ? ['exactly_once_v2', 'at_least_once'] : isGuarantee(args.guarantee) ? [args.guarantee] : []
if (guarantees.length === 0) throw new Error(`--guarantee must be both, exactly_once_v2 or at_least_once, got ${args.guarantee}`)
const timeoutMs = args.timeout * 1000
/** Every phase is bounded (--timeout s) and reports where it waits every --report s (stderr). */
const watchdog = new Watchdog({ reportEveryMs: args.report * 1000, exitGraceMs: 60_000 })
/** --config 'name=value,...': numeric StreamsConfig overrides (e.g. commitIntervalMs=100). */
const overrides: Record<string, number> = {}
for (const pair of args.config.split(',').filter(p => p !== '')) {
  const [name, value] = pair.split('=')
  if (name === undefined || value === undefined || !Number.isFinite(Number(value))) throw new Error(`--config wants name=number pairs, got ${pair}`)
  overrides[name] = Number(value)
}
/** A raw consumer that receives nothing for this long has stalled (docs/benchmarks.md, "The hang"). */
const BASELINE_STALL_MS = 15_000
/** The raw consumer commits as often as the engine does by default under exactly-once. */
const RAW_COMMIT_INTERVAL_MS = overrides['commitIntervalMs'] ?? 100
/** Both engine runs commit as often as the raw consumer: the end condition is "the input's offsets
 *  are committed", and at-least-once's default interval (1 s) left the last records' offsets
 *  uncommitted for up to 1 s after they were processed, idle time the raw consumer (100 ms) does
 *  not have (docs/benchmarks.md, "seventh pass"). */
const ENGINE_COMMIT_INTERVAL_MS = RAW_COMMIT_INTERVAL_MS

interface Event { readonly amount: number, readonly merchant: string, readonly at: string }

const keyOf = (i: number): string => `member-${String((i * 7919) % args.keys).padStart(6, '0')}`
const eventOf = (i: number): Event => ({ amount: i % 97, merchant: `property-${i % 31}`, at: new Date(1_700_000_000_000 + i).toISOString() })

function checkCounts (what: string, got: Map<string, number>, expected: Map<string, number>): void {
  for (const [k, e] of expected) {
    if (got.get(k) !== e) throw new Error(`${what}: ${k} is ${String(got.get(k))}, expected ${e}`)
  }
}

interface EngineProbe { step: string, app: StreamsApplication | undefined, applicationId: string }

interface EngineTiming { readonly guarantee: string, readonly totalMs: number, readonly steadyMs: number, readonly startMs: number, readonly closeMs: number, readonly cpuMs: number, readonly mainCpuMs: number, readonly threads: Array<[string, number]>, readonly window: Window }

/** The common measure of both sides (docs/benchmarks.md, "branch engine7"): from the first input
 *  record handed to the per-record code (the raw consumer's handler; the engine's mapValues) to
 *  the first time the group's committed offsets are seen covering the whole input (polled every
 *  COMMITTED_POLL_MS on both sides). Start-up (client creation, group join, topic checks, store
 *  opens) is outside it on both sides and printed on its own; the commit of the last records is
 *  inside it on both. */
interface Window {
  /** Client creation (engine: app.start()) to the first record. */
  readonly startupMs: number
  /** First record to input committed. */
  readonly ms: number
  /** First record to last record (each input record once: the engine's count includes re-processing after an abort). */
  readonly recordsMs: number
  /** Last record to input committed. */
  readonly tailMs: number
  /** Event loop utilization over the window (performance.eventLoopUtilization()). */
  readonly elu: number
  /** Main thread CPU over the window (process.threadCpuUsage()), ms. */
  readonly mainCpuMs: number
  /** The local broker's CPU from client creation (engine: app.start()) to input committed, ms (NaN: not found). */
  readonly brokerCpuMs: number
}

/** Polling interval of the committed offsets, both sides: bounds the window's error. */
const COMMITTED_POLL_MS = 20

/** Timestamps of the first and the `records`-th record seen by the per-record code, and the
 *  event loop and main-thread CPU snapshots at the first. */
class FirstLast {
  readonly #records: number
  #n = 0
  firstAt = 0
  lastAt = 0
  #elu: EventLoopUtilization | undefined
  #cpu: NodeJS.CpuUsage | undefined
  constructor (records: number) { this.#records = records }
  record (): void {
    if (++this.#n === 1) { this.firstAt = nowMs(); this.#elu = performance.eventLoopUtilization(); this.#cpu = process.threadCpuUsage() }
    if (this.#n === this.#records) this.lastAt = nowMs()
  }
  /** The input seen committed at `at` (nowMs()): the window ends; `t0` its client's creation. */
  end (at: number, t0: number, broker0: number): Window {
    return {
      startupMs: this.firstAt - t0,
      ms: at - this.firstAt,
      recordsMs: this.lastAt - this.firstAt,
      tailMs: at - this.lastAt,
      elu: this.#elu === undefined ? 0 : performance.eventLoopUtilization(this.#elu).utilization,
      mainCpuMs: this.#cpu === undefined ? 0 : mainCpuMsSince(this.#cpu),
      brokerCpuMs: brokerCpuMs() - broker0
    }
  }
}

/** The local Kafka broker's process (the JVM running kafka.Kafka), if it runs on this machine: on
 *  a 2-core machine its CPU is taken from the same cores as the bench's. */
const brokerPid = ((): number | undefined => {
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^[0-9]+$/.test(pid)) continue
      try { if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kafka.Kafka')) return Number(pid) } catch { /* gone */ }
    }
  } catch { /* no /proc */ }
  return undefined
})()
const brokerCpuMs = (): number => brokerPid === undefined ? Number.NaN : (procStats(brokerPid)?.cpuMs ?? Number.NaN)

/** CPU time (user + system) of this process since `from` (process.cpuUsage()), ms: the same
 *  process hosts each run in turn, so it is the run's (plus the committed-offsets poller's). */
const cpuMsSince = (from: NodeJS.CpuUsage): number => { const d = process.cpuUsage(from); return (d.user + d.system) / 1000 }
/** CPU time of the main thread alone since `from` (process.threadCpuUsage()), ms: the process's
 *  figure less RocksDB's background threads, libuv's pool and V8's helper threads. */
const mainCpuMsSince = (from: NodeJS.CpuUsage): number => { const d = process.threadCpuUsage(from); return (d.user + d.system) / 1000 }
const fmtCpu = (cpuMs: number): string => `${(cpuMs * 1000 / args.records).toFixed(1)} µs`

const bench = await openBenchLog(backend, 'bench-engine-throughput')
const { log } = bench
const input = uniqueName('bench-events')
const output = uniqueName('bench-counts')
const created: string[] = [input, output]
const profiles: Array<{ guarantee: string, profile: CpuProfile }> = []
const heapProfiles: Array<{ guarantee: string, profile: HeapProfile }> = []
try {
  console.log(`engine throughput (map + count): ${args.records} records, ${args.keys} keys, ${args.partitions} partitions, ${backend} log, node ${process.version}${args.config ? `, config ${args.config}` : ''}, engine and raw consumer commit every ${ENGINE_COMMIT_INTERVAL_MS} ms`)
  // The records are stamped in 2023: without retention.ms=-1 the broker's 7-day time retention
  // deletes them at its next check (every 5 min) while the bench reads (docs/benchmarks.md, "The hang").
  await log.admin.createTopics([input, output].map(name => ({ name, partitions: args.partitions, config: KEEP_EVERY_RECORD })))
  const expected = new Map<string, number>()
  const producedAt = nowMs()
  const ends = await watchdog.phase('pre-producing', timeoutMs, () => produce(log, input, args.partitions, args.records, i => {
    const key = keyOf(i)
    expected.set(key, (expected.get(key) ?? 0) + 1)
    return { topic: input, key: Buffer.from(key), value: Buffer.from(JSON.stringify(eventOf(i))), timestamp: 1_700_000_000_000 + i }
  }))
  console.log(`pre-produced ${args.records} records in ${fmtMs(nowMs() - producedAt)} (not measured)`)

  const tps = partitionsOf(input, args.partitions)
  const baselineName = backend === 'kafka' ? `raw @platformatic/kafka consumer group (parse, commit every ${RAW_COMMIT_INTERVAL_MS} ms)` : 'port PartitionReader (parse)'
  /** The baseline's per-record work: parse the value (what mapValues needs) and count per key. */
  const baselineOnce = async (when: string): Promise<ReadTiming & { cpuMs: number, mainCpuMs: number, window: Window }> => {
    const counts = new Map<string, number>()
    const seen = new FirstLast(args.records)
    const onRecord = (key: Buffer | null, value: Buffer | null): void => {
      seen.record()
      if (key === null || value === null) return
      const k = key.toString('utf8')
      JSON.parse(value.toString('utf8'))
      counts.set(k, (counts.get(k) ?? 0) + 1)
    }
    const groupId = uniqueName('bench-baseline')
    const progress: ReadProgress = { step: 'starting', records: 0 }
    const describe = async (): Promise<string> => `  baseline ${progress.step}, ${progress.records}/${args.records} records${progress.client ? `\n  ${progress.client()}` : ''}\n${backend === 'kafka' ? await describeCommitted(log, groupId, ends) : ''}`
    const cpu = process.cpuUsage()
    const mainCpu = process.threadCpuUsage()
    const broker0 = brokerCpuMs()
    const t0 = nowMs()
    // The raw group's committed offsets, polled as the engine's are (the window's end on both sides).
    let stopCommitted = false
    const committed = backend === 'kafka'
      ? waitForCommitted(log, groupId, ends, { timeoutMs, intervalMs: COMMITTED_POLL_MS, isFailed: () => stopCommitted ? new Error('stopped') : undefined }).then(at => seen.end(at, t0, broker0))
      : undefined
    committed?.catch(() => {})
    let timing: ReadTiming
    let window: Window | undefined
    try {
      timing = await watchdog.phase(`baseline (${when})`, timeoutMs, async () => {
        const read = await (backend === 'kafka'
          ? platformaticRead(input, args.records, onRecord, { autocommitMs: RAW_COMMIT_INTERVAL_MS, timeoutMs, groupId, progress, stallMs: BASELINE_STALL_MS })
          : portRead(log, tps, args.records, (r: LogRecord) => onRecord(r.key, r.value), timeoutMs))
        window = committed === undefined ? seen.end(seen.lastAt, t0, broker0) : await committed
        return read
      }, describe)
    } finally {
      stopCommitted = true
    }
    const cpuMs = cpuMsSince(cpu)
    const mainCpuMs = mainCpuMsSince(mainCpu)
    checkCounts(baselineName, counts, expected)
    return { ...timing, cpuMs, mainCpuMs, window: window! }
  }


  /** Where an engine run is, for the watchdog: its step, state, tasks and committed offsets. */
  const describeEngine = async (probe: EngineProbe): Promise<string> => {
    const app = probe.app
    if (app === undefined) return `  engine ${probe.step}`
    const tasks = app.localTasks().map(t => `${t.task}${t.ready ? '' : ' (not ready)'}`).join(', ')
    return `  engine ${probe.step}: state ${app.state}, stream thread ${app.streamThreadAlive ? 'alive' : 'not alive'}, tasks [${tasks}]\n${await describeCommitted(log, probe.applicationId, ends)}`
  }

  const runEngine = async (guarantee: Guarantee, label: string, probe: EngineProbe): Promise<EngineTiming> => {
    const applicationId = probe.applicationId = uniqueName(`bench-count-${guarantee === 'exactly_once_v2' ? 'eos' : 'alos'}`)
    created.push(`${applicationId}-counts-changelog`)
    const builder = new StreamsBuilder()
    const seen = new FirstLast(args.records)
    builder.stream<string, Event>(input)
      .mapValues(event => { seen.record(); return event.amount })
      .groupByKey()
      .count({ storeName: 'counts' })
      .toStream()
      .to(output)
    const state = tempStateDir()
    const config: StreamsConfigInput = { ...overrides, commitIntervalMs: ENGINE_COMMIT_INTERVAL_MS, applicationId, stateDir: state.dir, processingGuarantee: guarantee }
    const app = probe.app = new StreamsApplication(builder.build(), { log, config })
    try {
      const stopProfile = args.profile === '' ? undefined : await startProfile()
      const stopHeap = args.heap !== '' ? await startHeapProfile() : undefined
      if (args.timeline > 0) startTimeline()
      const elu = performance.eventLoopUtilization()
      const t0 = nowMs()
      const cpu = process.cpuUsage()
      const mainCpu = process.threadCpuUsage()
      const threadsCpu = threadCpuByName()
      const broker0 = brokerCpuMs()
      probe.step = 'start()'
      await app.start()
      const started = nowMs()
      probe.step = 'waiting for RUNNING'
      await app.waitForState('RUNNING', timeoutMs)
      const running = nowMs()
      probe.step = 'waiting for the input to be committed'
      const done = await waitForCommitted(log, applicationId, ends, { timeoutMs, intervalMs: COMMITTED_POLL_MS, isFailed: () => app.state === 'ERROR' ? (app.error ?? new Error('application in ERROR')) : undefined })
      const window = seen.end(done, t0, broker0)
      const cpuMs = cpuMsSince(cpu)
      const mainCpuMs = mainCpuMsSince(mainCpu)
      const threads = threadCpuSince(threadsCpu)
      if (args.timeline > 0) { const ev = stopTimeline(); if (process.env['BENCH_TIMELINE_DUMP'] !== undefined) writeFileSync(`${process.env['BENCH_TIMELINE_DUMP']}-${label.replaceAll(' ', '-')}.json`, JSON.stringify({ t0, events: ev })); printTimeline(label, ev, { t0, started, running, done, idleShare: 1 - performance.eventLoopUtilization(elu).utilization }) }
      if (stopProfile) profiles.push({ guarantee: label, profile: await stopProfile() })
      if (stopHeap) heapProfiles.push({ guarantee: label, profile: await stopHeap() })
      // The committed view is applied right after the commit: give it a moment, then check every key.
      probe.step = 'checking the store'
      const store = app.store<string, number>('counts')
      const got = new Map<string, number>()
      for (let attempt = 0; ; attempt++) {
        got.clear()
        for (const k of expected.keys()) { const v = store.get(k); if (v !== undefined) got.set(k, v) }
        try { checkCounts(`engine (${guarantee})`, got, expected); break } catch (error) {
          if (attempt >= 40) throw error
          await new Promise(resolve => setTimeout(resolve, 50))
        }
      }
      const closing = nowMs()
      probe.step = 'close()'
      await app.close()
      return { guarantee: label, totalMs: done - t0, steadyMs: done - running, startMs: started - t0, closeMs: nowMs() - closing, cpuMs, mainCpuMs, threads, window }
    } finally {
      if (app.state !== 'NOT_RUNNING') await withBound(app.close(), 30_000, 'close() after a failure').catch(() => {})
      state.remove()
    }
  }

  const before = await baselineOnce('before')
  const engines: EngineTiming[] = []
  for (let round = 1; round <= args.rounds; round++) {
    for (const g of guarantees) {
      const label = args.rounds > 1 ? `${g} round ${round}` : g
      const engine: EngineProbe = { step: 'creating', app: undefined, applicationId: '' }
      engines.push(await watchdog.phase(`engine ${label}`, timeoutMs, () => runEngine(g, label, engine), () => describeEngine(engine)))
    }
  }
  const after = await baselineOnce('after')
  const baselineRate = (rate(args.records, before.totalMs) + rate(args.records, after.totalMs)) / 2
  const baselineSteady = (rate(args.records, before.steadyMs) + rate(args.records, after.steadyMs)) / 2

  console.log('')
  const rows: string[][] = [
    [`baseline: ${baselineName} (before)`, fmtMs(before.totalMs), fmtRate(rate(args.records, before.totalMs)), fmtRate(rate(args.records, before.steadyMs)), '', ''],
    [`baseline: ${baselineName} (after)`, fmtMs(after.totalMs), fmtRate(rate(args.records, after.totalMs)), fmtRate(rate(args.records, after.steadyMs)), '', '']
  ]
  for (const e of engines) {
    rows.push([`engine map + count, ${e.guarantee}`, fmtMs(e.totalMs), fmtRate(rate(args.records, e.totalMs)), fmtRate(rate(args.records, e.steadyMs)), fmtRatio(rate(args.records, e.totalMs) / baselineRate), fmtRatio(rate(args.records, e.steadyMs) / baselineSteady)])
  }
  printTable(['run', 'time', 'records/s', 'steady rec/s', 'ratio', 'steady ratio'], rows)
  console.log('')
  console.log('time/records/s: from client creation (engine: app.start()) to all input read (engine: committed offsets cover the input);')
  console.log('steady: from the first record (engine: RUNNING) to the same end. ratio: engine / the mean of the two baseline runs.')
  for (const e of engines) console.log(`engine ${e.guarantee}: start() ${fmtMs(e.startMs)}, start() to RUNNING ${fmtMs(e.totalMs - e.steadyMs - e.startMs)}, close() ${fmtMs(e.closeMs)}`)
  const baselineCpu = (before.cpuMs + after.cpuMs) / 2
  console.log(`CPU per record (this process, user + system): baseline ${fmtCpu(before.cpuMs)} before, ${fmtCpu(after.cpuMs)} after`)
  console.log(`CPU per record, baseline main thread: ${fmtCpu(before.mainCpuMs)} before, ${fmtCpu(after.mainCpuMs)} after`)
  for (const e of engines) console.log(`CPU per record, engine ${e.guarantee}: ${fmtCpu(e.cpuMs)} (baseline / engine ${fmtRatio(baselineCpu / e.cpuMs)})`)
  for (const e of engines) console.log(`CPU per record, engine ${e.guarantee}: main thread ${fmtCpu(e.mainCpuMs)}, other threads ${fmtCpu(e.cpuMs - e.mainCpuMs)} (by thread name, /proc, 10 ms ticks: ${e.threads.map(([name, ms]) => `${name} ${fmtCpu(ms)}`).join(', ')})`)
  for (const e of engines) console.log(`ratio engine/raw ${e.guarantee}: ${fmtRatio(rate(args.records, e.totalMs) / baselineRate)}`)
  // The common window of both sides (Window): first record to input committed.
  const windowRate = (w: Window): number => rate(args.records, w.ms)
  const baselineWindowRate = (windowRate(before.window) + windowRate(after.window)) / 2
  const pct = (x: number): string => `${(x * 100).toFixed(0)}%`
  const windowRow = (name: string, w: Window, ratio: string): string[] => [name, fmtMs(w.startupMs), fmtMs(w.recordsMs), fmtMs(w.tailMs), fmtMs(w.ms), fmtRate(windowRate(w)), ratio, pct(w.elu), pct(w.mainCpuMs / w.ms), Number.isNaN(w.brokerCpuMs) ? '-' : fmtCpu(w.brokerCpuMs)]
  console.log('')
  printTable(['run', 'start-up', 'first to last record', 'last record to committed', 'window', 'window rec/s', 'window ratio', 'loop busy', 'main CPU busy', 'broker CPU/record'], [
    windowRow('baseline (before)', before.window, ''),
    windowRow('baseline (after)', after.window, ''),
    ...engines.map(e => windowRow(`engine ${e.guarantee}`, e.window, fmtRatio(windowRate(e.window) / baselineWindowRate)))
  ])
  console.log('')
  console.log('window: from the first input record handed to the per-record code (raw: its handler; engine: mapValues) to the group\'s committed')
  console.log(`offsets seen covering the input (polled every ${COMMITTED_POLL_MS} ms, both sides). start-up (client creation or app.start() to the first record) is outside it.`)
  console.log('loop busy: event loop utilization over the window; main CPU busy: main thread CPU / window; broker CPU: the local broker from start-up to committed.')
  for (const e of engines) console.log(`window ratio engine/raw ${e.guarantee}: ${fmtRatio(windowRate(e.window) / baselineWindowRate)}`)
  for (const { guarantee, profile } of profiles) {
    const file = `${args.profile}-${guarantee.replaceAll(' ', '-')}.cpuprofile`
    saveProfile(profile, file)
    console.log(`\nengine ${guarantee}, app.start() to input committed (profiling slows it: ignore this run's rates), ${file}`)
    printTop(profile, 30)
  }
  for (const { guarantee, profile } of heapProfiles) {
    const file = `${args.heap}-${guarantee.replaceAll(' ', '-')}.heapprofile`
    writeFileSync(file, JSON.stringify(profile))
    console.log(`\nengine ${guarantee}, app.start() to input committed: allocations, ${file}`)
    printTopAllocations(profile, 40)
  }
} finally {
  await watchdog.phase('clean-up', 60_000, async () => {
    if (backend === 'kafka') await log.admin.deleteTopics(created).catch(() => {})
    await bench.close()
  })
}
