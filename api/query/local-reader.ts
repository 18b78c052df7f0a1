// Reads a member's data from this instance's state stores (interactive queries). Only keys this
// instance owns: another owner → KEY_OWNED_ELSEWHERE (details.host), a restoring or moving task →
// STORE_NOT_READY. Never a half-restored answer: the engine serves committed, restored state only.
import { RewardsError } from '../../lib/errors.ts'
import { activityPrefix, type ActivityEntry, type ActivityStoreValue } from '../../processors/rewards/activity.ts'
import { dedupeKey, parseRedemptionIndexKey, type EventDedupeEntry, type RedemptionDedupeEntry } from '../../processors/rewards/dedupe.ts'
import type { Balance, RedeemConfirmed } from '../../processors/rewards/schemas.ts'
import { REWARDS_STORES } from '../../processors/rewards/topics.ts'
import { POINTS_WINDOW_STORES } from '../../processors/rewards/points-windows.ts'
import type { KeyQueryMetadata, StreamsApplication } from '../../topology/index.ts'
import { readPointsWindows, type PointsAnswer, type PointsParams } from './points-windows-query.ts'

export interface ActivityPage {
  readonly memberId: string
  readonly items: ActivityEntry[]
  readonly nextCursor: string | null
}

/** Activity cursors are opaque to clients: the seq of the last entry returned. */
export function encodeCursor (seq: number): string {
  return Buffer.from(`s${seq}`).toString('base64url')
}

export function decodeCursor (cursor: string): number | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  const m = /^s(\d{1,12})$/.exec(text)
  return m === null ? undefined : Number(m[1])
}

/** A lookup of a redemption by id in this instance's tasks: the decision, or the tasks searched
 *  (all of them READY) so that the caller can tell "nobody has it" from "not everyone answered". */
export interface RedemptionSearch {
  readonly decision: RedeemConfirmed | undefined
  /** The accepted request's contentDigest; null for entries written before digests existed. */
  readonly digest?: string | null
  readonly tasks: string[]
}

/** A decided redemption with the digest of the request that was accepted (null: older entry). */
export interface RedemptionRecord {
  readonly decision: RedeemConfirmed
  readonly digest: string | null
}

/** Where a member's task lives, as this instance's stream application knows it. */
export interface MemberOwner {
  readonly local: boolean
  readonly host: string | null
  readonly standbyHosts: readonly string[]
  readonly localStandby: boolean
}

/** An answer read from a standby copy and how far behind that copy was (0: current). */
export interface StandbyAnswer<T> {
  readonly value: T | undefined
  readonly lagRecords: number
}

function activityPage (memberId: string, all: ActivityEntry[], limit: number, beforeSeq: number | undefined): ActivityPage {
  const older = beforeSeq === undefined ? all : all.filter(e => e.seq < beforeSeq)
  const items = older.slice(0, limit)
  const last = items[items.length - 1]
  return { memberId, items, nextCursor: older.length > limit && last !== undefined ? encodeCursor(last.seq) : null }
}

/** Upper bound on entries scanned for one page (the store keeps at most activityLimitPerMember). */
const MAX_SCAN = 10_000

export class LocalReader {
  readonly #app: () => StreamsApplication | undefined

  constructor (app: () => StreamsApplication | undefined) {
    this.#app = app
  }

