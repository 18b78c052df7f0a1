// CPU time of processes over a window known only afterwards, from /proc (Linux; elsewhere it
// reports nothing): samples every `everyMs` the user + system time of each named process (all
// its threads) and of the machine, and answers for the samples nearest a window's start and end.
// docs/benchmarks.md "Cold start, ninth pass": a cold start's rate on this 2-core machine follows
// the CPU of every process of the bench per restored record, not only the cold instance's.
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs'

interface Sample {
  readonly at: number
  readonly busyMs: number
  readonly totalMs: number
  readonly byName: Map<string, number>
  /** For the process split by thread: its total and each live thread's kind and ms, by tid. */
  readonly split?: { readonly totalMs: number, readonly threads: Map<number, ThreadCpu> }
}

interface ThreadCpu { readonly kind: string, readonly ms: number }

/** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux). */
const TICK_MS = 10

/** /proc files read again at every sample, each kept open and read from offset 0 (the kernel
 *  renders it afresh): an open and a close per file and sample were most of the sampler's own
 *  CPU, which counts in the bench process's share of a cold start's span (docs/benchmarks.md
 *  "Cold start, twelfth pass: the other parties"). */
const openFiles = new Map<string, number>()
const readBuffer = Buffer.alloc(4096)

/** The text of a /proc file, or undefined once its process or thread is gone. */
function readProc (path: string): string | undefined {
  let fd = openFiles.get(path)
  try {
    if (fd === undefined) {
      fd = openSync(path, 'r')
      openFiles.set(path, fd)
    }
    const n = readSync(fd, readBuffer, 0, readBuffer.length, 0)
    if (n > 0) return readBuffer.toString('latin1', 0, n)
  } catch { /* gone */ }
  if (fd !== undefined) {
    try { closeSync(fd) } catch { /* closed */ }
    openFiles.delete(path)
  }
  return undefined
}

/** Closes the files kept open (a sampler that goes on opens its own again). */
function closeAll (): void {
  for (const fd of openFiles.values()) {
    try { closeSync(fd) } catch { /* closed */ }
  }
  openFiles.clear()
}

/** User + system ms of a /proc stat file (a process: all its threads, the ended ones too; a
 *  thread: its own), or undefined once it is gone. */
function statCpuMs (path: string): number | undefined {
  try {
    const stat = readProc(path)
    if (stat === undefined) return undefined
    // Fields after the command (which may hold spaces): state is the 3rd, utime the 14th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS
  } catch { return undefined }
}

/** User + system ms of a process (all its threads), or undefined once it is gone. */
export function processCpuMs (pid: number): number | undefined {
  return statCpuMs(`/proc/${pid}/stat`)
}

/** The group a thread of a Node process counts in, by its name (/proc/<pid>/task/<tid>/comm):
 *  V8's workers run the concurrent GC and the background JIT, libuv's pool the RocksDB opens
 *  and other fs work, RocksDB's own threads the flushes and compactions. */
export function threadKind (pid: number, tid: number, comm: string): string {
  if (tid === pid) return 'main'
  if (comm.startsWith('V8')) return 'V8 workers'
  if (comm.startsWith('libuv-worker')) return 'libuv pool'
  if (comm.startsWith('rocksdb:')) return 'RocksDB background'
  return 'other threads'
}

/** Each thread's kind once named (a thread's name does not change after its start; one still
 *  counted as an other thread is asked again), by `pid/tid`. */
const kinds = new Map<string, string>()

/** Each live thread's kind and CPU ms, by tid (an empty map once the process is gone). */
function threadsCpu (pid: number): Map<number, ThreadCpu> {
  const out = new Map<number, ThreadCpu>()
  let tids: string[]
  try { tids = readdirSync(`/proc/${pid}/task`) } catch { return out }
  for (const entry of tids) {
    const tid = Number(entry)
    const ms = statCpuMs(`/proc/${pid}/task/${entry}/stat`)
    if (ms === undefined) continue // ended between the listing and the read
    const key = `${pid}/${entry}`
    let kind = kinds.get(key)
    if (kind === undefined || kind === 'other threads') {
      let comm: string
      try { comm = readFileSync(`/proc/${pid}/task/${entry}/comm`, 'utf8').trim() } catch { continue }
      kind = threadKind(pid, tid, comm)
      kinds.set(key, kind)
    }
    out.set(tid, { kind, ms })
  }
  return out
}

/** The name, in a window's split by thread kind, of the CPU of threads that ended inside it (the
 *  process's total minus what its live threads gained): where threads that live for one job
 *  show, such as the 15 threads RocksDB starts at each store open to load table handlers
 *  (docs/benchmarks.md "Quiet machine after the ninth passes"). */
export const ENDED_THREADS = 'threads ended in the window'

