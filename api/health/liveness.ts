// Liveness of the process: named checks that say whether a part that must run is running (the
// processor role: a stream thread). /health/live answers 503 while one fails, so that an
// orchestrator restarts the process; with no checks the process is live while it answers.
import { NamedChecks, type CheckResult, type HealthCheck } from './named-checks.ts'

export type LivenessCheck = HealthCheck

export interface LivenessReport {
  readonly live: boolean
  readonly checks: Record<string, CheckResult>
}

export class Liveness {
  readonly #checks = new NamedChecks()

  /** Adds (or replaces) a named check; returns a function that removes it. `ready` in its result
   *  means "live". */
  add (name: string, check: LivenessCheck): () => void {
    return this.#checks.add(name, check)
  }

  /** Live when every check passes (a check that throws fails). */
  report (): LivenessReport {
    const checks = this.#checks.run()
    return { live: Object.values(checks).every(c => c.ready), checks }
  }
}
