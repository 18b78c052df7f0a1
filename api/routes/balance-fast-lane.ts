// The balance fast lane (docs/api.md "Balance fast lane"): GET /v1/members/{memberId}/balance
// answered in front of Fastify's router when — and only when — the answer is the one the Fastify
// route (api/routes/member-routes.ts) would give, byte for byte but the Date and a new request id.
// Every other request reaches Fastify untouched, so every error, 304, standby answer, HEAD and
// the rest keep their one implementation. A member owned by another instance (cache off) is
// forwarded from here with the route's own query (MemberQueries.balanceJson); only its happy 200
// is answered here, any other outcome is handed to the route (api/routes/balance-handoff.ts). Why: the route's server CPU per request
// was 1.7× a bare Fastify route's, and what the route adds cannot fit in the quarter of Fastify's
// own per-request cost that issue 16's 0.8× allows (docs/benchmarks.md "API balance query, sixth
// pass" and "seventh pass"); the lane skips Fastify's per-request machinery (routing, Request and
// Reply objects, the child logger, the hooks' chain, the validator) for the hot, happy read.
//
// It takes a request only if all of these hold, each checked before anything is counted:
//   - GET of exactly /v1/members/{id}/balance, the id matching the route's schema, no query
//     string, no body, no If-None-Match, no Accept-Version, no traceparent;
//   - an Accept the route accepts (api/content-negotiation.ts);
//   - no OpenTelemetry SDK registered, the log level above debug, the server not closing;
//   - a bearer token verified before, unexpired, its client known not revoked, with
//     balances:read (the guard's ADMITTED_NOW);
//   - the balance in the in-process hot-balance cache, or (cache off, or a miss) the member's
//     task on this instance, running and readable, the member known (MemberQueries.localBalanceNow),
//     or the member not readable here and the client within its rate limit: forwarded;
//   - the client's rate limit counted in process and within the limit (COUNT_NOW), or no limit
//     (a request beyond it is the one exception to "nothing counted": counted, then handed to the
//     route, which counts it again and answers 429; a count past the limit changes no header).
// Then it writes what the route writes (same status, body, header names, values and order:
// x-request-id, the RateLimit headers, x-cache, etag, cache-control, content-type,
// content-length; Node adds Date, Connection, Keep-Alive as for Fastify) and counts what the
// route counts (the served-query counter, the rate limit, the HTTP request histogram).
// With the hot-balance cache in process (no Redis), a cached balance is answered as the route
// answers it (x-cache: hit, counted as a hit), and a miss of a local member reads the store and
// fills the cache as the route does (x-cache: miss), and so does a forwarded member's 200 (a miss
// before: the route's whole machinery on an instance that owns nothing, every query of a cold
// start's; docs/benchmarks.md "Cold start, twelfth pass"). Not installed with CORS on, nor with the
// cache or the rate limit in Redis (each a promise per request).
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { ADMITTED_NOW, type AdmitsNow, type GuardHook } from '../auth/require-scope.ts'
import { MemoryCache, type SharedCache } from '../cache/shared-cache.ts'
import { requestDurationOf, requestIdOf } from '../ops-server.ts'
import type { MemberQueries } from '../query/member-queries.ts'
import { bodyFacts, JSON_UTF8, READ_CACHE_CONTROL } from './conditional-get.ts'
import { balanceCacheKey } from './member-routes.ts'
import type { ServedByStandby } from '../query/standby-fallback.ts'
import { handOver, type SettledBalance } from './balance-handoff.ts'
import { COUNT_NOW, type CountsNow, type RateLimitHeaders } from './rate-limit.ts'
import { installInFront, plainJsonRead, type RequestListener } from './request-lane.ts'

/** The route's template (the histogram's label) and the paths the lane takes: the member id as
 *  the route's schema allows it (processors/rewards/schemas.ts MEMBER_ID_PATTERN), nothing to
 *  decode, nothing after. */
export const BALANCE_ROUTE = '/v1/members/:memberId/balance'
const BALANCE_PATH = /^\/v1\/members\/([A-Za-z0-9_-]{1,64})\/balance$/

export interface BalanceFastLaneOptions {
  readonly queries: MemberQueries
  /** The route's guard hook (rateLimitedGuard's or scopeGuard's, for balances:read). */
  readonly guard: GuardHook
  /** Whether the route's guard counts a rate limit (then the lane serves only what it can count). */
  readonly rateLimited: boolean
  /** The hot-balance cache and its TTL (0: off); only the in-process cache can be read here. */
  readonly cache: SharedCache
  readonly balanceCacheTtlMs: number
}

const installed = new WeakSet<Server>()

/** Puts the lane in front of `app`'s server's request handler (Fastify's); false when it cannot
 *  answer as the route would (a server not built by api/ops-server.ts, a prefixed plugin, a rate
 *  limit counted in Redis, a guard without ADMITTED_NOW), and nothing is installed. */
