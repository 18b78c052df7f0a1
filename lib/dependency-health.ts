// What this process knows of the services it depends on (Kafka, the archive's PostgreSQL, Redis),
// in one place: each dependency is reported up or down by whoever sees it (a probe, the Redis
// client's events), and the registry turns the transitions into what an operator sees
// (docs/runbooks/dependency-outage.md):
//
// - one log line when an outage starts and one when it ends, with its duration. Their `event`
//   field is stable (tests and the chaos suite await them):
//     { event: 'dependency.down', dependency: 'database', reason }   (warn)
//     { event: 'dependency.up', dependency: 'database', downMs }     (info)
// - metrics: rewards_dependency_up{dependency} (1/0), rewards_dependency_outages_total{dependency},
//   rewards_dependency_outage_seconds_total{dependency} (added when an outage ends);
// - a snapshot for /health/ready, where each dependency says whether its outage makes this
//   instance unready (`required`) or only degraded.
//
// A dependency is 'unknown' until its first report: nothing is logged for a first report of "up";
// a first report of "down" starts an outage (the process started while the dependency was down).
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Logger } from './logger.ts'

export type DependencyName = 'kafka' | 'database' | 'redis'

export interface DependencyStatus {
  readonly state: 'up' | 'down' | 'unknown'
  /** When the current state began (ms since the epoch); null while unknown. */
  readonly sinceMs: number | null
  /** Why it is down (the last error), or what is up. */
  readonly detail: string
  /** Down makes the instance not ready (true) or only degraded (false). */
  readonly required: boolean
  /** What an outage means for this instance (for the readiness body and the down log line). */
  readonly impact: string
}

interface Entry {
  state: 'up' | 'down' | 'unknown'
  sinceMs: number | null
  detail: string
  readonly required: boolean
  readonly impact: string
}

export interface DependencyHealthOptions {
  readonly registry: Registry
  readonly logger?: Logger
  readonly clock?: () => number
}

export class DependencyHealth {
  readonly #entries = new Map<DependencyName, Entry>()
  readonly #logger: Logger | undefined
  readonly #clock: () => number
  readonly #up: Gauge<'dependency'>
  readonly #outages: Counter<'dependency'>
  readonly #outageSeconds: Counter<'dependency'>
  readonly #listeners = new Set<(name: DependencyName, status: DependencyStatus) => void>()

  constructor (options: DependencyHealthOptions) {
    this.#logger = options.logger
    this.#clock = options.clock ?? Date.now
    const { registry } = options
    this.#up = (registry.getSingleMetric('rewards_dependency_up') as Gauge<'dependency'> | undefined) ?? new Gauge({
      name: 'rewards_dependency_up', help: '1 while the dependency answers, 0 during an outage (absent until first checked)', labelNames: ['dependency'], registers: [registry]
    })
    this.#outages = (registry.getSingleMetric('rewards_dependency_outages_total') as Counter<'dependency'> | undefined) ?? new Counter({
      name: 'rewards_dependency_outages_total', help: 'Outages of a dependency seen by this process (counted when they start)', labelNames: ['dependency'], registers: [registry]
    })
    this.#outageSeconds = (registry.getSingleMetric('rewards_dependency_outage_seconds_total') as Counter<'dependency'> | undefined) ?? new Counter({
      name: 'rewards_dependency_outage_seconds_total', help: 'Seconds of ended outages of a dependency', labelNames: ['dependency'], registers: [registry]
    })
  }

  /** Declares a dependency this process uses (idempotent: the first declaration wins). */
  declare (name: DependencyName, options: { required: boolean, impact: string }): void {
    if (this.#entries.has(name)) return
    this.#entries.set(name, { state: 'unknown', sinceMs: null, detail: 'not checked yet', required: options.required, impact: options.impact })
  }

  /** The dependency answered. Ends an outage (logged with its duration). */
  markUp (name: DependencyName, detail = 'reachable'): void {
    const entry = this.#entry(name)
    const now = this.#clock()
    const previous = entry.state
    entry.detail = detail
    if (previous === 'up') return
    entry.state = 'up'
    const downSinceMs = entry.sinceMs
    entry.sinceMs = now
    this.#up.set({ dependency: name }, 1)
    if (previous === 'down' && downSinceMs !== null) {
      const downMs = Math.max(0, now - downSinceMs)
      this.#outageSeconds.inc({ dependency: name }, downMs / 1000)
      this.#logger?.info({ event: 'dependency.up', dependency: name, downMs }, `dependency ${name} is back after ${(downMs / 1000).toFixed(1)} s`)
    }
    this.#notify(name)
  }

  /** The dependency failed. Starts an outage (logged once) unless one is already going on. */
  markDown (name: DependencyName, reason: string): void {
    const entry = this.#entry(name)
    entry.detail = reason
    if (entry.state === 'down') return
    entry.state = 'down'
    entry.sinceMs = this.#clock()
    this.#up.set({ dependency: name }, 0)
    this.#outages.inc({ dependency: name })
    this.#logger?.warn({ event: 'dependency.down', dependency: name, reason, required: entry.required }, `dependency ${name} is down (${reason}): ${entry.impact}`)
    this.#notify(name)
  }

  status (name: DependencyName): DependencyStatus | undefined {
    const entry = this.#entries.get(name)
    return entry === undefined ? undefined : { ...entry }
  }

  /** Every declared dependency. */
  snapshot (): Record<string, DependencyStatus> {
    const out: Record<string, DependencyStatus> = {}
    for (const [name, entry] of this.#entries) out[name] = { ...entry }
    return out
  }

  /** Called on every transition (up ↔ down). Returns a function that removes the listener. */
  onChange (listener: (name: DependencyName, status: DependencyStatus) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  #entry (name: DependencyName): Entry {
    let entry = this.#entries.get(name)
    if (entry === undefined) {
      entry = { state: 'unknown', sinceMs: null, detail: 'not checked yet', required: false, impact: 'degraded' }
      this.#entries.set(name, entry)
    }
    return entry
  }

  #notify (name: DependencyName): void {
    const status = this.status(name)!
    for (const listener of this.#listeners) {
      try { listener(name, status) } catch { /* a listener's failure is its own */ }
    }
  }
}
