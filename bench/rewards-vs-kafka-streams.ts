// The project against Kafka Streams on the same topology (issue 16): the rewards processor role
// (`rewards start --role processor`, a Node process of its own) and the Kafka Streams reference of
// the same topology (bench/java/rewards-streams: one Processor API processor with the same six
// changelogged RocksDB stores, and the points windows behind their repartition topic in the DSL;
// one stream thread, the project's commit interval), one after the other on the same
// broker and the same seeded demo input, under exactly_once_v2 and at_least_once.
//
// Each run gets fresh topics (the same input records produced into its own topic prefix, not
// measured) and a fresh application id. Measured: drain time from spawning the process until its
// group's committed offsets reach the end of both inputs (start-up included), records/s, CPU time
// per record and peak RSS of that process (/proc). Then both runs' outputs (confirmations and dead
// letters) are read back and compared record by record per topic and key (processedAt and the JSON
// parser's own words masked: bench/lib/rewards-outputs.ts), and each against the reference model
// (test/processors/rewards/reference-model.ts): every confirmation's balance, every DLQ code.
// Exits 1 when outputs differ.
//
//   node_modules/.bin/node bench/rewards-vs-kafka-streams.ts [--records 200000] [--members 20000]
//     [--partitions 12] [--guarantee both|exactly_once_v2|at_least_once]
//     [--logs <dir>: each process's output to <dir>/<system>-<eos|alos>.log] [--log-level warn: the project's]
//     [--keep 1: leave the topics for a look afterwards]
//     [--systems both|project|kafka-streams: one side only, no comparison between the sides]
//     [--kafka-streams-jar <file>: run this jar instead of building bench/java/rewards-streams (an older build, for before/after pairs)]
//     [--cpu-prof <dir>: the project's process runs with node --cpu-prof, its profile written to <dir>]
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { PartitionOffset, ProducerRecord } from '../log/log-port.ts'
import { REWARDS_STORES, REWARDS_TOPICS, type RewardsTopics } from '../processors/rewards/index.ts'
import { pointsInternalTopics } from '../processors/rewards/points-windows.ts'
import { DemoGenerator } from '../processors/rewards/demo/index.ts'
import { ReferenceModel } from '../test/processors/rewards/reference-model.ts'
import { runChild, type ChildRun } from './lib/child-run.ts'
import { parseArgs } from './lib/cli.ts'
import { ensureKafkaStreamsJar, KAFKA_STREAMS_JAR } from './lib/kafka-streams-jar.ts'
import { brokers, openBenchLog, partitionsOf, uniqueName } from './lib/logs.ts'
import { addModelOutcome, compareOutputs, compareWithModel, emptyModelOutputs, readOutputs, type Comparison } from './lib/rewards-outputs.ts'
import { fmtMs, fmtRate, fmtRatio, nowMs, printTable, rate } from './lib/timing.ts'

const args = parseArgs({ records: 200_000, members: 20_000, partitions: 12, guarantee: 'both', seed: 7, timeout: 900, logs: '', 'log-level': 'warn', keep: 0, systems: 'both', 'cpu-prof': '', 'kafka-streams-jar': '' })
type Guarantee = 'exactly_once_v2' | 'at_least_once'
const guarantees: Guarantee[] = args.guarantee === 'both' ? ['exactly_once_v2', 'at_least_once'] : [args.guarantee as Guarantee]
if (!guarantees.every(g => g === 'exactly_once_v2' || g === 'at_least_once')) throw new Error(`--guarantee must be both, exactly_once_v2 or at_least_once, got ${args.guarantee}`)
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RULES = join(ROOT, 'rules', '2026-1.json')
const MiB = 1024 * 1024

type System = 'project' | 'kafka-streams'
const SYSTEMS: System[] = args.systems === 'both' ? ['project', 'kafka-streams'] : [args.systems as System]
if (!SYSTEMS.every(s => s === 'project' || s === 'kafka-streams')) throw new Error(`--systems must be both, project or kafka-streams, got ${args.systems}`)

