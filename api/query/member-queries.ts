// Member queries from any instance: answered from the local stores when this instance owns the
// member, otherwise forwarded over HTTP to the owner's internal routes
// (/internal/v1/members/…, api/routes/internal-routes.ts), which answer from their own stores and
// never forward again. The owner comes from the local stream application's key metadata or, on an
// API-only instance, from the consumer group (GroupOwnerMap). The caller's bearer token travels
// with the forward, so the owner checks it too.
//
// Outcomes: a value, `undefined` (404), or an error: STORE_NOT_READY (503 + Retry-After: restoring,
// rebalancing, owner not known yet) or OwnerUnavailable (503: the owner could not be reached).
import { Counter, type Registry } from 'prom-client'
import { isRewardsError, RewardsError } from '../../lib/errors.ts'
import type { Balance, RedeemConfirmed } from '../../processors/rewards/schemas.ts'
import type { GroupOwnerMap } from './group-owner-map.ts'
import type { ActivityPage, LocalReader } from './local-reader.ts'
import { lookupRedemption, OwnersUnreachable } from './redemption-lookup.ts'

export class OwnerUnavailable extends Error {
  readonly host: string
  constructor (host: string, cause: unknown) {
    super(`owner ${host} did not answer`, { cause })
    this.name = 'OwnerUnavailable'
    this.host = host
  }
}

export interface MemberQueriesOptions {
  /** Present on instances running the stream application. */
  readonly local?: LocalReader
  /** Present on API-only instances; on processor instances too, for lookups that ask every
   *  instance (redemptions by id). */
  readonly owners?: GroupOwnerMap
  readonly registry: Registry
  /** Bound on one forwarded request; default 2000 ms. */
  readonly forwardTimeoutMs?: number
}

export interface CallContext {
  readonly authorization: string | undefined
  readonly requestId: string
}

type Route = { local: true } | { local: false, host: string }

export class MemberQueries {
  readonly #options: MemberQueriesOptions
  readonly #served: Counter<'route' | 'where'>
  readonly #cacheLookups: Counter<'cache' | 'result'>

