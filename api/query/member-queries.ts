// Member queries from any instance: answered from the local stores when this instance owns the
// member, otherwise forwarded over HTTP to the owner's internal routes
// (/internal/v1/members/…, api/routes/internal-routes.ts; api/query/owner-forwarder.ts), which
// answer from their own stores and never forward again. The owner comes from the local stream
// application's key metadata or, on an API-only instance, from the consumer group
// (GroupOwnerMap). The caller's bearer token travels with the forward, so the owner checks it too.
//
// Outcomes: a value, `undefined` (404), or an error: STORE_NOT_READY (503 + Retry-After: restoring,
// rebalancing, owner not known yet) or OwnerUnavailable (503: the owner could not be reached, or
// did not answer several times in a row: its breaker is open, lib/resilience/peers-policy.ts).
// Balances and activity then fall back to a standby copy within the staleness bound
// (api/query/standby-reads.ts); the error stands only when none can answer.
import type { Counter, Registry } from 'prom-client'
import { isRewardsError, RewardsError } from '../../lib/errors.ts'
import type { Balance, RedeemConfirmed } from '../../processors/rewards/schemas.ts'
import { FlatJsonMemo } from './flat-json-memo.ts'
import { batchedCounter, pairCounter } from '../batched-counter.ts'
import type { GroupOwnerMap } from './group-owner-map.ts'
import { CONTENT_DIGEST_HEADER } from '../routes/internal-routes.ts'
import type { ActivityPage, LocalReader, MemberOwner, RedemptionRecord } from './local-reader.ts'
import { OwnerForwarder, OwnerUnavailable, type CallContext, type ForwardedHeaders } from './owner-forwarder.ts'
import { StandbyReads } from './standby-reads.ts'
import { lookupRedemption, OwnersUnreachable } from './redemption-lookup.ts'
import type { PointsAnswer, PointsParams } from './points-windows-query.ts'

// Users import these from here (the query API's one entry).
export { OwnerUnavailable, type CallContext, type ForwardedHeaders } from './owner-forwarder.ts'
export { MOVE_RETRY_MS } from './standby-reads.ts'

export interface MemberQueriesOptions {
  /** Present on instances running the stream application. */
  readonly local?: LocalReader
  /** Present on API-only instances; on processor instances too, for lookups that ask every
   *  instance (redemptions by id). */
  readonly owners?: GroupOwnerMap
  /** On API-only instances: owners of the properties' points windows (the group's partitions of
   *  the points repartition topic); without it such an instance answers 503 for them. */
  readonly propertyOwners?: GroupOwnerMap
  readonly registry: Registry
  /** Bound on one forwarded request; default 2000 ms. */
  readonly forwardTimeoutMs?: number
  /** How far behind (changelog records) a standby copy may be to answer balances and activity
   *  while the active cannot; default 0: only a copy holding exactly the committed state. */
  readonly maxStalenessRecords?: number
  /** How long a balance or activity query that finds neither the active nor a standby copy
   *  tries again (a task's move); default MOVE_RETRY_MS, 0: answers 503 at once. */
  readonly moveRetryMs?: number
}

type Route = { local: true } | { local: false, host: string }
const LOCAL: Route = Object.freeze({ local: true })

/** Where a member's queries go, from the local application's metadata; STORE_NOT_READY while
 *  the owner is not known. */
function remoteRoute (owner: MemberOwner): Route {
  if (owner.local) return LOCAL
  if (owner.host === null) throw new RewardsError('STORE_NOT_READY', 'the owner of this member is not known yet (rebalancing)')
  return { local: false, host: owner.host }
}

export class MemberQueries {
  readonly #options: MemberQueriesOptions
  readonly #served: Counter<'route' | 'where'>
  readonly #countServed: (route: string, where: string) => void
  readonly #countLookup: (cache: string, result: string) => void
  readonly #forwarder: OwnerForwarder
  readonly #standbys: StandbyReads
  /** The JSON text of the balances read here: JSON.stringify's, made again only when a balance
   *  changed (docs/benchmarks.md "API balance query, fifth pass"). */
  readonly #balanceText = new FlatJsonMemo()

