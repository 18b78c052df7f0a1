// What a latency percentile of an in-process server is made of, for one measured span: this
// process's event-loop delay (perf_hooks.monitorEventLoopDelay: how late a 1 ms timer fires, i.e.
// how long the loop was busy with something else — another server's requests, the engines'
// commits and fetches, a GC pause) and its GC pauses (PerformanceObserver 'gc' entries).
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'

export interface LoopStats {
  /** Event-loop delay percentiles and maximum, ms. */
  readonly delayP50: number
  readonly delayP99: number
  readonly delayMax: number
  /** GC pauses: how many, their total and the longest, ms. */
  readonly gcCount: number
  readonly gcTotalMs: number
  readonly gcMaxMs: number
}

/** Starts watching; the returned function stops and answers what was seen since. */
export function watchLoop (): () => LoopStats {
  const delay = monitorEventLoopDelay({ resolution: 1 })
  delay.enable()
  let gcCount = 0
  let gcTotalMs = 0
  let gcMaxMs = 0
  const gc = new PerformanceObserver(list => {
    for (const entry of list.getEntries()) {
      gcCount++
      gcTotalMs += entry.duration
      gcMaxMs = Math.max(gcMaxMs, entry.duration)
    }
  })
  gc.observe({ entryTypes: ['gc'] })
  return () => {
    delay.disable()
    gc.disconnect()
    return { delayP50: delay.percentile(50) / 1e6, delayP99: delay.percentile(99) / 1e6, delayMax: delay.max / 1e6, gcCount, gcTotalMs, gcMaxMs }
  }
}
