// Engine throughput: records/s through a stateful aggregation (per-key count and sum of `amount`
// over --keys keys, a RocksDB store with its changelog, one output record per input record) on
// --partitions partitions with --records records pre-produced into the input topic, under
// exactly_once_v2 and at_least_once. Measured from app.start() to the moment the application's
// group has committed offsets covering the whole input (listCommittedOffsets, polled every 50 ms);
// "steady" is from RUNNING (tasks created, stores restored) to that moment.
//
// Baselines, same topic, same run, same per-record work (JSON.parse and sum in a Map, no engine):
// - kafka: a plain @platformatic/kafka Consumer loop (the ratio's baseline), and, for reference,
//   the log port's PartitionReader (the fetch path the engine's consumer shares);
// - embedded: the port's PartitionReader over every partition.
// - kafka, for reference: a plain consume -> aggregate -> produce loop (platformatic consumer, the
//   port's idempotent producer, one output per input, sends of 5000 awaited; no store, no commits),
//   to tell the cost of writing the outputs from the engine's own.
// The baseline is measured before the engine runs and again after them; the ratio uses their mean.
// After each engine run the store is checked against the expected count and sum of every key.
//
//   node_modules/.bin/node bench/engine-throughput.ts [--records 200000] [--keys 10000]
//     [--partitions 12] [--backend kafka|embedded] [--guarantee both|exactly_once_v2|at_least_once]
//     [--config bufferedRecordsPerPartition=20000,commitIntervalMs=1000]   (numeric engine config overrides)
//     [--profile /tmp/engine]   (CPU profile of each engine run: top functions, /tmp/engine-<guarantee>.cpuprofile)
import type { LogRecord } from '../log/log-port.ts'
import type { StreamsConfigInput } from '../topology/runtime/streams-config.ts'
import { StreamsApplication } from '../topology/streams-application.ts'
import { StreamsBuilder } from '../topology/streams-builder.ts'
import { platformaticPipe, platformaticRead, portRead, type ReadTiming } from './lib/baselines.ts'
import { backendOf, parseArgs } from './lib/cli.ts'
import { printTop, saveProfile, startProfile, type CpuProfile } from './lib/cpu-profile.ts'
import { openBenchLog, partitionsOf, produce, tempStateDir, uniqueName } from './lib/logs.ts'
import { fmtMs, fmtRate, fmtRatio, nowMs, printTable, rate, waitForCommitted } from './lib/timing.ts'

const args = parseArgs({ records: 200_000, keys: 10_000, partitions: 12, backend: 'kafka', guarantee: 'both', timeout: 600, profile: '', config: '' })
const backend = backendOf(args.backend)
type Guarantee = 'exactly_once_v2' | 'at_least_once'
const isGuarantee = (g: string): g is Guarantee => g === 'exactly_once_v2' || g === 'at_least_once'
const guarantees: Guarantee[] = args.guarantee === 'both' ? ['exactly_once_v2', 'at_least_once'] : isGuarantee(args.guarantee) ? [args.guarantee] : []
if (guarantees.length === 0) throw new Error(`--guarantee must be both, exactly_once_v2 or at_least_once, got ${args.guarantee}`)
const timeoutMs = args.timeout * 1000
/** --config 'name=value,...': numeric StreamsConfig overrides (e.g. bufferedRecordsPerPartition=20000). */
const overrides: Record<string, number> = {}
for (const pair of args.config.split(',').filter(p => p !== '')) {
  const [name, value] = pair.split('=')
  if (name === undefined || value === undefined || !Number.isFinite(Number(value))) throw new Error(`--config wants name=number pairs, got ${pair}`)
  overrides[name] = Number(value)
}

interface Event { readonly amount: number, readonly merchant: string, readonly at: string }
interface Totals { count: number, sum: number }

const keyOf = (i: number): string => `member-${String((i * 7919) % args.keys).padStart(6, '0')}`
const eventOf = (i: number): Event => ({ amount: i % 97, merchant: `property-${i % 31}`, at: new Date(1_700_000_000_000 + i).toISOString() })

/** The per-record work of the baselines: what the aggregation does, without the engine. */
function aggregateInto (totals: Map<string, Totals>): (key: Buffer | null, value: Buffer | null) => void {
  return (key, value) => {
    if (key === null || value === null) return
    const k = key.toString('utf8')
    const event = JSON.parse(value.toString('utf8')) as Event
    const t = totals.get(k)
    if (t === undefined) totals.set(k, { count: 1, sum: event.amount })
    else { t.count++; t.sum += event.amount }
  }
}