/** The command of one side: the project's processor role, or the Kafka Streams jar. */
function commandOf (system: System, o: { prefix: string, applicationId: string, guarantee: Guarantee, dir: string }): [string, string[]] {
  if (system === 'project') {
    return [process.execPath, [...(args['cpu-prof'] !== '' ? ['--cpu-prof', '--cpu-prof-dir', args['cpu-prof']] : []), 'cli/rewards.ts', 'start', '--role', 'processor', '--kafka-brokers', brokers.join(','),
      '--topic-prefix', o.prefix, '--application-id', o.applicationId, '--processing-guarantee', o.guarantee,
      '--data-dir', o.dir, '--http-port', '0', '--partitions', String(args.partitions), '--rules-file', RULES,
      '--log-format', 'json', '--log-level', args['log-level']]]
  }
  return ['java', ['-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-jar', args['kafka-streams-jar'] !== '' ? args['kafka-streams-jar'] : KAFKA_STREAMS_JAR, '--bootstrap', brokers.join(','),
    '--topic-prefix', o.prefix, '--application-id', o.applicationId, '--guarantee', o.guarantee, '--state-dir', o.dir, '--rules', RULES]]
}

const topicsWith = (prefix: string): RewardsTopics => Object.fromEntries(Object.entries(REWARDS_TOPICS).map(([k, v]) => [k, prefix + v])) as unknown as RewardsTopics

console.log(`rewards, project vs Kafka Streams: ${args.records} demo events (seed ${args.seed}), ${args.members} members, ${args.partitions} partitions, broker ${brokers.join(',')}, node ${process.version}`)
console.log(`machine: ${availableParallelism()} cores, load average ${loadavg().map(l => l.toFixed(2)).join(' ')} (1, 5, 15 min) before the runs`)
if (SYSTEMS.includes('kafka-streams')) console.log(args['kafka-streams-jar'] !== '' ? `Kafka Streams jar ${args['kafka-streams-jar']} (--kafka-streams-jar)` : ensureKafkaStreamsJar())

// The input, generated once; the reference model's outputs alongside.
const model = new ReferenceModel()
const expected = emptyModelOutputs()
const generator = new DemoGenerator({ seed: args.seed, members: args.members, startTimeMs: Date.parse('2026-03-01T00:00:00Z'), meanGapMs: 500 })
const input = generator.take(args.records).map(r => {
  addModelOutcome(expected, model.apply({ topic: r.topic as 'reward-events', key: r.key, value: r.value }), r.key)
  return { reward: r.topic === REWARDS_TOPICS.rewardEvents, key: Buffer.from(r.key), value: Buffer.from(r.value), timestamp: r.timestamp }
})