export function installBalanceFastLane (app: FastifyInstance, options: BalanceFastLaneOptions): boolean {
  const server = app.server
  const observe = requestDurationOf(server)
  const admittedNow = (options.guard as AdmitsNow)[ADMITTED_NOW]
  const countNow = options.rateLimited ? (options.guard as CountsNow)[COUNT_NOW]?.('GET', BALANCE_ROUTE) : undefined
  if (observe === undefined || admittedNow === undefined || app.prefix !== '' || installed.has(server)) return false
  if (options.rateLimited && countNow === undefined) return false
  const ttlMs = options.balanceCacheTtlMs
  const cache = ttlMs > 0 ? options.cache : undefined
  if (cache !== undefined && !(cache instanceof MemoryCache)) return false
  const { queries } = options

  /** Answers the request and returns true, or returns false having counted nothing. */
  const serve = (request: IncomingMessage, response: ServerResponse, next: RequestListener): boolean => {
    if (request.method !== 'GET') return false
    const path = BALANCE_PATH.exec(request.url!)
    if (path === null) return false
    const started = performance.now()
    const headers = request.headers
    if (headers['if-none-match'] !== undefined || !plainJsonRead(app, headers)) return false
    const principal = admittedNow(headers.authorization)
    if (principal === undefined) return false
    const memberId = path[1]!
    const key = cache === undefined ? undefined : balanceCacheKey(memberId)
    const cached = key === undefined ? undefined : cache!.getNow(key)
    const balance = cached === undefined ? queries.localBalanceNow(memberId) : undefined
    if (cached === undefined && balance === undefined) {
      // Not here (nor in the cache): the route's query, forwarded to the owner, answered here when
      // it is a 200 from the owner's active copy; the rate limit counted then (within it now).
      if (countNow !== undefined && !countNow.within(principal.clientId)) return false
      forward(request, response, next, memberId, principal.clientId, started, key)
      return true
    }
    const rate = countNow?.(principal.clientId)
    if (countNow !== undefined && rate === undefined) return false
    // From here on, the route's answer (member-routes.ts: cachedBalance, or sendBalance).
    let body: string
    if (cached !== undefined) {
      queries.countCacheHit('balance')
      body = cached
    } else {
      if (key !== undefined) queries.countCacheMiss('balance')
      body = queries.servedLocally(memberId, balance!)
      if (key !== undefined) cache!.setNow(key, body, ttlMs)
    }
    write(response, requestIdOf(request), rate, cached === undefined ? 'miss' : 'hit', body)
    observe('GET', BALANCE_ROUTE, 200, (performance.now() - started) / 1000)
    return true
  }

  /** The route's answer of a balance read (member-routes.ts sendBalance, then sendConditional). */
  const write = (response: ServerResponse, id: string, rate: RateLimitHeaders | undefined, hit: string, body: string): void => {
    const { etag, length } = bodyFacts(body)
    // A flat array: Node's writeHead walks it as is (an object is walked with for…in and an own-
    // property check per name); the same header lines, in the same order.
    response.writeHead(200, rate === undefined
      ? ['x-request-id', id, 'x-cache', hit, 'etag', etag, 'cache-control', READ_CACHE_CONTROL, 'content-type', JSON_UTF8, 'content-length', length]
      : ['x-request-id', id, 'ratelimit-limit', String(rate.limit), 'ratelimit-remaining', String(rate.remaining), 'ratelimit-reset', String(rate.reset), 'x-cache', hit, 'etag', etag, 'cache-control', READ_CACHE_CONTROL, 'content-type', JSON_UTF8, 'content-length', length])
    response.end(body)
  }

  /** MemberQueries.balanceJson as the route calls it; a 200 of the owner's active copy within the
   *  rate limit is answered here (with the cache on, counted as a miss and cached, as the route's
   *  cachedBalance does), any other outcome handed to the route (balance-handoff.ts) with the
   *  request id the forward carried: the route then looks in the cache, counts its miss and
   *  answers the outcome, as for a query of its own. */
  const forward = (request: IncomingMessage, response: ServerResponse, next: RequestListener, memberId: string, clientId: string, started: number, key: string | undefined): void => {
    const id = requestIdOf(request)
    let standby: ServedByStandby | undefined
    const call = { authorization: request.headers.authorization, requestId: id, servedByStandby: (served: ServedByStandby) => { standby = served } }
    const settle = (settled: SettledBalance): void => {
      const rate = !settled.failed && settled.json !== undefined && standby === undefined ? countNow?.(clientId) : undefined
      if (!settled.failed && settled.json !== undefined && standby === undefined && (countNow === undefined || rate !== undefined)) {
        if (key !== undefined) {
          queries.countCacheMiss('balance')
          cache!.setNow(key, settled.json, ttlMs)
        }
        write(response, id, rate, 'miss', settled.json)
        observe('GET', BALANCE_ROUTE, 200, (performance.now() - started) / 1000)
        return
      }
      handOver(request, standby === undefined ? settled : { ...settled, standby })
      // Fastify's request id (genReqId echoes a well-formed x-request-id): the forward's.
      request.headers['x-request-id'] = id
      next.call(server, request, response)
    }
    let json: string | undefined | Promise<string | undefined>
    try {
      json = queries.balanceJson(memberId, call)
    } catch (error) {
      settle({ failed: true, error })
      return
    }
    if (json instanceof Promise) json.then(text => { settle({ failed: false, json: text }) }, (error: unknown) => { settle({ failed: true, error }) })
    else settle({ failed: false, json })
  }
  if (!installInFront(app, serve)) return false
  installed.add(server)
  return true
}

