// Readiness of the process: a set of named checks (one per running role) and a shutdown flag that
// turns readiness false at once when shutdown begins (docs/contract.md "Observability and shutdown": "readiness goes false before
// shutdown"), before anything is closed. A check may be ready but degraded (a dependency whose
// outage this instance rides out, e.g. PostgreSQL or Redis: docs/runbooks/dependency-outage.md):
// it stays ready and the report names it.

import { NamedChecks, type CheckResult, type HealthCheck } from './named-checks.ts'

export type { CheckResult } from './named-checks.ts'
export type ReadinessCheck = HealthCheck

export interface ReadinessReport {
  readonly ready: boolean
  readonly shuttingDown: boolean
  readonly checks: Record<string, CheckResult>
  /** Names of the checks that are degraded. */
  readonly degraded: string[]
}

export class Readiness {
  readonly #checks = new NamedChecks()
  #shuttingDown = false

  /** Adds (or replaces) a named check; returns a function that removes it. */
  add (name: string, check: ReadinessCheck): () => void {
    return this.#checks.add(name, check)
  }

  /** From now on the process is not ready, whatever the checks say. */
  markShuttingDown (): void {
    this.#shuttingDown = true
  }

  get shuttingDown (): boolean {
    return this.#shuttingDown
  }

  /** Ready when not shutting down and every check passes (a check that throws fails). With no
   *  checks at all the process is not ready: it has nothing to serve. */
  report (): ReadinessReport {
    const checks = this.#checks.run()
    const results = Object.values(checks)
    const ready = !this.#shuttingDown && results.length > 0 && results.every(r => r.ready)
    const degraded = Object.entries(checks).filter(([, c]) => c.degraded === true).map(([name]) => name)
    return { ready, shuttingDown: this.#shuttingDown, checks, degraded }
  }
}