  constructor (options: MemberQueriesOptions) {
    if (options.local === undefined && options.owners === undefined) throw new Error('MemberQueries needs a local reader or an owner map')
    this.#options = options
    this.#served = (options.registry.getSingleMetric('rewards_api_queries_total') as Counter<'route' | 'where'> | undefined) ?? new Counter({
      name: 'rewards_api_queries_total', help: 'Member queries by kind and where they were answered (local store, forwarded, cache)', labelNames: ['route', 'where'], registers: [options.registry]
    })
    // Hits and misses as one counter, so the hit ratio is hits / all of it.
    this.#cacheLookups = (options.registry.getSingleMetric('rewards_api_cache_requests_total') as Counter<'cache' | 'result'> | undefined) ?? new Counter({
      name: 'rewards_api_cache_requests_total', help: 'Hot-balance cache lookups by cache and result (hit, miss)', labelNames: ['cache', 'result'], registers: [options.registry]
    })
  }

  /** Counts a query answered from the hot-balance cache. */
  countCacheHit (route: string): void {
    this.#cacheLookups.inc({ cache: route, result: 'hit' })
    this.#served.inc({ route, where: 'cache' })
  }

  /** Counts a hot-balance cache lookup that found nothing (the stores answer instead). */
  countCacheMiss (route: string): void {
    this.#cacheLookups.inc({ cache: route, result: 'miss' })
  }

  async #route (memberId: string): Promise<Route> {
    const { local, owners } = this.#options
    if (local !== undefined) {
      // With both, member keys are routed by the local application's metadata (no group read).
      const owner = local.owner(memberId)
      if (owner.local) return { local: true }
      if (owner.host === null) throw new RewardsError('STORE_NOT_READY', 'the owner of this member is not known yet (rebalancing)')
      return { local: false, host: owner.host }
    }
    return { local: false, host: await owners!.owner(memberId) }
  }

  async #query<T> (kind: string, memberId: string, call: CallContext, path: string, read: (reader: LocalReader) => T | undefined): Promise<T | undefined> {
    const route = await this.#route(memberId)
    if (route.local) {
      try {
        const value = read(this.#options.local!)
        this.#served.inc({ route: kind, where: 'local' })
        return value
      } catch (error) {
        // Ownership moved between the metadata read and the store read: rebalancing.
        if (isRewardsError(error, 'KEY_OWNED_ELSEWHERE')) throw new RewardsError('STORE_NOT_READY', 'ownership of this member is moving', { cause: error })
        throw error
      }
    }
    const value = await this.#forward<T>(route.host, path, call)
    this.#served.inc({ route: kind, where: 'forwarded' })
    return value
  }

  async #forward<T> (host: string, path: string, call: CallContext): Promise<T | undefined> {
    let response: Response
    try {
      response = await fetch(`http://${host}${path}`, {
        headers: { ...(call.authorization !== undefined ? { authorization: call.authorization } : {}), 'x-request-id': call.requestId, accept: 'application/json' },
        signal: AbortSignal.timeout(this.#options.forwardTimeoutMs ?? 2_000)
      })
    } catch (error) {
      this.#options.owners?.invalidate()
      throw new OwnerUnavailable(host, error)
    }
    if (response.status === 200) return await response.json() as T
    const body = await response.json().catch(() => undefined) as { error?: { code?: string, message?: string } } | undefined
    if (response.status === 404 && body?.error?.code !== 'NOT_FOUND') return undefined
    if (response.status === 503) {
      this.#options.owners?.invalidate()
      throw new RewardsError('STORE_NOT_READY', body?.error?.message ?? `owner ${host} is not ready`)
    }
    if (response.status === 401 || response.status === 403) {
      // The owner refused a token this instance accepted: configurations differ. Not the client's fault.
      throw new OwnerUnavailable(host, new Error(`owner refused the forwarded token (${response.status})`))
    }
    this.#options.owners?.invalidate()
    throw new OwnerUnavailable(host, new Error(`owner answered ${response.status}`))
  }

  balance (memberId: string, call: CallContext): Promise<Balance | undefined> {
    return this.#query('balance', memberId, call, `/internal/v1/members/${encodeURIComponent(memberId)}/balance`, r => r.balance(memberId))
  }

  activity (memberId: string, limit: number, cursor: { text: string, seq: number } | undefined, call: CallContext): Promise<ActivityPage | undefined> {
    const query = new URLSearchParams({ limit: String(limit), ...(cursor !== undefined ? { cursor: cursor.text } : {}) })
    return this.#query('activity', memberId, call, `/internal/v1/members/${encodeURIComponent(memberId)}/activity?${query}`, r => {
      const page = r.activity(memberId, limit, cursor?.seq)
      return page.items.length === 0 && cursor === undefined && r.balance(memberId) === undefined ? undefined : page
    })
  }

  redemption (memberId: string, redemptionId: string, call: CallContext): Promise<RedeemConfirmed | undefined> {
    return this.#query('redemption', memberId, call, `/internal/v1/members/${encodeURIComponent(memberId)}/redemptions/${encodeURIComponent(redemptionId)}`, r => r.redemption(memberId, redemptionId))
  }

  /** A redemption by id alone: this instance's tasks, then every other instance of the group
   *  (api/query/redemption-lookup.ts). */
  async redemptionById (redemptionId: string, call: CallContext): Promise<RedeemConfirmed | undefined> {
    const { local, owners } = this.#options
    try {
      const result = await lookupRedemption({ ...(local !== undefined ? { local } : {}), ...(owners !== undefined ? { owners } : {}), forwardTimeoutMs: this.#options.forwardTimeoutMs ?? 2_000 }, redemptionId, call)
      if (result.kind === 'absent') return undefined
      this.#served.inc({ route: 'redemption_by_id', where: result.where })
      return result.decision
    } catch (error) {
      if (error instanceof OwnersUnreachable) throw new OwnerUnavailable(error.hosts.join(', '), error.cause)
      throw error
    }
  }
}
