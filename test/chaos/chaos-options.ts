// What a chaos run does: its scenario, size and pace. The short form (the test command) and the
// long form (`npm run chaos`) are the same run with other numbers.

export const SCENARIOS = ['kills', 'broker', 'postgres', 'redis', 'shared-dir'] as const
export type Scenario = typeof SCENARIOS[number]

export interface ChaosOptions {
  readonly scenario: Scenario
  /** Platform processes (`rewards start`, all roles). */
  readonly instances: number
  /** SIGKILLs of a whole process group, spread over the production. */
  readonly kills: number
  /** Records produced by the independent client (valid and bad), spread over productionMs. */
  readonly records: number
  readonly members: number
  /** Members whose traffic goes through the HTTP API instead (0: none). */
  readonly httpMembers: number
  readonly productionMs: number
  readonly partitions: number
  /** How long the broker, PostgreSQL or Redis stays down in those scenarios. */
  readonly outageMs: number
  /** Every Nth restart wipes the instance's data directory first (a full restore); 0: never. */
  readonly wipeEvery: number
  readonly seed: number
  /** `mixed`: a backfill 200 days old, late arrivals 60 days old and today, malformed records
   *  stamped now among them (what issue 14 found). `recent`: all within 20 days (the control). */
  readonly timestamps: 'mixed' | 'recent'
  /** Bound on the wait for the group to catch up and the archive to be complete at the end. */
  readonly settleTimeoutMs: number
}

const OUTAGE_MS: Record<Scenario, number> = { kills: 0, broker: 30_000, postgres: 60_000, redis: 30_000, 'shared-dir': 0 }

/** The long form's defaults (issue 14: at least 20 kills, 2 or 3 instances). */
export function longOptions (overrides: Partial<ChaosOptions> = {}): ChaosOptions {
  const scenario = overrides.scenario ?? 'kills'
  return {
    scenario,
    instances: 2,
    kills: scenario === 'kills' ? 20 : 0,
    records: 60_000,
    members: 300,
    httpMembers: 20,
    productionMs: 150_000,
    partitions: 12,
    outageMs: OUTAGE_MS[scenario],
    wipeEvery: 5,
    seed: Date.now() % 1_000_000,
    timestamps: 'mixed',
    settleTimeoutMs: 600_000,
    ...overrides
  }
}

/** The short form run by the test command: small enough to add a few minutes to `npm test`. */
export function shortOptions (overrides: Partial<ChaosOptions> = {}): ChaosOptions {
  return longOptions({ kills: 4, records: 4000, members: 120, httpMembers: 6, productionMs: 45_000, partitions: 6, wipeEvery: 3, settleTimeoutMs: 75_000, ...overrides })
}
