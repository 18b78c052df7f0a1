// Readiness of the process: a set of named checks (one per running role) and a shutdown flag that
// turns readiness false at once when shutdown begins (SPEC §8: "readiness goes false before
// shutdown"), before anything is closed. A check may be ready but degraded (a dependency whose
// outage this instance rides out, e.g. PostgreSQL or Redis: docs/runbooks/dependency-outage.md):
// it stays ready and the report names it.

export interface CheckResult {
  readonly ready: boolean
  /** Why not (or what is ready), for the /health/ready body and logs. */
  readonly detail: string
  /** Ready, but working with less than it should (a dependency is down). */
  readonly degraded?: boolean
}

export type ReadinessCheck = () => CheckResult

export interface ReadinessReport {
  readonly ready: boolean
  readonly shuttingDown: boolean
  readonly checks: Record<string, CheckResult>
  /** Names of the checks that are degraded. */
  readonly degraded: string[]
}

export class Readiness {
  readonly #checks = new Map<string, ReadinessCheck>()
  #shuttingDown = false

  /** Adds (or replaces) a named check; returns a function that removes it. */
  add (name: string, check: ReadinessCheck): () => void {
    this.#checks.set(name, check)
    return () => { if (this.#checks.get(name) === check) this.#checks.delete(name) }
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
    const checks: Record<string, CheckResult> = {}
    for (const [name, check] of this.#checks) {
      try {
        checks[name] = check()
      } catch (error) {
        checks[name] = { ready: false, detail: `check failed: ${(error as Error).message}` }
      }
    }
    const results = Object.values(checks)
    const ready = !this.#shuttingDown && results.length > 0 && results.every(r => r.ready)
    const degraded = Object.entries(checks).filter(([, c]) => c.degraded === true).map(([name]) => name)
    return { ready, shuttingDown: this.#shuttingDown, checks, degraded }
  }
}