  constructor (options: MemberQueriesOptions) {
    if (options.local === undefined && options.owners === undefined) throw new Error('MemberQueries needs a local reader or an owner map')
    this.#options = options
    this.#forwarder = new OwnerForwarder({ owners: options.owners, timeoutMs: options.forwardTimeoutMs })
    // Counted on every query: its children batch their increments (api/batched-counter.ts).
    this.#served = batchedCounter<'route' | 'where'>(options.registry, {
      name: 'rewards_api_queries_total', help: 'Member queries by kind and where they were answered (local store, forwarded, cache)', labelNames: ['route', 'where']
    })
    // Hits and misses as one counter, so the hit ratio is hits / all of it.
    // Counted on every cached query too: batched the same way.
    const cacheLookups = batchedCounter<'cache' | 'result'>(options.registry, {
      name: 'rewards_api_cache_requests_total', help: 'Hot-balance cache lookups by cache and result (hit, miss)', labelNames: ['cache', 'result']
    })
    // One child per pair of label values: prom-client's inc({labels}) validates and hashes them on
    // every call; a batched child adds to a number until the next read.
    this.#countServed = pairCounter(this.#served, 'route', 'where')
    this.#countLookup = pairCounter(cacheLookups, 'cache', 'result')
    this.#standbys = new StandbyReads({
      local: options.local, owners: options.owners, maxStalenessRecords: options.maxStalenessRecords, moveRetryMs: options.moveRetryMs, forwarder: this.#forwarder, countServed: this.#countServed
    })
  }

  /** Counts a query answered from the hot-balance cache. */
  countCacheHit (route: string): void {
    this.#countLookup(route, 'hit')
    this.#countServed(route, 'cache')
  }

  /** Counts a hot-balance cache lookup that found nothing (the stores answer instead). */
  countCacheMiss (route: string): void {
    this.#countLookup(route, 'miss')
  }

  /** Where a member's queries go: with a local application, by its metadata (no group read, no
   *  promise); otherwise the owner from the group. */
  #route (memberId: string): Route | Promise<Route> {
    const { local, owners } = this.#options
    if (local !== undefined) return remoteRoute(local.owner(memberId))
    return owners!.owner(memberId).then(host => ({ local: false, host }))
  }

  /** Where a property's points windows are read: as #route, by the property's partition of the
   *  points repartition topic. */
  #propertyRoute (propertyId: string): Route | Promise<Route> {
    const { local, propertyOwners } = this.#options
    if (local !== undefined) {
      const owner = local.propertyOwner(propertyId)
      if (owner.local) return LOCAL
      if (owner.host === null) throw new RewardsError('STORE_NOT_READY', 'the owner of this property is not known yet (rebalancing)')
      return { local: false, host: owner.host }
    }
    if (propertyOwners === undefined) throw new RewardsError('STORE_NOT_READY', 'this instance cannot locate the points windows')
    return propertyOwners.owner(propertyId).then(host => ({ local: false, host }))
  }

  /** A property's points windows (GET /v1/properties/{id}/points): read here when this instance
   *  owns the property, else forwarded with the same parameters to the owner's internal route. */
  async pointsWindows (propertyId: string, params: PointsParams, call: CallContext): Promise<PointsAnswer> {
    const routed = this.#propertyRoute(propertyId)
    const route = routed instanceof Promise ? await routed : routed
    if (route.local) {
      const answer = this.#readLocal(r => r.pointsWindows(propertyId, params))
      this.#countServed('points', 'local')
      return answer
    }
    const query = new URLSearchParams({ from: new Date(params.fromMs).toISOString(), to: new Date(params.toMs).toISOString(), window: params.window })
    const answer = await this.#forwarder.forward<PointsAnswer>(route.host, `/internal/v1/properties/${encodeURIComponent(propertyId)}/points?${query}`, call)
    if (answer === undefined) throw new OwnerUnavailable(route.host, new Error('owner answered 404'))
    this.#countServed('points', 'forwarded')
    return answer
  }

  async #query<T> (kind: string, memberId: string, call: CallContext, path: string, read: (reader: LocalReader) => T | undefined, post?: { body?: unknown, parse?: (body: unknown, headers: ForwardedHeaders) => T }): Promise<T | undefined> {
    const routed = this.#route(memberId)
    const route = routed instanceof Promise ? await routed : routed
    if (route.local) {
      const value = this.#readLocal(read)
      this.#countServed(kind, 'local')
      return value
    }
    const value = await this.#forwarder.forward<T>(route.host, path, call, post)
    this.#countServed(kind, 'forwarded')
    return value
  }

  /** The member's balance as the JSON text the API answers (undefined: no such member), without
   *  a promise when this instance owns the member: read and serialized here. Forwarded, it is the
   *  owner's answer as it came (the same serialization of the same balance, so the ETag does not
   *  depend on the instance asked), not parsed and serialized again. */
  balanceJson (memberId: string, call: CallContext): string | undefined | Promise<string | undefined> {
    return this.#standbys.orStandby('balance', memberId, call, () => {
      if (this.#options.local !== undefined) {
        // One placement of the key for the owner check and the read (LocalReader.balanceIfLocal).
        const read = this.#readLocal(r => r.balanceIfLocal(memberId))
        if (read.local) {
          this.#countServed('balance', 'local')
          return read.value === undefined ? undefined : this.#balanceText.text(memberId, read.value satisfies Balance)
        }
        return this.#balanceJson(remoteRoute(read), memberId, call)
      }
      const route = this.#route(memberId)
      if (route instanceof Promise) return route.then(r => this.#balanceJson(r, memberId, call))
      return this.#balanceJson(route, memberId, call)
    }, () => ({
      local: async (reader, bound) => {
        const answer = await reader.standbyBalance(memberId, bound)
        return { value: answer.value === undefined ? undefined : JSON.stringify(answer.value satisfies Balance), lagRecords: answer.lagRecords }
      },
      path: balancePath(memberId),
      raw: true
    }))
  }

  /** The balance of a member whose task is on this instance, running and readable, read now; or
   *  undefined — not local, no such member, not readable — leaving the question to balanceJson.
   *  Counts nothing: for the balance fast lane (api/routes/balance-fast-lane.ts), which answers
   *  only when it can answer exactly as balanceJson would. */
  localBalanceNow (memberId: string): Balance | undefined {
    const local = this.#options.local
    if (local === undefined) return undefined
    try {
      const read = local.balanceIfLocal(memberId)
      return read.local ? read.value : undefined
    } catch {
      return undefined
    }
  }

  /** balanceJson's answer for a balance localBalanceNow read, counted as served locally. */
  servedLocally (memberId: string, balance: Balance): string {
    this.#countServed('balance', 'local')
    return this.#balanceText.text(memberId, balance)
  }

  #balanceJson (route: Route, memberId: string, call: CallContext): string | undefined | Promise<string | undefined> {
    if (route.local) {
      const balance = this.#readLocal(r => r.balance(memberId))
      this.#countServed('balance', 'local')
      return balance === undefined ? undefined : this.#balanceText.text(memberId, balance satisfies Balance)
    }
    return this.#forwarder.forward<string>(route.host, balancePath(memberId), call, { raw: true }).then(json => {
      this.#countServed('balance', 'forwarded')
      return json
    })
  }

  #readLocal<T> (read: (reader: LocalReader) => T): T {
    try {
      return read(this.#options.local!)
    } catch (error) {
      // Ownership moved between the metadata read and the store read: rebalancing.
      if (isRewardsError(error, 'KEY_OWNED_ELSEWHERE')) throw new RewardsError('STORE_NOT_READY', 'ownership of this member is moving', { cause: error })
      throw error
    }
  }

  balance (memberId: string, call: CallContext): Promise<Balance | undefined> {
    return this.#query('balance', memberId, call, balancePath(memberId), r => r.balance(memberId))
  }

  async activity (memberId: string, limit: number, cursor: { text: string, seq: number } | undefined, call: CallContext): Promise<ActivityPage | undefined> {
    const query = new URLSearchParams({ limit: String(limit), ...(cursor !== undefined ? { cursor: cursor.text } : {}) })
    const path = `/internal/v1/members/${encodeURIComponent(memberId)}/activity?${query}`
    return await this.#standbys.orStandby('activity', memberId, call, () => this.#query('activity', memberId, call, path, r => {
      const page = r.activity(memberId, limit, cursor?.seq)
      return page.items.length === 0 && cursor === undefined && r.balance(memberId) === undefined ? undefined : page
    }), () => ({
      local: (reader, bound) => reader.standbyActivity(memberId, limit, cursor?.seq, bound),
      path
    }))
  }

  redemption (memberId: string, redemptionId: string, call: CallContext): Promise<RedeemConfirmed | undefined> {
    return this.#query('redemption', memberId, call, `/internal/v1/members/${encodeURIComponent(memberId)}/redemptions/${encodeURIComponent(redemptionId)}`, r => r.redemption(memberId, redemptionId))
  }

  /** The member's decision of a redemption with the accepted request's digest (null: unknown). */
  redemptionRecord (memberId: string, redemptionId: string, call: CallContext): Promise<RedemptionRecord | undefined> {
    return this.#query('redemption', memberId, call, `/internal/v1/members/${encodeURIComponent(memberId)}/redemptions/${encodeURIComponent(redemptionId)}`, r => r.redemptionRecord(memberId, redemptionId), {
      parse: (body, headers) => ({ decision: body as RedeemConfirmed, digest: headers.get(CONTENT_DIGEST_HEADER) })
    })
  }

  /** Digests of the member's accepted events among `eventIds` (absent: not accepted, or not
   *  processed yet; null: an entry older than digests), from the member's task. */
  async eventDigests (memberId: string, eventIds: readonly string[], call: CallContext): Promise<Map<string, string | null>> {
    const found = await this.#query('event_digests', memberId, call, `/internal/v1/members/${encodeURIComponent(memberId)}/event-digests`, r => r.eventDigests(memberId, eventIds), {
      body: { eventIds },
      parse: body => new Map(Object.entries((body as { digests: Record<string, string | null> }).digests))
    })
    return found ?? new Map()
  }

  /** A redemption by id alone: this instance's tasks, then every other instance of the group
   *  (api/query/redemption-lookup.ts). */
  async redemptionById (redemptionId: string, call: CallContext): Promise<RedeemConfirmed | undefined> {
    return (await this.redemptionRecordById(redemptionId, call))?.decision
  }

  /** redemptionById with the accepted request's digest (the conflict check, docs/api.md#conflicts). */
  async redemptionRecordById (redemptionId: string, call: CallContext): Promise<RedemptionRecord | undefined> {
    const { local, owners } = this.#options
    try {
      const result = await lookupRedemption({ ...(local !== undefined ? { local } : {}), ...(owners !== undefined ? { owners } : {}), forwardTimeoutMs: this.#options.forwardTimeoutMs ?? 2_000 }, redemptionId, call)
      if (result.kind === 'absent') return undefined
      this.#served.inc({ route: 'redemption_by_id', where: result.where })
      return { decision: result.decision, digest: result.digest }
    } catch (error) {
      if (error instanceof OwnersUnreachable) throw new OwnerUnavailable(error.hosts.join(', '), error.cause)
      throw error
    }
  }
}

function balancePath (memberId: string): string {
  return `/internal/v1/members/${encodeURIComponent(memberId)}/balance`
}