const bench = await openBenchLog('kafka', 'bench-rewards-vs-kafka-streams')
const { log } = bench
const base = uniqueName('bench-rvks')
const created: string[] = []
let failed = false
try {
  const produceInput = async (topics: RewardsTopics): Promise<PartitionOffset[]> => {
    const names = Object.values(topics)
    // No time-based retention: the demo's timestamps are event times months old, and the broker
    // would delete rolled segments of them (7 days by default) while a run reads them.
    await log.admin.createTopics(names.map(name => ({ name, partitions: args.partitions, config: { 'retention.ms': '-1' } })))
    created.push(...names)
    const producer = await log.createProducer({ clientId: uniqueName('bench-producer') })
    try {
      for (let i = 0; i < input.length; i += 5000) {
        await producer.send(input.slice(i, i + 5000).map((r): ProducerRecord => ({ topic: r.reward ? topics.rewardEvents : topics.redeemEvents, key: r.key, value: r.value, timestamp: r.timestamp })))
      }
    } finally {
      await producer.close()
    }
    const ends = await log.admin.listOffsets([...partitionsOf(topics.rewardEvents, args.partitions), ...partitionsOf(topics.redeemEvents, args.partitions)], 'latest')
    const total = ends.reduce((n, e) => n + e.offset, 0n)
    if (total !== BigInt(args.records)) throw new Error(`inputs hold ${total} records after producing ${args.records}`)
    return ends
  }

  const rows: string[][] = []
  const verdicts: string[] = []
  const ratios: string[] = []
  for (const guarantee of guarantees) {
    const short = guarantee === 'exactly_once_v2' ? 'eos' : 'alos'
    const runs = new Map<System, { run: ChildRun, topics: RewardsTopics, prefix: string }>()
    for (const system of SYSTEMS) {
      const prefix = `${base}.${system}-${short}.`
      const topics = topicsWith(prefix)
      const producedAt = nowMs()
      const ends = await produceInput(topics)
      const applicationId = `${base}-${system}-${short}`
      created.push(...Object.values(REWARDS_STORES).map(s => `${applicationId}-${s}-changelog`), ...pointsInternalTopics(applicationId))
      console.log(`${system} ${guarantee}: input produced into ${prefix}* in ${fmtMs(nowMs() - producedAt)} (not measured); running…`)
      const dir = mkdtempSync(join(tmpdir(), `rewards-bench-${system}-`))
      try {
        const [command, commandArgs] = commandOf(system, { prefix, applicationId, guarantee, dir })
        const run = await runChild(log, command, commandArgs, { groupId: applicationId, ends, timeoutMs: args.timeout * 1000, cwd: ROOT, ...(args.logs !== '' ? { logFile: join(args.logs, `${system}-${short}.log`) } : {}) })
        runs.set(system, { run, topics, prefix })
        rows.push([system, guarantee, fmtMs(run.drainMs), fmtRate(rate(args.records, run.drainMs)), `${(run.stats.cpuMs / 1000).toFixed(1)} s`,
          `${Math.round(run.stats.cpuMs * 1000 / args.records)} µs`, `${Math.round(run.stats.peakRssBytes / MiB)} MiB`])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
    const project = runs.get('project')
    const streams = runs.get('kafka-streams')
    if (project === undefined || streams === undefined) {
      const [only] = [...runs.values()]
      const out = await readOutputs(log, only!.topics, args.partitions, only!.prefix)
      const c = compareWithModel(out.records, expected)
      verdicts.push(`${guarantee}, ${SYSTEMS[0]} (${out.count} records) vs reference model: ${c.differingKeys === 0 ? 'equal' : `${c.differingKeys} of ${c.keys} keys differ\n  ${c.examples.join('\n  ')}`}`)
      if (c.differingKeys !== 0) failed = true
      continue
    }
    ratios.push(`${guarantee}: project / Kafka Streams = ${fmtRatio(streams.run.drainMs / project.run.drainMs)} (records/s), CPU per record ${fmtRatio(project.run.stats.cpuMs / streams.run.stats.cpuMs)}, peak RSS ${fmtRatio(project.run.stats.peakRssBytes / streams.run.stats.peakRssBytes)}`)

    const projectOut = await readOutputs(log, project.topics, args.partitions, project.prefix)
    const streamsOut = await readOutputs(log, streams.topics, args.partitions, streams.prefix)
    const report = (name: string, c: Comparison): boolean => {
      const equal = c.differingKeys === 0
      verdicts.push(`${guarantee}, ${name}: ${equal ? 'equal' : `${c.differingKeys} of ${c.keys} keys differ`}${c.examples.length > 0 ? '\n  ' + c.examples.join('\n  ') : ''}`)
      return equal
    }
    const equal = report(`project (${projectOut.count} records) vs Kafka Streams (${streamsOut.count} records)`, compareOutputs(projectOut.records, streamsOut.records))
    const projectModel = report('project vs reference model', compareWithModel(projectOut.records, expected))
    const streamsModel = report('Kafka Streams vs reference model', compareWithModel(streamsOut.records, expected))
    verdicts.push(`${guarantee}: outputs equal: ${equal && projectModel && streamsModel ? 'yes' : 'no'}`)
    if (!(equal && projectModel && streamsModel)) failed = true
  }

  console.log('')
  printTable(['system', 'guarantee', 'drain', 'records/s', 'CPU', 'CPU/record', 'peak RSS'], rows)
  console.log('')
  for (const line of ratios) console.log(line)
  console.log('')
  console.log('drain: process spawn to committed offsets at the end of both inputs (start-up included). CPU, peak RSS: that process')
  console.log('only (/proc: utime+stime, VmHWM), read when drained. Outputs compared per topic and key, record by record (value bytes,')
  console.log('timestamp, partition, headers; processedAt and the JSON parser\'s wording masked), and against the reference model:')
  for (const line of verdicts) console.log(line)
  console.log(`load average after the runs: ${loadavg().map(l => l.toFixed(2)).join(' ')}`)
} finally {
  if (args.keep === 0) await log.admin.deleteTopics(created).catch(() => {})
  else console.log(`kept the topics (--keep 1): ${base}.*, ${base}-*-changelog`)
  await bench.close()
}
if (failed) process.exitCode = 1
