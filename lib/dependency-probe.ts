// A periodic probe of one dependency feeding lib/dependency-health.ts: every `intervalMs` it runs
// a cheap request (Kafka: a metadata request; PostgreSQL: SELECT 1) bounded by `timeoutMs`; an
// answer marks the dependency up, an error or a timeout marks it down. Probes never overlap: a
// probe still hanging past its timeout has already marked the dependency down, and the next one
// starts only when it settles (a hung connection is not multiplied).
import type { DependencyHealth, DependencyName } from './dependency-health.ts'

export interface ProbeOptions {
  readonly intervalMs?: number
  readonly timeoutMs?: number
}

export interface Probe {
  /** Runs one probe now (the first one runs at start); resolves when it settled. */
  check (): Promise<void>
  stop (): void
}

export function startDependencyProbe (health: DependencyHealth, name: DependencyName, probe: () => Promise<unknown>, options: ProbeOptions = {}): Probe {
  const intervalMs = options.intervalMs ?? 2_000
  const timeoutMs = options.timeoutMs ?? 5_000
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined

  const once = (): Promise<void> => {
    running ??= (async () => {
      let timeout: NodeJS.Timeout | undefined
      const timedOut = new Promise<never>((_resolve, reject) => {
        timeout = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
      })
      const attempt = probe()
      try {
        await Promise.race([attempt, timedOut])
        if (!stopped) health.markUp(name)
      } catch (error) {
        if (!stopped) health.markDown(name, (error as Error)?.message ?? String(error))
        // A hanging probe: wait for it to settle before the next one (never two at once).
        await attempt.catch(() => undefined)
      } finally {
        clearTimeout(timeout)
        running = undefined
      }
    })()
    return running
  }

  const loop = (): void => {
    if (stopped) return
    void once().then(() => {
      if (stopped) return
      timer = setTimeout(loop, intervalMs)
      timer.unref()
    })
  }
  loop()

  return {
    check: once,
    stop () {
      stopped = true
      clearTimeout(timer)
    }
  }
}
