// Answers from standby replicas when a member's active copy cannot answer (docs/api.md "Answers
// from standby replicas", docs/engine.md "Interactive queries"): the active's task is restoring or
// moving (STORE_NOT_READY), or its instance does not answer (OwnerUnavailable). Then a standby copy
// answers if it is at most `maxStalenessRecords` changelog records behind the committed end,
// measured by the standby's own instance as the read begins (topology/standby-queries.ts): this
// instance's copy first, then the instances the assignment names as the task's standbys (or, on
// an API-only instance, which cannot see the assignment, every other instance of the group: one
// without a copy answers 503 and the next is asked). The answer says it came from a standby and
// how far behind (x-rewards-served-by, x-rewards-staleness-records). No copy within the bound:
// the active's error stands (503 + Retry-After).
import type { MemberOwner } from './local-reader.ts'

/** Response headers of an answer served by a standby copy. */
export const SERVED_BY_HEADER = 'x-rewards-served-by'
export const STALENESS_HEADER = 'x-rewards-staleness-records'
/** Header of an internal route's 503 for a member whose task restores there: the records the
 *  restore still has to apply (api/routes/internal-routes.ts), so that the forwarding instance
 *  need not wait for a long restore either (api/query/standby-reads.ts). */
export const RESTORE_LAG_HEADER = 'x-rewards-restore-lag-records'
/** Query parameter of the internal member routes: answer from a local standby within this bound
 *  when the local active cannot (api/routes/internal-routes.ts). */
export const MAX_STALENESS_PARAM = 'maxStalenessRecords'

/** An answer a standby copy gave: on which instance (null: this one) and its lag then. */
export interface ServedByStandby {
  readonly host: string | null
  readonly lagRecords: number
}

export interface StandbyCandidates {
  /** This instance keeps a copy of the member's task: read it first (no hop). */
  readonly local: boolean
  /** Other instances to ask, in order. */
  readonly hosts: readonly string[]
}

/** Which copies to ask once the active failed. `owner`: the local application's metadata (absent
 *  on an API-only instance, or while unknown); `instances`: every instance of the group (asked
 *  only when the metadata is absent); `self`: this instance's host:port; `failed`: the host that
 *  just failed (never asked again for this query). */
export function standbyCandidates (o: { owner?: MemberOwner | undefined, instances?: readonly string[] | undefined, self: string | null, failed?: string | undefined }): StandbyCandidates {
  const skip = new Set([o.self, o.failed, o.owner?.host].filter((h): h is string => typeof h === 'string'))
  // The active's host is skipped too: it failed already (restoring, or unreachable).
  const named = o.owner !== undefined ? o.owner.standbyHosts : (o.instances ?? [])
  return { local: o.owner?.localStandby === true, hosts: [...new Set(named)].filter(h => !skip.has(h)) }
}

/** The internal route's URL with the staleness bound (path may already have a query). */
export function withStalenessBound (path: string, maxStalenessRecords: number): string {
  return `${path}${path.includes('?') ? '&' : '?'}${MAX_STALENESS_PARAM}=${maxStalenessRecords}`
}
