// Standby catch-up: records/s at which a wiped instance's standby (and warm-up) copies fill from
// their changelogs, the standby ChangelogReader alone, driven as the stream thread drives it
// (docs/engine.md "Standby tasks"; the whole cold start with three platform instances is
// bench/ha-failover.ts --scenarios cold).
//
// Setup (not measured): --stores changelog topics of --partitions partitions holding --records
// records in all (rewards-like JSON values of ~170 bytes, --keys keys per store), written in
// transactions of --txn records (read_committed reads skip their markers, as on the real
// changelogs). Measured, each in turn (--modes):
// - standby: --partitions tasks, each its --stores changelog partitions registered with a
//   ChangelogReader in standby mode, into one RocksDbStore per task and store (fresh directories,
//   restoreWriteSync, WAL synced once at the end); the loop calls step(0), then waits as the
//   stream thread's group poll does when it has nothing to process (--poll-ms, its pollMs),
//   until catchingUp is 0;
// - active: the same stores restored by a ChangelogReader in active mode (step(100), the thread's
//   restore step), until every owner is done.
// Each prints records, seconds, records/s and CPU per record (the process's: RocksDB's flushes and
// compactions included; the main thread's alone; the garbage collector's pauses); the stores are checked against the
// last value of every key.
//
//   node_modules/.bin/node bench/standby-catchup.ts [--records 300000] [--stores 4] [--partitions 12]
//     [--keys 20000] [--txn 500] [--poll-ms 100] [--modes standby,active] [--repeat 1] [--profile /tmp/standby]
import { PerformanceObserver } from 'node:perf_hooks'
import type { Log, ProducerRecord } from '../log/log-port.ts'
import { RocksDbStore } from '../stores/rocksdb-store.ts'
import { ChangelogReader } from '../topology/runtime/changelog-reader.ts'
import { parseArgs } from './lib/cli.ts'
import { printTop, saveProfile, startProfile, type CpuProfile } from './lib/cpu-profile.ts'
import { openBenchLog, partitionsOf, tempStateDir, uniqueName } from './lib/logs.ts'
import { fmtMs, fmtRate, printTable, rate } from './lib/timing.ts'

const args = parseArgs({ records: 300_000, stores: 4, partitions: 12, keys: 20_000, txn: 500, 'poll-ms': 100, modes: 'standby,active', repeat: 1, profile: '' })
const modes = String(args.modes).split(',').map(m => m.trim())
/** Garbage collection pauses of this process so far (ms). */
let gcMs = 0
new PerformanceObserver(list => { for (const entry of list.getEntries()) gcMs += entry.duration }).observe({ entryTypes: ['gc'] })
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

const keyOf = (store: number, i: number): string => `m-${store}-${String((i * 7919) % args.keys).padStart(7, '0')}`
const valueOf = (i: number): string => JSON.stringify({ memberId: `member-${i % args.keys}`, points: i * 3, tier: 'GOLD', lifetimePoints: i * 7, lastEventId: `evt-${i}-0000-0000-0000`, updatedAt: '2026-12-06T09:00:00.000Z' })

async function produceChangelogs (log: Log, topics: string[]): Promise<Map<string, Map<string, string>>> {
  // Expected last value per (topic, key): keys are spread over partitions by the producer.
  const expected = new Map<string, Map<string, string>>()
  const producer = await log.createProducer({ clientId: uniqueName('standby-bench'), transactionalId: uniqueName('standby-bench-txn') })
  try {
    const perStore = Math.floor(args.records / topics.length)
    for (const [s, topic] of topics.entries()) {
      const last = new Map<string, string>()
      expected.set(topic, last)
      for (let start = 0; start < perStore; start += args.txn) {
        const records: ProducerRecord[] = []
        for (let i = start; i < Math.min(perStore, start + args.txn); i++) {
          const key = keyOf(s, i)
          const value = valueOf(i)
          last.set(key, value)
          records.push({ topic, key: Buffer.from(key), value: Buffer.from(value) })
        }
        await producer.commitTransaction({ records })
      }
    }
  } finally {
    await producer.close()
  }
  return expected
}

interface Run { readonly mode: string, readonly records: number, readonly ms: number, readonly cpuMs: number, readonly threadCpuMs: number, readonly gcMs: number }

