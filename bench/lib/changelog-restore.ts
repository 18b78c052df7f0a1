// The restore path without the engine around it: a ChangelogReader over every partition of a
// changelog into one RocksDbStore per partition (what the restoring tasks of one instance do),
// timed with how much of it went into the store writes.
import type { Log, TopicPartition } from '../../log/log-port.ts'
import type { RestoreColumns } from '../../stores/restore-columns.ts'
import { RocksDbStore } from '../../stores/rocksdb-store.ts'
import { ChangelogReader } from '../../topology/runtime/changelog-reader.ts'
import { readFileSync } from 'node:fs'
import { PerformanceObserver } from 'node:perf_hooks'
import { tempStateDir } from './logs.ts'

/** The main thread's minor page faults so far (Linux; 0 elsewhere): field 10 of its stat line. */
function mainThreadMinorFaults (): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7])
  } catch { return 0 }
}

export interface RestoreTiming {
  readonly records: number
  readonly totalMs: number
  /** Time spent in RocksDB writes (restoreWriteSync). */
  readonly writeMs: number
  /** CPU of the main thread alone (process.threadCpuUsage) from registration to done, µs: the
   *  restore's own cost, which the process's CPU mixes with RocksDB's flush threads and libuv's. */
  readonly mainThreadCpuUs: number
  /** The main thread's minor page faults meanwhile (first touches of fresh memory: on this project's
   *  VMs each costs ~17 µs, docs/benchmarks.md "Cold start, seventh pass"). */
  readonly minorFaults: number
  /** Garbage collection pauses meanwhile (perf_hooks 'gc' entries), ms. */
  readonly gcMs: number
}

export async function readerRestore (log: Log, partitions: TopicPartition[], timeoutMs: number): Promise<RestoreTiming> {
  const state = tempStateDir()
  const reader = log.createPartitionReader({ clientId: 'bench-changelog-reader' })
  const stores = partitions.map(tp => new RocksDbStore(`p${tp.partition}`))
  try {
    for (const [i, store] of stores.entries()) await store.open(`${state.dir}/${i}`)
    let writeMs = 0
    const t0 = performance.now()
    const cpu0 = process.threadCpuUsage()
    const faults0 = mainThreadMinorFaults()
    let gcMs = 0
    const gc = new PerformanceObserver(list => { for (const entry of list.getEntries()) gcMs += entry.duration })
    gc.observe({ entryTypes: ['gc'] })
    const changelogs = new ChangelogReader({ admin: log.admin, reader })
    await changelogs.register('bench', partitions.map((tp, i) => ({
      changelog: tp,
      store: 'totals',
      from: null,
      apply: entries => {
        const w0 = performance.now()
        stores[i]!.restoreWriteSync(entries)
        writeMs += performance.now() - w0
      },
      // As the engine's tasks do (task-state-manager.ts): offsets into the fetched bytes.
      applyColumns: (columns: RestoreColumns) => {
        const w0 = performance.now()
        stores[i]!.restoreWriteColumnsSync(columns)
        writeMs += performance.now() - w0
      }
    })))
    let records = 0
    for (;;) {
      if (performance.now() - t0 > timeoutMs) throw new Error('changelog reader restore timed out')
      const done = await changelogs.step(100)
      if (done.length > 0) { records = done[0]!.records; break }
    }
    const cpu = process.threadCpuUsage(cpu0)
    const minorFaults = mainThreadMinorFaults() - faults0
    // Entries of the last pauses are delivered on a later turn.
    await new Promise(resolve => setImmediate(resolve))
    gc.disconnect()
    for (const store of stores) store.syncWal()
    return { records, totalMs: performance.now() - t0, writeMs, mainThreadCpuUs: cpu.user + cpu.system, minorFaults, gcMs }
  } finally {
    await reader.close()
    for (const store of stores) await store.close()
    state.remove()
  }
}
