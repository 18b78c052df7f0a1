// Liveness of the process: named checks that say whether a part that must run is running (the
// processor role: a stream thread). /health/live answers 503 while one fails, so that an
// orchestrator restarts the process; with no checks the process is live while it answers.
import type { CheckResult } from './readiness.ts'

export type LivenessCheck = () => CheckResult

export interface LivenessReport {
  readonly live: boolean
  readonly checks: Record<string, CheckResult>
}

export class Liveness {
  readonly #checks = new Map<string, LivenessCheck>()

  /** Adds (or replaces) a named check; returns a function that removes it. `ready` in its result
   *  means "live". */
  add (name: string, check: LivenessCheck): () => void {
    this.#checks.set(name, check)
    return () => { if (this.#checks.get(name) === check) this.#checks.delete(name) }
  }

  /** Live when every check passes (a check that throws fails). */
  report (): LivenessReport {
    const checks: Record<string, CheckResult> = {}
    for (const [name, check] of this.#checks) {
      try {
        checks[name] = check()
      } catch (error) {
        checks[name] = { ready: false, detail: `check failed: ${(error as Error).message}` }
      }
    }
    return { live: Object.values(checks).every(c => c.ready), checks }
  }
}