async function restore (log: Log, mode: string, topics: string[], expected: Map<string, Map<string, string>>, profiled: boolean): Promise<{ run: Run, profile?: CpuProfile }> {
  const state = tempStateDir()
  const partitionReader = log.createPartitionReader({ clientId: uniqueName(`standby-bench-${mode}`) })
  const stores = new Map<string, RocksDbStore>()
  let profile: CpuProfile | undefined
  try {
    const standby = mode === 'standby'
    const reader = new ChangelogReader({ admin: log.admin, reader: partitionReader, standby })
    const stopProfile = profiled ? await startProfile() : undefined
    const cpu0 = process.cpuUsage()
    const thread0 = process.threadCpuUsage()
    const gc0 = gcMs
    const t0 = performance.now()
    // Tasks open their stores and register concurrently, as the task manager creates them.
    await Promise.all(Array.from({ length: args.partitions }, async (_, partition) => {
      const restores = []
      for (const topic of topics) {
        const store = new RocksDbStore(`${topic}-${partition}`)
        await store.open(`${state.dir}/${partition}/${topic}`)
        stores.set(`${topic}\u0000${partition}`, store)
        restores.push({ changelog: { topic, partition }, store: topic, from: null, apply: (entries: Array<{ key: Buffer, value: Buffer | null }>) => { if (entries.length > 0) store.restoreWriteSync(entries) } })
      }
      await reader.register(`0_${partition}`, restores)
    }))
    if (standby) {
      while (reader.catchingUp > 0) {
        await reader.step(0)
        if (reader.catchingUp === 0) break
        // The stream thread's group poll, idle (no active task to process).
        await sleep(args['poll-ms'])
        if (performance.now() - t0 > 600_000) throw new Error('standby catch-up timed out')
      }
    } else {
      let done = 0
      while (done < args.partitions) {
        done += (await reader.step(100)).length
        if (performance.now() - t0 > 600_000) throw new Error('restore timed out')
      }
    }
    for (const store of stores.values()) store.syncWal()
    const ms = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    const thread = process.threadCpuUsage(thread0)
    const gc = gcMs - gc0
    if (stopProfile) profile = await stopProfile()
    const records = reader.appliedRecords
    // Every key's last value.
    for (const [topic, last] of expected) {
      for (const [key, value] of last) {
        let found: string | undefined
        for (let partition = 0; partition < args.partitions && found === undefined; partition++) found = stores.get(`${topic}\u0000${partition}`)!.get(Buffer.from(key))?.toString()
        if (found !== value) throw new Error(`${mode}: ${topic} ${key} is ${found}, expected ${value}`)
      }
    }
    for (const name of reader.owners) reader.unregister(name)
    return { run: { mode, records, ms, cpuMs: (cpu.user + cpu.system) / 1000, threadCpuMs: (thread.user + thread.system) / 1000, gcMs: gc }, ...(profile ? { profile } : {}) }
  } finally {
    await partitionReader.close()
    for (const store of stores.values()) await store.close()
    state.remove()
  }
}

const bench = await openBenchLog('kafka', 'bench-standby-catchup')
const { log } = bench
const topics = Array.from({ length: args.stores }, (_, s) => uniqueName(`standby-bench-s${s}-changelog`))
try {
  console.log(`standby catch-up: ${args.records} changelog records, ${args.stores} stores x ${args.partitions} partitions, transactions of ${args.txn}, idle poll ${args['poll-ms']} ms, node ${process.version}`)
  await log.admin.createTopics(topics.map(name => ({ name, partitions: args.partitions })))
  const p0 = performance.now()
  const expected = await produceChangelogs(log, topics)
  const ends = await log.admin.listOffsets(topics.flatMap(t => partitionsOf(t, args.partitions)), 'latest')
  console.log(`wrote ${args.records} records (${ends.reduce((n, e) => n + e.offset, 0n)} offsets with the markers) in ${fmtMs(performance.now() - p0)} (not measured)`)
  const rows: string[][] = []
  let profile: CpuProfile | undefined
  for (let r = 0; r < args.repeat; r++) {
    for (const mode of modes) {
      const out = await restore(log, mode, topics, expected, args.profile !== '' && r === 0 && mode === modes[0])
      profile ??= out.profile
      const { records, ms, cpuMs, threadCpuMs, gcMs } = out.run
      const per = (v: number): string => `${(v * 1000 / records).toFixed(2)} µs`
      rows.push([mode, String(records), fmtMs(ms), fmtRate(rate(records, ms)), per(cpuMs), per(threadCpuMs), per(gcMs)])
      console.log(`${mode}: ${records} records in ${fmtMs(ms)} = ${fmtRate(rate(records, ms))}, CPU ${per(cpuMs)}/record (main thread ${per(threadCpuMs)}, GC pauses ${per(gcMs)})`)
    }
  }
  console.log('')
  printTable(['mode', 'records', 'time', 'records/s', 'CPU/record', 'main thread', 'GC pauses'], rows)
  if (profile) {
    const file = `${args.profile}.cpuprofile`
    saveProfile(profile, file)
    console.log(`\n${modes[0]} catch-up profile (profiling slows it: ignore this run's rates), ${file}`)
    printTop(profile, 30)
  }
} finally {
  await log.admin.deleteTopics(topics).catch(() => {})
  await bench.close()
}
