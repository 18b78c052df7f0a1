// Changelog restore: records/s at which a fresh instance (empty state directory) brings its
// stores back from the changelog before it reports RUNNING.
//
// Setup (not measured): an empty input topic and the store's changelog topic
// (`<app>-totals-changelog`, --partitions partitions, created uncompacted: see below) holding --records records over
// --keys keys, written directly as the engine writes them (JSON { count, sum } values, murmur2
// partitioning by key). Measured:
// - engine: app.start() to RUNNING with an empty state dir (every task restores its partition of
//   the changelog into RocksDB); the store is then checked against the last value of every key;
// - start-up overhead: the same application on an empty changelog (join, task creation, no
//   restore), run before and after, so "restore only" = engine time minus their mean;
// - baseline: a plain @platformatic/kafka consumer reading the same changelog from the earliest
//   offset (keeping the last value per key in a Map), and for reference the port's
//   PartitionReader over all partitions at once (the reader the restore uses, one partition at a
//   time). On --backend embedded the baseline is the port reader, which reads up to the end offsets.
// - the restore path alone: a ChangelogReader over all partitions into one RocksDB store per
//   partition (what the engine's restoring tasks do, without the engine), with its write time.
// The baseline runs before and after the engine; ratios use their mean.
//
//   node_modules/.bin/node bench/engine-restore.ts [--records 200000] [--keys 10000]
//     [--partitions 12] [--backend kafka|embedded] [--profile /tmp/restore]
import type { LogRecord } from '../log/log-port.ts'
import { StreamsApplication } from '../topology/streams-application.ts'
import { StreamsBuilder } from '../topology/streams-builder.ts'
import { platformaticRead, portRead, type ReadTiming } from './lib/baselines.ts'
import { readerRestore } from './lib/changelog-restore.ts'
import { backendOf, parseArgs } from './lib/cli.ts'
import { printTop, saveProfile, startProfile, type CpuProfile } from './lib/cpu-profile.ts'
import { openBenchLog, partitionsOf, produce, tempStateDir, uniqueName } from './lib/logs.ts'
import { fmtMs, fmtRate, fmtRatio, nowMs, printTable, rate } from './lib/timing.ts'

const args = parseArgs({ records: 200_000, keys: 10_000, partitions: 12, backend: 'kafka', timeout: 600, profile: '' })
const backend = backendOf(args.backend)
const timeoutMs = args.timeout * 1000

interface Totals { count: number, sum: number }
const keyOf = (i: number): string => `member-${String((i * 7919) % args.keys).padStart(6, '0')}`
const totalsOf = (i: number): Totals => ({ count: Math.floor(i / args.keys) + 1, sum: i * 3 })

function topologyOn (input: string): StreamsBuilder {
  const builder = new StreamsBuilder()
  builder.stream<string, { amount: number }>(input)
    .groupByKey()
    .aggregate<Totals>(() => ({ count: 0, sum: 0 }), (_key, event, totals) => ({ count: totals.count + 1, sum: totals.sum + event.amount }), { storeName: 'totals' })
    .toStream()
    .to(`${input}-out`)
  return builder
}

