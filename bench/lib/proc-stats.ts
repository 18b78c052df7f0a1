// CPU time and memory of a child process, read from /proc (Linux): what one side of a
// side-by-side benchmark cost, measured on its own process only (not its children).
import { readFileSync } from 'node:fs'

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
