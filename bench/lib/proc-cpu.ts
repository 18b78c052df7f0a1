// CPU time of processes over a window known only afterwards, from /proc (Linux; elsewhere it
// reports nothing): samples every `everyMs` the user + system time of each named process (all
// its threads) and of the machine, and answers for the samples nearest a window's start and end.
// docs/benchmarks.md "Cold start, ninth pass": a cold start's rate on this 2-core machine follows
// the CPU of every process of the bench per restored record, not only the cold instance's.
import { readdirSync, readFileSync } from 'node:fs'

interface Sample { readonly at: number, readonly busyMs: number, readonly totalMs: number, readonly byName: Map<string, number> }

/** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux). */
const TICK_MS = 10

/** User + system ms of a process (all its threads), or undefined once it is gone. */
export function processCpuMs (pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command (which may hold spaces): state is the 3rd, utime the 14th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS
  } catch { return undefined }
}

/** The machine's busy and total ms (all cores) since boot, from /proc/stat's first line. */
function machineMs (): { busyMs: number, totalMs: number } | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number)
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
}

export class ProcCpuSampler {
  readonly #samples: Sample[] = []
  readonly #timer: NodeJS.Timeout

  /** `pids()` names the processes of each sample (it may change: a restarted instance). */
  constructor (pids: () => Map<string, number[]>, everyMs = 100) {
    const take = (): void => {
      const machine = machineMs()
      if (machine === undefined) return
      const byName = new Map<string, number>()
      for (const [name, list] of pids()) byName.set(name, list.reduce((n, pid) => n + (processCpuMs(pid) ?? 0), 0))
      this.#samples.push({ at: Date.now(), ...machine, byName })
    }
    take()
    this.#timer = setInterval(take, everyMs)
    this.#timer.unref()
  }

  stop (): void { clearInterval(this.#timer) }

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
    return { ms: b.at - a.at, byName, machineBusyMs: b.busyMs - a.busyMs, machineTotalMs: b.totalMs - a.totalMs }
  }
}

/** One line: each name's CPU ms and µs per record over the window, and the machine's share. */
export function describeCpu (cpu: WindowCpu, records: number): string {
  const perRecord = (ms: number): string => `${(ms * 1000 / records).toFixed(1)} µs/record`
  const parts = [...cpu.byName].map(([name, ms]) => `${name} ${ms} ms (${perRecord(ms)})`)
  const ours = [...cpu.byName.values()].reduce((n, v) => n + v, 0)
  return `CPU over ${cpu.ms} ms: ${parts.join(', ')}; together ${ours} ms (${perRecord(ours)}); machine busy ${cpu.machineBusyMs} of ${cpu.machineTotalMs} ms`
}