function checkTotals (what: string, got: Map<string, Totals>, expected: Map<string, Totals>): void {
  for (const [k, e] of expected) {
    const g = got.get(k)
    if (g?.count !== e.count || g.sum !== e.sum) throw new Error(`${what}: ${k} is ${JSON.stringify(g)}, expected ${JSON.stringify(e)}`)
  }
}

interface EngineTiming { readonly guarantee: string, readonly totalMs: number, readonly steadyMs: number, readonly startMs: number, readonly closeMs: number }

const bench = await openBenchLog(backend, 'bench-engine-throughput')
const { log } = bench
const input = uniqueName('bench-events')
const output = uniqueName('bench-totals')
const created: string[] = [input, output]
const profiles: Array<{ guarantee: string, profile: CpuProfile }> = []
try {
  console.log(`engine throughput: ${args.records} records, ${args.keys} keys, ${args.partitions} partitions, ${backend} log, node ${process.version}${args.config ? `, config ${args.config}` : ''}`)
  await log.admin.createTopics([{ name: input, partitions: args.partitions }, { name: output, partitions: args.partitions }])
  const expected = new Map<string, Totals>()
  const producedAt = nowMs()
  const ends = await produce(log, input, args.partitions, args.records, i => {
    const key = keyOf(i)
    const event = eventOf(i)
    const t = expected.get(key)
    if (t === undefined) expected.set(key, { count: 1, sum: event.amount })
    else { t.count++; t.sum += event.amount }
    return { topic: input, key: Buffer.from(key), value: Buffer.from(JSON.stringify(event)), timestamp: 1_700_000_000_000 + i }
  })
  console.log(`pre-produced ${args.records} records in ${fmtMs(nowMs() - producedAt)} (not measured)`)

  const tps = partitionsOf(input, args.partitions)
  const baselineName = backend === 'kafka' ? 'plain @platformatic/kafka consumer' : 'port PartitionReader'
  const runBaseline = async (): Promise<ReadTiming> => {
    const totals = new Map<string, Totals>()
    const onRecord = aggregateInto(totals)
    const timing = backend === 'kafka'
      ? await platformaticRead(input, args.records, onRecord, timeoutMs)
      : await portRead(log, tps, args.records, (r: LogRecord) => onRecord(r.key, r.value), timeoutMs)
    checkTotals(baselineName, totals, expected)
    return timing
  }
  const runPortReader = async (): Promise<ReadTiming> => {
    const totals = new Map<string, Totals>()
    const onRecord = aggregateInto(totals)
    const timing = await portRead(log, tps, args.records, (r: LogRecord) => onRecord(r.key, r.value), timeoutMs)
    checkTotals('port PartitionReader', totals, expected)
    return timing
  }

  /** Reference (kafka): the same aggregation with its outputs written, outside the engine. */
  const runPipe = async (): Promise<ReadTiming> => {
    const pipeOutput = uniqueName('bench-pipe-out')
    created.push(pipeOutput)
    await log.admin.createTopics([{ name: pipeOutput, partitions: args.partitions }])
    const producer = await log.createProducer({ clientId: uniqueName('bench-pipe-producer') })
    const totals = new Map<string, Totals>()
    try {
      const timing = await platformaticPipe(input, args.records, (key, value) => {
        if (key === null || value === null) return null
        const k = key.toString('utf8')
        const event = JSON.parse(value.toString('utf8')) as Event
        let t = totals.get(k)
        if (t === undefined) totals.set(k, t = { count: 0, sum: 0 })
        t.count++
        t.sum += event.amount
        return { topic: pipeOutput, key, value: Buffer.from(JSON.stringify(t)) }
      }, records => producer.send(records), 5000, timeoutMs)
      checkTotals('consume-produce loop', totals, expected)
      return timing
    } finally {
      await producer.close()
    }
  }

  const runEngine = async (guarantee: Guarantee): Promise<EngineTiming> => {
    const applicationId = uniqueName(`bench-agg-${guarantee === 'exactly_once_v2' ? 'eos' : 'alos'}`)
    created.push(`${applicationId}-totals-changelog`)
    const builder = new StreamsBuilder()
    builder.stream<string, Event>(input)
      .groupByKey()
      .aggregate<Totals>(() => ({ count: 0, sum: 0 }), (_key, event, totals) => ({ count: totals.count + 1, sum: totals.sum + event.amount }), { storeName: 'totals' })
      .toStream()
      .to(output)
    const state = tempStateDir()
    const config: StreamsConfigInput = { ...overrides, applicationId, stateDir: state.dir, processingGuarantee: guarantee }
    const app = new StreamsApplication(builder.build(), { log, config })
    try {
      const stopProfile = args.profile === '' ? undefined : await startProfile()
      const t0 = nowMs()
      await app.start()
      const started = nowMs()
      await app.waitForState('RUNNING', timeoutMs)
      const running = nowMs()
      const done = await waitForCommitted(log, applicationId, ends, { timeoutMs, isFailed: () => app.state === 'ERROR' ? (app.error ?? new Error('application in ERROR')) : undefined })
      if (stopProfile) profiles.push({ guarantee, profile: await stopProfile() })
      // The committed view is applied right after the commit: give it a moment, then check every key.
      const store = app.store<string, Totals>('totals')
      const got = new Map<string, Totals>()
      for (let attempt = 0; ; attempt++) {
        got.clear()
        for (const k of expected.keys()) { const v = store.get(k); if (v !== undefined) got.set(k, v) }
        try { checkTotals(`engine (${guarantee})`, got, expected); break } catch (error) {
          if (attempt >= 40) throw error
          await new Promise(resolve => setTimeout(resolve, 50))
        }
      }
      const closing = nowMs()
      await app.close()
      return { guarantee, totalMs: done - t0, steadyMs: done - running, startMs: started - t0, closeMs: nowMs() - closing }
    } finally {
      if (app.state !== 'NOT_RUNNING') await app.close().catch(() => {})
      state.remove()
    }
  }

  const before = await runBaseline()
  const reader = backend === 'kafka' ? await runPortReader() : undefined
  const pipe = backend === 'kafka' ? await runPipe() : undefined
  const engines: EngineTiming[] = []
  for (const g of guarantees) engines.push(await runEngine(g))
  const after = await runBaseline()
  const baselineRate = (rate(args.records, before.totalMs) + rate(args.records, after.totalMs)) / 2
  const baselineSteady = (rate(args.records, before.steadyMs) + rate(args.records, after.steadyMs)) / 2

  console.log('')
  const rows: string[][] = [
    [`baseline: ${baselineName} (before)`, fmtMs(before.totalMs), fmtRate(rate(args.records, before.totalMs)), fmtRate(rate(args.records, before.steadyMs)), '', ''],
    [`baseline: ${baselineName} (after)`, fmtMs(after.totalMs), fmtRate(rate(args.records, after.totalMs)), fmtRate(rate(args.records, after.steadyMs)), '', '']
  ]
  if (reader) rows.push(['reference: port PartitionReader (kafka)', fmtMs(reader.totalMs), fmtRate(rate(args.records, reader.totalMs)), fmtRate(rate(args.records, reader.steadyMs)), fmtRatio(rate(args.records, reader.totalMs) / baselineRate), fmtRatio(rate(args.records, reader.steadyMs) / baselineSteady)])
  if (pipe) rows.push(['reference: consume-aggregate-produce loop', fmtMs(pipe.totalMs), fmtRate(rate(args.records, pipe.totalMs)), fmtRate(rate(args.records, pipe.steadyMs)), fmtRatio(rate(args.records, pipe.totalMs) / baselineRate), fmtRatio(rate(args.records, pipe.steadyMs) / baselineSteady)])
  for (const e of engines) {
    rows.push([`engine ${e.guarantee}`, fmtMs(e.totalMs), fmtRate(rate(args.records, e.totalMs)), fmtRate(rate(args.records, e.steadyMs)), fmtRatio(rate(args.records, e.totalMs) / baselineRate), fmtRatio(rate(args.records, e.steadyMs) / baselineSteady)])
  }
  printTable(['run', 'time', 'records/s', 'steady rec/s', 'ratio', 'steady ratio'], rows)
  console.log('')
  console.log('time/records/s: from client creation (engine: app.start()) to all input read (engine: committed offsets cover the input);')
  console.log('steady: from the first record (engine: RUNNING) to the same end. ratio: to the mean of the two baseline runs.')
  for (const e of engines) console.log(`engine ${e.guarantee}: start() ${fmtMs(e.startMs)}, start() to RUNNING ${fmtMs(e.totalMs - e.steadyMs - e.startMs)}, close() ${fmtMs(e.closeMs)}`)
  for (const { guarantee, profile } of profiles) {
    const file = `${args.profile}-${guarantee}.cpuprofile`
    saveProfile(profile, file)
    console.log(`\nengine ${guarantee}, app.start() to input committed (profiling slows it: ignore this run's rates), ${file}`)
    printTop(profile, 30)
  }
} finally {
  if (backend === 'kafka') await log.admin.deleteTopics(created).catch(() => {})
  await bench.close()
}