const bench = await openBenchLog(backend, 'bench-engine-restore')
const { log } = bench
const input = uniqueName('bench-restore-in')
const applicationId = uniqueName('bench-restore')
const emptyApplicationId = uniqueName('bench-restore-empty')
const changelog = `${applicationId}-totals-changelog`
const created = [input, `${input}-out`, changelog, `${emptyApplicationId}-totals-changelog`, `${emptyApplicationId}-2-totals-changelog`]
let profile: CpuProfile | undefined
try {
  console.log(`engine restore: ${args.records} changelog records, ${args.keys} keys, ${args.partitions} partitions, ${backend} log, node ${process.version}`)
  await log.admin.createTopics([
    { name: input, partitions: args.partitions },
    { name: `${input}-out`, partitions: args.partitions },
    // Not compacted (the engine would create it compacted): the embedded log compacts as it goes,
    // which would leave a varying number of records to read; Kafka never compacts the active
    // segment anyway. Every run reads all --records records.
    { name: changelog, partitions: args.partitions }
  ])
  const expected = new Map<string, Totals>()
  const producedAt = nowMs()
  const ends = await produce(log, changelog, args.partitions, args.records, i => {
    const key = keyOf(i)
    const value = totalsOf(i)
    expected.set(key, value)
    return { topic: changelog, key: Buffer.from(key), value: Buffer.from(JSON.stringify(value)) }
  })
  console.log(`wrote ${args.records} changelog records in ${fmtMs(nowMs() - producedAt)} (not measured)`)

  const tps = partitionsOf(changelog, args.partitions)
  const baselineName = backend === 'kafka' ? 'plain @platformatic/kafka consumer' : 'port PartitionReader'
  const check = (what: string, got: Map<string, string>): void => {
    for (const [k, v] of expected) if (got.get(k) !== JSON.stringify(v)) throw new Error(`${what}: ${k} is ${got.get(k)}, expected ${JSON.stringify(v)}`)
  }
  const runPortReader = async (): Promise<ReadTiming> => {
    const last = new Map<string, string>()
    const timing = await portRead(log, tps, ends, (r: LogRecord) => { last.set(r.key!.toString('utf8'), r.value!.toString('utf8')) }, timeoutMs)
    check('port PartitionReader', last)
    return timing
  }
  const runBaseline = async (): Promise<ReadTiming> => {
    if (backend !== 'kafka') return runPortReader()
    const last = new Map<string, string>()
    const timing = await platformaticRead(changelog, args.records, (key, value) => { last.set(key!.toString('utf8'), value!.toString('utf8')) }, { timeoutMs })
    check(baselineName, last)
    return timing
  }

  /** Time from app.start() to RUNNING with an empty state dir. */
  const runEngine = async (appId: string, verify: boolean, profiled: boolean): Promise<number> => {
    const state = tempStateDir()
    const app = new StreamsApplication(topologyOn(input).build(), { log, config: { applicationId: appId, stateDir: state.dir } })
    try {
      const stopProfile = profiled ? await startProfile() : undefined
      const t0 = nowMs()
      await app.start()
      await app.waitForState('RUNNING', timeoutMs)
      const elapsed = nowMs() - t0
      if (stopProfile) profile = await stopProfile()
      if (verify) {
        const store = app.store<string, Totals>('totals')
        for (const [k, v] of expected) {
          const got = store.get(k)
          if (got?.count !== v.count || got.sum !== v.sum) throw new Error(`restored ${k} is ${JSON.stringify(got)}, expected ${JSON.stringify(v)}`)
        }
      }
      await app.close()
      return elapsed
    } finally {
      if (app.state !== 'NOT_RUNNING') await app.close().catch(() => {})
      state.remove()
    }
  }

  const before = await runBaseline()
  if (before.records !== args.records) console.log(`the ${backend} log compacted the changelog: ${before.records} of ${args.records} records left to read (rates below are changelog offsets/s)`)
  const reader = backend === 'kafka' ? await runPortReader() : undefined
  const alone = await readerRestore(log, tps, timeoutMs)
  const overheadBeforeMs = await runEngine(emptyApplicationId, false, false)
  const engineMs = await runEngine(applicationId, true, args.profile !== '')
  const overheadAfterMs = await runEngine(`${emptyApplicationId}-2`, false, false)
  const overheadMs = (overheadBeforeMs + overheadAfterMs) / 2
  const after = await runBaseline()
  const baselineRate = (rate(args.records, before.totalMs) + rate(args.records, after.totalMs)) / 2
  const baselineSteady = (rate(args.records, before.steadyMs) + rate(args.records, after.steadyMs)) / 2
  // Start-up noise can exceed a short restore: then there is no restore-only figure.
  const restoreOnlyMs = engineMs - overheadMs > 0.1 * engineMs ? engineMs - overheadMs : undefined

  console.log('')
  const rows: string[][] = [
    [`baseline: ${baselineName} (before)`, fmtMs(before.totalMs), fmtRate(rate(args.records, before.totalMs)), fmtRate(rate(args.records, before.steadyMs)), '', ''],
    [`baseline: ${baselineName} (after)`, fmtMs(after.totalMs), fmtRate(rate(args.records, after.totalMs)), fmtRate(rate(args.records, after.steadyMs)), '', '']
  ]
  if (reader) rows.push(['reference: port PartitionReader, all partitions', fmtMs(reader.totalMs), fmtRate(rate(args.records, reader.totalMs)), fmtRate(rate(args.records, reader.steadyMs)), fmtRatio(rate(args.records, reader.totalMs) / baselineRate), fmtRatio(rate(args.records, reader.steadyMs) / baselineSteady)])
  rows.push([`restore path alone: ChangelogReader into RocksDB (writes ${fmtMs(alone.writeMs)}; main thread CPU ${fmtMs(alone.mainThreadCpuUs / 1000)} = ${(alone.mainThreadCpuUs / args.records).toFixed(2)} µs/record; GC ${fmtMs(alone.gcMs)}; ${alone.minorFaults} minor faults)`, fmtMs(alone.totalMs), fmtRate(rate(args.records, alone.totalMs)), '', fmtRatio(rate(args.records, alone.totalMs) / baselineRate), ''])
  rows.push([`engine: start() to RUNNING, empty changelog (${fmtMs(overheadBeforeMs)}, ${fmtMs(overheadAfterMs)})`, fmtMs(overheadMs), '', '', '', ''])
  rows.push(['engine: start() to RUNNING, restoring', fmtMs(engineMs), fmtRate(rate(args.records, engineMs)),
    restoreOnlyMs === undefined ? 'n/a (noise)' : fmtRate(rate(args.records, restoreOnlyMs)),
    fmtRatio(rate(args.records, engineMs) / baselineRate),
    restoreOnlyMs === undefined ? 'n/a' : fmtRatio(rate(args.records, restoreOnlyMs) / baselineSteady)])
  printTable(['run', 'time', 'records/s', 'steady rec/s', 'ratio', 'steady ratio'], rows)
  console.log('')
  console.log('records/s: from client creation (engine: app.start()) to the last record read (engine: RUNNING, all stores restored);')
  console.log('steady: baselines from the first record; engine: restore only (its time minus the empty-changelog start-up). ratio: to the mean of the two baseline runs.')
  const restoreRate = rate(args.records, restoreOnlyMs ?? engineMs)
  console.log(`restore ${restoreRate >= 200_000 ? '≥' : '<'} 200k rec/s: ${fmtRate(restoreRate)} (engine, ${restoreOnlyMs === undefined ? 'start-up included' : 'restore only'})`)
  if (profile) {
    const file = `${args.profile}.cpuprofile`
    saveProfile(profile, file)
    console.log(`\nengine restore, app.start() to RUNNING (profiling slows it: ignore this run's rates), ${file}`)
    printTop(profile, 30)
  }
} finally {
  if (backend === 'kafka') await log.admin.deleteTopics(created).catch(() => {})
  await bench.close()
}
