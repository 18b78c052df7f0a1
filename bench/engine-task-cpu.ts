// CPU per record of the engine's in-process path alone (issue 16): the engine-throughput bench's
// topology (mapValues, then groupByKey().count() into a RocksDB store, the counts to an output
// topic) driven without a log: synthetic fetched records go straight to the tasks, and every
// --perCommit records each task commits as the stream thread would (record caches flushed,
// outputs and changelog records drained, the flushed writes applied to RocksDB). No broker, no
// producer, no fetch decoding: what is left is the task, partition group, record cache, caching
// store, serdes and collector, measured in CPU time (user + system) so that a loaded machine
// moves it less than a wall-clock rate.
//
//   node_modules/.bin/node bench/engine-task-cpu.ts [--records 400000] [--keys 10000]
//     [--partitions 12] [--perCommit 8000] [--rounds 3] [--profile /tmp/task]
import type { LogRecord } from '../log/log-port.ts'
import { StateDirectory } from '../stores/state-directory.ts'
import { ThreadCache } from '../stores/thread-cache.ts'
import { activeTaskCreator } from '../topology/runtime/active-task-creator.ts'
import { resolveStreamsConfig } from '../topology/runtime/streams-config.ts'
import { StreamsBuilder } from '../topology/streams-builder.ts'
import { parseArgs } from './lib/cli.ts'
import { printTop, saveProfile, startProfile } from './lib/cpu-profile.ts'
import { tempStateDir } from './lib/logs.ts'

const args = parseArgs({ records: 400_000, keys: 10_000, partitions: 12, perCommit: 8000, rounds: 3, profile: '' })

interface Event { readonly amount: number, readonly merchant: string, readonly at: string }
const keyOf = (i: number): string => `member-${String((i * 7919) % args.keys).padStart(6, '0')}`
const eventOf = (i: number): Event => ({ amount: i % 97, merchant: `property-${i % 31}`, at: new Date(1_700_000_000_000 + i).toISOString() })

const input = 'bench-events'
const builder = new StreamsBuilder()
builder.stream<string, Event>(input).mapValues(event => event.amount).groupByKey().count({ storeName: 'counts' }).toStream().to('bench-counts')
const topology = builder.build()
const sub = topology.subtopologies()[0]!
const state = tempStateDir()
const config = resolveStreamsConfig({ applicationId: 'bench-task-cpu', stateDir: state.dir })
const stateDirectory = new StateDirectory(state.dir, config.applicationId)
const create = activeTaskCreator({ config, topology, stateDirectory, exactlyOnce: true, clock: () => Date.now(), consumer: { endOffset: () => undefined, position: () => 0n }, cache: new ThreadCache({ maxBytes: config.cacheMaxBytes }) })
const tasks = await Promise.all(Array.from({ length: args.partitions }, async (_, p) => await create(`0_${p}`, sub, p)))
for (const t of tasks) { t.state.setQueryableState('READY'); t.task.initialize() }

/** Records as a fetch hands them over, per partition, made before the clock starts. */
function fetched (round: number): LogRecord[][] {
  const byPartition: LogRecord[][] = tasks.map(() => [])
  for (let i = 0; i < args.records; i++) {
    const p = i % args.partitions
    const list = byPartition[p]!
    list.push({ topic: input, partition: p, offset: BigInt(round * args.records + list.length), timestamp: 1_700_000_000_000 + i, key: Buffer.from(keyOf(i)), value: Buffer.from(JSON.stringify(eventOf(i))), headers: {} })
  }
  return byPartition
}

const FETCH = 500 // records handed to a task at a time (a fetch's share of one partition)
async function round (byPartition: LogRecord[][]): Promise<{ outputs: number, changelog: number }> {
  let outputs = 0
  let changelog = 0
  const at = byPartition.map(() => 0)
  let sinceCommit = 0
  for (let left = args.records; left > 0;) {
    for (let p = 0; p < tasks.length; p++) {
      const list = byPartition[p]!
      const from = at[p]!
      if (from >= list.length) continue
      const batch = list.slice(from, from + FETCH)
      at[p] = from + batch.length
      const task = tasks[p]!.task
      task.addRecords({ topic: input, partition: p }, batch)
      while (task.process(0)) { /* all of it */ }
      left -= batch.length
      sinceCommit += batch.length
    }
    if (sinceCommit >= args.perCommit || left === 0) {
      sinceCommit = 0
      const commits = tasks.map(({ task }) => task.prepareCommit())
      for (const c of commits) for (const r of c.records) { if (r.topic === 'bench-counts') outputs++; else changelog++ }
      for (let p = 0; p < tasks.length; p++) await tasks[p]!.task.postCommit(commits[p]!.offsets)
    }
  }
  return { outputs, changelog }
}

console.log(`engine task path (map + count, no log): ${args.records} records, ${args.keys} keys, ${args.partitions} partitions, a commit every ${args.perCommit} records, node ${process.version}`)
for (let r = 0; r < args.rounds; r++) {
  const byPartition = fetched(r)
  const stop = args.profile !== '' && r === args.rounds - 1 ? await startProfile() : undefined
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  const { outputs, changelog } = await round(byPartition)
  const wall = performance.now() - t0
  const used = process.cpuUsage(cpu)
  console.log(`round ${r + 1}: ${((used.user + used.system) / args.records).toFixed(2)} µs CPU per record (${(wall * 1000 / args.records).toFixed(2)} µs wall), ${outputs} outputs, ${changelog} changelog records`)
  if (stop !== undefined) {
    const profile = await stop()
    saveProfile(profile, `${args.profile}.cpuprofile`)
    printTop(profile, 30)
  }
}
for (const t of tasks) { t.task.close(); await t.state.close() }
state.remove()