/** The machine's busy and total ms (all cores) since boot, from /proc/stat's first line. */
function machineMs (): { busyMs: number, totalMs: number } | undefined {
  try {
    // Its first line: the 4 KiB read holds it.
    const cpu = readProc('/proc/stat')!.split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number)
    const total = cpu.reduce((n, v) => n + v, 0)
    return { busyMs: (total - cpu[3]! - cpu[4]!) * TICK_MS, totalMs: total * TICK_MS }
  } catch { return undefined }
}

/** The pid of the first process whose command line contains `text` (the broker: kafka.Kafka). */
export function findPid (text: string): number | undefined {
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      try { if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) return Number(entry) } catch { /* gone */ }
    }
  } catch { /* no /proc */ }
  return undefined
}

export interface WindowCpu {
  readonly ms: number
  /** CPU ms per name over the window (a process gone or not there yet counts what was seen). */
  readonly byName: Map<string, number>
  readonly machineBusyMs: number
  readonly machineTotalMs: number
  /** The split process's CPU per thread kind (threadKind(), ENDED_THREADS), when asked for. */
  readonly threads?: Map<string, number>
}

export class ProcCpuSampler {
  readonly #samples: Sample[] = []
  readonly #timer: NodeJS.Timeout

  /** `pids()` names the processes of each sample (it may change: a restarted instance);
   *  `split()`, when given, the one process whose CPU is also split by thread kind. */
  constructor (pids: () => Map<string, number[]>, everyMs = 100, split?: () => number | undefined) {
    const take = (): void => {
      const machine = machineMs()
      if (machine === undefined) return
      const byName = new Map<string, number>()
      for (const [name, list] of pids()) byName.set(name, list.reduce((n, pid) => n + (processCpuMs(pid) ?? 0), 0))
      const pid = split?.()
      // The threads before the total: the total then holds at least what they had.
      const threads = pid !== undefined ? threadsCpu(pid) : undefined
      const totalMs = pid !== undefined ? processCpuMs(pid) : undefined
      this.#samples.push({ at: Date.now(), ...machine, byName, ...(threads !== undefined && totalMs !== undefined ? { split: { totalMs, threads } } : {}) })
    }
    take()
    this.#timer = setInterval(take, everyMs)
    this.#timer.unref()
  }

  stop (): void {
    clearInterval(this.#timer)
    closeAll()
  }

  /** CPU over [fromMs, toMs] (epoch ms), between the samples nearest each end. */
  window (fromMs: number, toMs: number): WindowCpu | undefined {
    if (this.#samples.length < 2) return undefined
    const near = (t: number): Sample => this.#samples.reduce((b, s) => Math.abs(s.at - t) < Math.abs(b.at - t) ? s : b)
    const a = near(fromMs)
    const b = near(toMs)
    if (b.at <= a.at) return undefined
    const byName = new Map<string, number>()
    // A pid that changed inside the window (a restart) starts from 0: count what b saw then.
    for (const [name, ms] of b.byName) byName.set(name, ms >= (a.byName.get(name) ?? 0) ? ms - (a.byName.get(name) ?? 0) : ms)
    const threads = a.split !== undefined && b.split !== undefined ? threadsDelta(a.split, b.split) : undefined
    return { ms: b.at - a.at, byName, machineBusyMs: b.busyMs - a.busyMs, machineTotalMs: b.totalMs - a.totalMs, ...(threads !== undefined ? { threads } : {}) }
  }
}

/** Per kind, what the threads live at `b` gained since `a` (0 before for one born since), and
 *  ENDED_THREADS: the rest of the process's gain. */
function threadsDelta (a: NonNullable<Sample['split']>, b: NonNullable<Sample['split']>): Map<string, number> | undefined {
  if (b.totalMs < a.totalMs) return undefined // another process (a restart)
  const out = new Map<string, number>()
  let live = 0
  for (const [tid, t] of b.threads) {
    const gained = t.ms - (a.threads.get(tid)?.ms ?? 0)
    out.set(t.kind, (out.get(t.kind) ?? 0) + gained)
    live += gained
  }
  out.set(ENDED_THREADS, Math.max(0, b.totalMs - a.totalMs - live))
  return out
}

/** One line: each name's CPU ms and µs per record over the window, and the machine's share. */
export function describeCpu (cpu: WindowCpu, records: number): string {
  const perRecord = (ms: number): string => `${(ms * 1000 / records).toFixed(1)} µs/record`
  const parts = [...cpu.byName].map(([name, ms]) => `${name} ${ms} ms (${perRecord(ms)})`)
  const ours = [...cpu.byName.values()].reduce((n, v) => n + v, 0)
  return `CPU over ${cpu.ms} ms: ${parts.join(', ')}; together ${ours} ms (${perRecord(ours)}); machine busy ${cpu.machineBusyMs} of ${cpu.machineTotalMs} ms`
}

/** One line: the split process's CPU ms per thread kind over the window, largest first. */
export function describeThreads (threads: Map<string, number>): string {
  return [...threads].sort((x, y) => y[1] - x[1]).map(([kind, ms]) => `${kind} ${ms} ms`).join(', ')
}