  #running (): StreamsApplication {
    const app = this.#app()
    if (app === undefined) throw new RewardsError('STORE_NOT_READY', 'the stream application is not started yet')
    return app
  }

  /** Whether this instance owns the member's task, where its standby copies are and whether
   *  this instance keeps one; throws STORE_NOT_READY while unknown. */
  owner (memberId: string): MemberOwner {
    const meta = this.#running().queryMetadataForKey(REWARDS_STORES.balances, memberId)
    return { local: meta.local, host: meta.host, standbyHosts: meta.standbyHosts, localStandby: meta.localStandby }
  }

  /** Whether this instance owns the property's points windows (the task of its partition of
   *  the points repartition topic), as owner(). */
  propertyOwner (propertyId: string): MemberOwner {
    const meta = this.#running().queryMetadataForKey(POINTS_WINDOW_STORES.hour, propertyId)
    return { local: meta.local, host: meta.host, standbyHosts: meta.standbyHosts, localStandby: meta.localStandby }
  }

  /** The property's points windows from this instance's stores (api/query/points-windows-query.ts). */
  pointsWindows (propertyId: string, params: PointsParams): PointsAnswer {
    return readPointsWindows(this.#running(), propertyId, params)
  }

  /** The balance from this instance's standby copy of the member's task, if it is at most
   *  `maxLagRecords` behind (STORE_NOT_READY otherwise): docs/api.md "Answers from standby
   *  replicas". */
  async standbyBalance (memberId: string, maxLagRecords: number): Promise<StandbyAnswer<Balance>> {
    const view = await this.#running().standbyView(REWARDS_STORES.balances, memberId, { maxLagRecords })
    return { value: view.store<string, Balance>(REWARDS_STORES.balances).get(memberId), lagRecords: view.lagRecords }
  }

  /** A page of the member's activity from this instance's standby copy (as standbyBalance). */
  async standbyActivity (memberId: string, limit: number, beforeSeq: number | undefined, maxLagRecords: number): Promise<StandbyAnswer<ActivityPage>> {
    const view = await this.#running().standbyView(REWARDS_STORES.balances, memberId, { maxLagRecords })
    const all = view.store<string, ActivityStoreValue>(REWARDS_STORES.activity).prefixScan(activityPrefix(memberId), { limit: MAX_SCAN }).map(kv => kv.value as ActivityEntry)
    const page = activityPage(memberId, all, limit, beforeSeq)
    const known = page.items.length > 0 || beforeSeq !== undefined || view.store<string, Balance>(REWARDS_STORES.balances).get(memberId) !== undefined
    return { value: known ? page : undefined, lagRecords: view.lagRecords }
  }

  /** The balances store's query facade, kept per application (it reads the application's state
   *  on every call: building it per query only costs; docs/benchmarks.md "API balance query"). */
  #balances: { app: StreamsApplication, store: ReturnType<StreamsApplication['store']> } | undefined

  balance (memberId: string): Balance | undefined {
    const app = this.#running()
    if (this.#balances?.app !== app) this.#balances = { app, store: app.store<string, Balance>(REWARDS_STORES.balances) }
    return this.#balances.store.get(memberId) as Balance | undefined
  }

  /** The balance when this instance owns the member (`local: true`), else where the member's
   *  task is (as owner()): one look-up of the member's partition for both (owner() then balance()
   *  would place the key twice). */
  balanceIfLocal (memberId: string): { readonly local: true, readonly value: Balance | undefined } | (MemberOwner & { readonly local: false }) {
    const read = this.#running().getIfLocal<string, Balance>(REWARDS_STORES.balances, memberId)
    if (read.local) return read as { readonly local: true, readonly value: Balance | undefined }
    const meta = read as KeyQueryMetadata
    return { local: false, host: meta.host, standbyHosts: meta.standbyHosts, localStandby: meta.localStandby }
  }

  activity (memberId: string, limit: number, beforeSeq: number | undefined): ActivityPage {
    // The balance read asserts ownership and readiness (the activity scan covers local tasks only).
    this.balance(memberId)
    const store = this.#running().store<string, ActivityStoreValue>(REWARDS_STORES.activity)
    const all = store.prefixScan(activityPrefix(memberId), { limit: MAX_SCAN }).map(kv => kv.value as ActivityEntry)
    return activityPage(memberId, all, limit, beforeSeq)
  }

  /** host:port this instance advertises to the group (its internal routes), if any. */
  host (): string | null {
    return this.#app()?.config.applicationServer ?? null
  }

  /** A redemption by id alone, across this instance's tasks, through the redemption-index store
   *  (docs/decisions/0007-redemption-lookup-by-id.md). STORE_NOT_READY while the application is
   *  not RUNNING or a local task restores: a "not here" must mean every local task was searched. */
  redemptionById (redemptionId: string): RedemptionSearch {
    const app = this.#running()
    if (app.state !== 'RUNNING') throw new RewardsError('STORE_NOT_READY', `the stream application is ${app.state}`)
    // Only the tasks holding the index (the points windows' tasks hold none): "every task
    // searched" counts the index's tasks against the input partitions (redemption-lookup.ts).
    const tasks = app.localTasks(REWARDS_STORES.redemptionIndex)
    const restoring = tasks.filter(t => !t.ready)
    if (restoring.length > 0) throw new RewardsError('STORE_NOT_READY', `task(s) ${restoring.map(t => t.task).join(', ')} restoring`)
    const index = app.store<string, string>(REWARDS_STORES.redemptionIndex)
    // Keys `${redemptionId}:${memberId}`; the prefix also matches longer ids that start with
    // "<id>:", so each key is parsed and compared.
    const members = index.prefixScan(`${redemptionId}:`, { limit: 1000 })
      .map(kv => parseRedemptionIndexKey(kv.key))
      .filter(k => k?.redemptionId === redemptionId)
      .map(k => k!.memberId)
    for (const memberId of members.sort()) {
      const found = this.redemptionRecord(memberId, redemptionId)
      if (found !== undefined) return { decision: found.decision, digest: found.digest, tasks: tasks.map(t => t.task) }
    }
    return { decision: undefined, tasks: tasks.map(t => t.task) }
  }

  redemption (memberId: string, redemptionId: string): RedeemConfirmed | undefined {
    return this.redemptionRecord(memberId, redemptionId)?.decision
  }

  redemptionRecord (memberId: string, redemptionId: string): RedemptionRecord | undefined {
    this.balance(memberId)
    const key = dedupeKey(memberId, redemptionId)
    const store = this.#running().store<string, RedemptionDedupeEntry>(REWARDS_STORES.redemptionDedupe)
    // A prefix scan (the key is in the member's task, which is local): get() would place the
    // composite key on the partition of "memberId:redemptionId", not the member's.
    const entry = store.prefixScan(key, { limit: 1000 }).find(kv => kv.key === key)?.value
    return entry === undefined ? undefined : { decision: entry.decision, digest: entry.digest ?? null }
  }

  /** The digests of the member's accepted events among `eventIds` (the conflict check of
   *  POST /v1/events, docs/api.md#conflicts): eventId → digest, null for an entry written before
   *  digests existed; ids not accepted (or not yet processed) are absent. */
  eventDigests (memberId: string, eventIds: readonly string[]): Map<string, string | null> {
    this.balance(memberId)
    const store = this.#running().store<string, EventDedupeEntry>(REWARDS_STORES.eventDedupe)
    const found = new Map<string, string | null>()
    for (const eventId of new Set(eventIds)) {
      const key = dedupeKey(memberId, eventId)
      // A prefix scan, as for redemptions: the composite key lives in the member's task.
      const entry = store.prefixScan(key, { limit: 1000 }).find(kv => kv.key === key)?.value
      if (entry !== undefined) found.set(eventId, entry.digest ?? null)
    }
    return found
  }
}
