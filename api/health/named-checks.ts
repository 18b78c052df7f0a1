// A set of named health checks, shared by readiness and liveness: add (or replace) a check by
// name, remove it with the returned function, and run them all, a check that throws counting as
// failed.

export interface CheckResult {
  readonly ready: boolean
  /** Why not (or what is ready), for the /health/* body and logs. */
  readonly detail: string
  /** Ready, but working with less than it should (a dependency is down). */
  readonly degraded?: boolean
}

export type HealthCheck = () => CheckResult

export class NamedChecks {
  readonly #checks = new Map<string, HealthCheck>()

  /** Adds (or replaces) a named check; returns a function that removes it. */
  add (name: string, check: HealthCheck): () => void {
    this.#checks.set(name, check)
    return () => { if (this.#checks.get(name) === check) this.#checks.delete(name) }
  }

  run (): Record<string, CheckResult> {
    const results: Record<string, CheckResult> = {}
    for (const [name, check] of this.#checks) {
      try {
        results[name] = check()
      } catch (error) {
        results[name] = { ready: false, detail: `check failed: ${(error as Error).message}` }
      }
    }
    return results
  }
}
