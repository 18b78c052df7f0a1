// Restore progress across every restoring task: records applied and left, the rate since the
// restore began and the time left at that rate, reported at most every few seconds (the
// processor role logs it) and once when everything is restored. The same for the catch-up of
// standby and warm-up tasks (standby-upkeep.ts).
import type { RestoreProgress } from './changelog-restore.ts'

export interface RestoreProgressReport {
  /** Tasks still restoring (0 in the last report). */
  readonly tasks: number
  readonly restored: number
  readonly remaining: number
  readonly recordsPerSecond: number
  /** At the current rate; null before any record was applied. */
  readonly etaMs: number | null
  readonly elapsedMs: number
  readonly done: boolean
}

export interface RestoreProgressOptions {
  readonly report?: (progress: RestoreProgressReport) => void
  readonly intervalMs?: number
  readonly now?: () => number
}

export class RestoreProgressTracker {
  readonly #o: RestoreProgressOptions
  /** Per `owner\0store`: records applied and offsets left, as last told. */
  readonly #stores = new Map<string, { restored: number, remaining: number }>()
  #restored = 0
  #startMs: number | undefined
  #lastReportMs = 0

  constructor (options: RestoreProgressOptions = {}) {
    this.#o = options
  }

  /** Records a store's progress; returns the records applied since its last update. */
  update (p: RestoreProgress): number {
    this.#startMs ??= this.#now()
    const key = `${p.owner}\u0000${p.store}`
    const before = this.#stores.get(key)
    // Fewer than last told: the store registered again (closed and reopened), counting from 0.
    const delta = before === undefined || p.restored < before.restored ? p.restored : p.restored - before.restored
    this.#stores.set(key, { restored: p.restored, remaining: p.remaining })
    this.#restored += delta
    return delta
  }

  /** The owner's stores are restored or closed: they are no longer counted as remaining. */
  forget (owner: string): void {
    for (const key of [...this.#stores.keys()]) if (key.startsWith(`${owner}\u0000`)) this.#stores.delete(key)
  }

  snapshot (tasks: number, done = false): RestoreProgressReport {
    const now = this.#now()
    const elapsedMs = this.#startMs === undefined ? 0 : now - this.#startMs
    let remaining = 0
    for (const s of this.#stores.values()) remaining += s.remaining
    const recordsPerSecond = elapsedMs > 0 ? this.#restored / (elapsedMs / 1000) : 0
    const etaMs = recordsPerSecond > 0 ? Math.round(remaining / recordsPerSecond * 1000) : null
    return { tasks, restored: this.#restored, remaining, recordsPerSecond: Math.round(recordsPerSecond), etaMs, elapsedMs: Math.round(elapsedMs), done }
  }

  /** Reports when the interval (default 5 s) has passed since the last report. */
  maybeReport (tasks: number): void {
    if (this.#o.report === undefined || this.#startMs === undefined) return
    const now = this.#now()
    if (now - this.#lastReportMs < (this.#o.intervalMs ?? 5000)) return
    if (this.#lastReportMs === 0 && now - this.#startMs < (this.#o.intervalMs ?? 5000)) return
    this.#lastReportMs = now
    this.#o.report(this.snapshot(tasks))
  }

  /** Everything is restored: a last report (when anything was restored), then start over. */
  finished (): void {
    if (this.#startMs !== undefined && this.#restored > 0) this.#o.report?.(this.snapshot(0, true))
    this.#stores.clear()
    this.#restored = 0
    this.#startMs = undefined
    this.#lastReportMs = 0
  }

  #now (): number { return this.#o.now ? this.#o.now() : performance.now() }
}
