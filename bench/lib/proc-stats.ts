// CPU time and memory of a child process, read from /proc (Linux): what one side of a
// side-by-side benchmark cost, measured on its own process only (not its children).
import { readdirSync, readFileSync } from 'node:fs'

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100

export interface ProcStats {
  /** User + system CPU time so far, ms. */
  readonly cpuMs: number
  /** Peak resident set size (VmHWM), bytes. */
  readonly peakRssBytes: number
  /** Resident set size now (VmRSS), bytes. */
  readonly rssBytes: number
}

/** Undefined once the process is gone. */
export function procStats (pid: number): ProcStats | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    const ticks = Number(fields[11]) + Number(fields[12])
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0)
    return { cpuMs: ticks * 1000 / TICKS_PER_SECOND, peakRssBytes: kib('VmHWM') * 1024, rssBytes: kib('VmRSS') * 1024 }
  } catch {
    return undefined
  }
}

/** CPU time so far of each thread of this process by thread name (/proc/self/task/<tid>/comm:
 *  "node" is the main thread; V8's GC helpers, libuv's pool and RocksDB's background threads have
 *  their own names), ms. Threads that ended are missing: compare snapshots of the same run. Empty
 *  where /proc is not there. */
export function threadCpuByName (): Map<string, number> {
  const out = new Map<string, number>()
  let tids: string[]
  try { tids = readdirSync('/proc/self/task') } catch { return out }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[0-9]+$/, '')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const ms = (Number(fields[11]) + Number(fields[12])) * 1000 / TICKS_PER_SECOND
      out.set(name, (out.get(name) ?? 0) + ms)
    } catch { /* the thread ended meanwhile */ }
  }
  return out
}

/** What each thread name used between two threadCpuByName() snapshots, ms, largest first. */
export function threadCpuSince (before: Map<string, number>, after = threadCpuByName()): Array<[string, number]> {
  return [...after].map(([name, ms]): [string, number] => [name, ms - (before.get(name) ?? 0)]).filter(([, ms]) => ms > 0).sort((a, b) => b[1] - a[1])
}
