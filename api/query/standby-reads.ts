// A member query's fallback when the active copy cannot answer (api/query/member-queries.ts:
// balances and activity): a standby copy within the staleness bound, this instance's or another's
// (api/query/standby-fallback.ts); none either, the active and the copies again every
// MOVE_RETRY_PAUSE_MS while a task's move may still be in one of its short gaps, never for a task
// restoring more than RESTORE_HOLD_RECORDS (docs/api.md "Answers from standby replicas"). Then
// the last error stands.
import { isRewardsError } from '../../lib/errors.ts'
import type { GroupOwnerMap } from './group-owner-map.ts'
import type { LocalReader, MemberOwner, StandbyAnswer } from './local-reader.ts'
import { OwnerUnavailable, type CallContext, type OwnerForwarder } from './owner-forwarder.ts'
import { SERVED_BY_HEADER, STALENESS_HEADER, standbyCandidates, withStalenessBound } from './standby-fallback.ts'

/** Default of MemberQueriesOptions.moveRetryMs: a move's gaps (one rebalance round, a restarted
 *  instance's first assignment, a hand-over's delta restore) last about a second, longer on a
 *  loaded machine; a long restore is not waited for (RESTORE_HOLD_RECORDS). */
export const MOVE_RETRY_MS = 3000
const MOVE_RETRY_PAUSE_MS = 100
/** A task restoring with more changelog records than this left (and no copy within the bound)
 *  is not waited for: its restore would outlast a client's patience (restores run at some 30 000 records/s
 *  on a loaded 2-core machine, docs/api.md "Answers from standby replicas"), so the 503 is
 *  answered at once. Fewer: a hand-over's delta, done within the retry. */
export const RESTORE_HOLD_RECORDS = 5000
/** The records a restoring task still has to apply, from the active's error: undefined when the
 *  error is not a restore (a move, an owner that does not answer), null when unknown. */
export function restoreLagOf (error: unknown): number | null | undefined {
  if (!isRewardsError(error, 'STORE_NOT_READY')) return undefined
  const details = error.details as { state?: unknown, restoreLagRecords?: unknown } | undefined
  if (details?.state !== 'RESTORING') return undefined
  return typeof details.restoreLagRecords === 'number' ? details.restoreLagRecords : null
}

/** How a standby copy answers one kind of query: here, or on another instance's internal route. */
export interface StandbyRead<T> {
  readonly local: (reader: LocalReader, maxLagRecords: number) => Promise<StandbyAnswer<T>>
  readonly path: string
  readonly raw?: boolean
}

export interface StandbyReadsOptions {
  readonly local?: LocalReader | undefined
  readonly owners?: GroupOwnerMap | undefined
  /** How far behind (changelog records) a copy may be; default 0. */
  readonly maxStalenessRecords?: number | undefined
  /** How long to try again; default MOVE_RETRY_MS. */
  readonly moveRetryMs?: number | undefined
  readonly forwarder: OwnerForwarder
  /** Counts a query answered (where: standby, forwarded). */
  readonly countServed: (kind: string, where: string) => void
}

/** The active's failures a standby may answer for (anything else is the answer). */
function activeUnavailable (error: unknown): boolean {
  return error instanceof OwnerUnavailable || isRewardsError(error, 'STORE_NOT_READY') || isRewardsError(error, 'KEY_OWNED_ELSEWHERE')
}

/** The owner that answered its task restores with more records left than `bound`: its copy
 *  (the restoring active) cannot answer either, so it is not asked again. */
function restoringBeyond (cause: unknown, bound: number): string | undefined {
  const lag = restoreLagOf(cause)
  const host = isRewardsError(cause) ? (cause.details as { host?: unknown } | undefined)?.host : undefined
  return typeof lag === 'number' && lag > bound && typeof host === 'string' ? host : undefined
}

/** What the local copy said when it refused (over the bound: its lag). */
interface LocalCopy { lagRecords?: number }

export class StandbyReads {
  readonly #o: StandbyReadsOptions

  constructor (options: StandbyReadsOptions) {
    this.#o = options
  }

  /** `active()`, or when the active copy cannot answer, a standby copy within the staleness
   *  bound; without a promise when the active answers at once. */
  orStandby<T> (kind: string, memberId: string, call: CallContext, active: () => T | undefined | Promise<T | undefined>, standby: () => StandbyRead<T>): T | undefined | Promise<T | undefined> {
    let answer: T | undefined | Promise<T | undefined>
    try {
      answer = active()
    } catch (error) {
      if (!activeUnavailable(error)) throw error
      return this.#whileMoving(kind, memberId, call, error, active, standby)
    }
    if (!(answer instanceof Promise)) return answer
    return answer.catch(error => {
      if (!activeUnavailable(error)) throw error
      return this.#whileMoving(kind, memberId, call, error, active, standby)
    })
  }

  /** The active failed: a standby copy; none either (a task's move is in one of its short gaps:
   *  the group's instances disagree about the owner for a moment, an instance restarted and has
   *  no assignment yet, a hand-over restores its delta), the active and the copies again every
   *  MOVE_RETRY_PAUSE_MS until `moveRetryMs` passed (docs/api.md "Answers from standby
   *  replicas"). Then the last error. A task known to restore more than RESTORE_HOLD_RECORDS
   *  with no copy within the bound: its error at once. */
  async #whileMoving<T> (kind: string, memberId: string, call: CallContext, cause: unknown, active: () => T | undefined | Promise<T | undefined>, standby: () => StandbyRead<T>): Promise<T | undefined> {
    const deadline = performance.now() + (this.#o.moveRetryMs ?? MOVE_RETRY_MS)
    let error = cause
    for (;;) {
      const seen: LocalCopy = {}
      try {
        return await this.#fromStandbys(kind, memberId, call, error, standby(), seen)
      } catch (failed) {
        if (!activeUnavailable(failed)) throw failed
        error = failed
      }
      // The local active restores: the local copy's lag (the restoring active is that copy) is
      // what it still has to apply; a forwarded owner's 503 says it (RESTORE_LAG_HEADER,
      // api/query/standby-fallback.ts).
      // A remainder not known yet (the restore has just begun, its ends not read: a hand-over's
      // restore of nothing lasts some 50–100 ms) is waited for as a move is; the next round asks
      // again.
      const restore = restoreLagOf(error)
      if (restore !== undefined) {
        const left = restore ?? seen.lagRecords ?? null
        if (left !== null && left > RESTORE_HOLD_RECORDS) throw error
      }
      if (performance.now() + MOVE_RETRY_PAUSE_MS > deadline) throw error
      await new Promise(resolve => setTimeout(resolve, MOVE_RETRY_PAUSE_MS))
      try {
        return await active()
      } catch (failed) {
        if (!activeUnavailable(failed)) throw failed
        error = failed
      }
    }
  }

  async #fromStandbys<T> (kind: string, memberId: string, call: CallContext, cause: unknown, standby: StandbyRead<T>, seen: LocalCopy): Promise<T | undefined> {
    const { local, owners } = this.#o
    const bound = this.#o.maxStalenessRecords ?? 0
    let owner: MemberOwner | undefined
    try { owner = local?.owner(memberId) } catch { /* not known (rebalancing): ask every instance */ }
    // No assignment yet (this instance just started): nothing named, so every instance is asked.
    if (owner !== undefined && owner.host === null && owner.standbyHosts.length === 0 && !owner.localStandby) owner = undefined
    const instances = owner === undefined && owners !== undefined ? (await owners.instances().catch(() => undefined))?.hosts : undefined
    const candidates = standbyCandidates({ owner, instances, self: local?.host() ?? null, failed: cause instanceof OwnerUnavailable ? cause.host : restoringBeyond(cause, bound) })
    if (candidates.local) {
      try {
        const answer = await standby.local(local!, bound)
        call.servedByStandby?.({ host: null, lagRecords: answer.lagRecords })
        this.#o.countServed(kind, 'standby')
        return answer.value
      } catch (error) {
        if (!isRewardsError(error, 'STORE_NOT_READY') && !isRewardsError(error, 'KEY_OWNED_ELSEWHERE')) throw error
        const lag = (error.details as { lagRecords?: unknown } | undefined)?.lagRecords
        if (typeof lag === 'number') seen.lagRecords = lag
      }
    }
    for (const host of candidates.hosts) {
      let lag: number | null = null
      try {
        const value = await this.#o.forwarder.forward<T>(host, withStalenessBound(standby.path, bound), call, {
          ...(standby.raw === true ? { raw: true } : {}),
          headers: h => { if (h.get(SERVED_BY_HEADER) === 'standby') lag = Number(h.get(STALENESS_HEADER)) }
        })
        // The instance may have answered from its active copy (it took the task over): current.
        if (lag !== null) {
          call.servedByStandby?.({ host, lagRecords: lag })
          this.#o.countServed(kind, 'standby')
        } else {
          this.#o.countServed(kind, 'forwarded')
        }
        return value
      } catch (error) {
        if (!activeUnavailable(error)) throw error
      }
    }
    throw cause
  }
}
