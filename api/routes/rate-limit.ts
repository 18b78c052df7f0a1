// Per-client rate limits of the public /v1 routes: a fixed window per client and route template
// (a client's balance reads never starve its event posts), counted by @fastify/rate-limit's stores
// — in Redis across every API instance while it is up, in process per instance while it is not
// (api/routes/rate-limit-store.ts). Beyond the limit: 429 RATE_LIMITED (a problem, with
// Retry-After), before the route does anything (nothing is published). Every answer carries
// RateLimit-Limit / -Remaining / -Reset (draft-ietf-httpapi-ratelimit-headers, the values of the
// library's `enableDraftSpec`). Runs after the token check, so the client id is known and
// unauthenticated floods are refused by the (cheap, cached) signature check instead.
//
// The /v1 check calls the store itself, in the guard's callback (no promise: the in-process store
// answers synchronously), rather than through the library's per-request handler and its promises:
// it runs on every /v1 request (docs/benchmarks.md "API balance query"). The library itself stays
// registered (its limiters, e.g. the token endpoint's, and the same store).
import fastifyRateLimit, { type FastifyRateLimitStore } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, preHandlerHookHandler } from 'fastify'
import { Counter, type Registry } from 'prom-client'
import { apiProblem } from '../api-errors.ts'
import { ADMITTED_NOW, type AdmitsNow, type GuardHook, type ScopeGuard } from '../auth/require-scope.ts'
import type { SharedCache } from '../cache/shared-cache.ts'
import { rateLimitStore } from './rate-limit-store.ts'

export interface RateLimit {
  /** Requests per client and route in one window. */
  readonly max: number
  readonly windowMs: number
}

/** Registers @fastify/rate-limit on `app` (no limit by itself: `global: false`; the limiters are
 *  made with app.rateLimit / app.createRateLimit), counting in the shared cache's store, and
 *  returns that store (for rateLimitedGuard). A limit whose store fails lets the request through
 *  (`skipOnError`). */
export async function registerRateLimiting (app: FastifyInstance, cache: SharedCache): Promise<FastifyRateLimitStore> {
  const Store = rateLimitStore(cache)
  await app.register(fastifyRateLimit, { global: false, enableDraftSpec: true, skipOnError: true, store: Store })
  // Instances of one store class share its counters (rate-limit-store.ts).
  return new Store({})
}

/** The guard of the public routes, with the client's rate limit checked after its token, counted
 *  in `store` (registerRateLimiting's). */
export function rateLimitedGuard (store: FastifyRateLimitStore, guard: ScopeGuard, limit: RateLimit, registry: Registry): ScopeGuard {
  const limited = (registry.getSingleMetric('rewards_api_rate_limited_total') as Counter<'route'> | undefined) ?? new Counter({
    name: 'rewards_api_rate_limited_total', help: 'Requests to the /v1 routes refused with 429 by the per-client rate limit, by route template', labelNames: ['route'], registers: [registry]
  })
  const window = limit.windowMs / 1000
  /** The client's count in this window, then its headers (and 429 beyond the limit). `route` is
   *  `METHOD /template`, `routeUrl` the template. */
  const count = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, route: string, routeUrl: string, key: string): void => {
    store.incr(key, (error, result) => {
      // skipOnError: a failing store counts nothing and lets the request through.
      const current = error === null && result !== undefined ? result.current : 0
      const ttlSeconds = error === null && result !== undefined ? Math.ceil(result.ttl / 1000) : 0
      void reply.header('ratelimit-limit', limit.max)
      if (current <= limit.max) {
        void reply.header('ratelimit-remaining', limit.max - current).header('ratelimit-reset', ttlSeconds)
        done()
        return
      }
      limited.inc({ route: routeUrl })
      request.log.debug({ clientId: request.principal?.clientId, route }, 'rate limited')
      void reply.header('ratelimit-remaining', 0).header('ratelimit-reset', ttlSeconds)
      const seconds = Math.max(1, ttlSeconds)
      done(apiProblem('RATE_LIMITED', { message: `More than ${limit.max} requests to ${route} in ${window} s for this client; retry after ${seconds} s`, retryAfterSeconds: seconds }))
    }, limit.windowMs, limit.max)
  }
  /** Each client's counter key on a route (`METHOD /template`), made once: the same string every
   *  time, whose hash the counters' map has already computed (bounded: emptied beyond
   *  MAX_CLIENT_KEYS). */
  const keyMakers = new Map<string, (clientId: string) => string>()
  const keysOf = (route: string): (clientId: string) => string => {
    let keyOf = keyMakers.get(route)
    if (keyOf === undefined) {
      const keys = new Map<string, string>()
      keyOf = (clientId: string): string => {
        let key = keys.get(clientId)
        if (key === undefined) {
          if (keys.size >= MAX_CLIENT_KEYS) keys.clear()
          key = counterKey(clientId, route)
          keys.set(clientId, key)
        }
        return key
      }
      keyMakers.set(route, keyOf)
    }
    return keyOf
  }
  // The in-process store answers in its callback, before incr/read return (rate-limit-store.ts).
  const countsInProcess = (store as { countsInProcess?: boolean }).countsInProcess === true
  // The library's stores all have read() (a count without counting); its typings leave it out.
  const readable = store as FastifyRateLimitStore & { read: FastifyRateLimitStore['incr'] }
  /** COUNT_NOW: the client's count on one route, made now when it stays within the limit. */
  const countNow = (method: string, url: string): CountNow | undefined => {
    if (!countsInProcess) return undefined
    const keyOf = keysOf(`${method} ${url}`)
    const within = (clientId: string): boolean => {
      let seen: { current: number, ttl: number } | null = null
      readable.read(keyOf(clientId), (error, result) => { seen = error === null && result !== undefined ? result : null }, limit.windowMs, limit.max)
      return seen !== null && (seen as { current: number }).current < limit.max
    }
    // One store call per request (the count), its callback made once: a request beyond the limit
    // is counted here and again by the guard it is handed to, which refuses it — a count past the
    // limit moves nothing a client sees (remaining stays 0, the window's reset is not moved: the
    // store neither continues nor backs off past it) (docs/benchmarks.md "API balance query,
    // tenth pass").
    let counted: { current: number, ttl: number } | null = null
    const seen = (error: Error | null, result?: { current: number, ttl: number }): void => { counted = error === null && result !== undefined ? result : null }
    return Object.assign((clientId: string): RateLimitHeaders | undefined => {
      counted = null
      store.incr(keyOf(clientId), seen, limit.windowMs, limit.max)
      const now = counted as { current: number, ttl: number } | null
      if (now === null || now.current > limit.max) return undefined
      return { limit: limit.max, remaining: limit.max - now.current, reset: Math.ceil(now.ttl / 1000) }
    }, { within })
  }
  return (...anyOf: string[]) => {
    const check = guard(...anyOf)
    /** The hook for one route, its counter key's route part computed once (bindRateLimitToRoutes). */
    const forRoute = (method: string, url: string): preHandlerHookHandler => {
      const route = `${method} ${url}`
      const keyOf = keysOf(route)
      return function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
        // The check answers 401/403 itself (and then never calls back).
        check.call(this, request, reply, error => {
          if (error !== undefined && error !== null) done(error)
          else count(request, reply, done, route, url, keyOf(request.principal!.clientId))
        })
      } as preHandlerHookHandler
    }
    // Outside bindRateLimitToRoutes: the route read from the request (Fastify's routeOptions
    // getter builds an object per call).
    const rateLimited = function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
      const url = request.routeOptions.url ?? 'unmatched'
      check.call(this, request, reply, error => {
        if (error !== undefined && error !== null) done(error)
        else count(request, reply, done, `${request.method} ${url}`, url, counterKey(request.principal!.clientId, `${request.method} ${url}`))
      })
    }
    return Object.assign(rateLimited, { [FOR_ROUTE]: forRoute, [COUNT_NOW]: countNow, [ADMITTED_NOW]: (check as AdmitsNow)[ADMITTED_NOW] }) as GuardHook & preHandlerHookHandler
  }
}

/** The rate-limit headers of an admitted request, as rateLimitedGuard sets them. */
export interface RateLimitHeaders { readonly limit: number, readonly remaining: number, readonly reset: number }

/** On a rateLimitedGuard hook: for one route (method, template), a function that counts a
 *  client's request now and answers its headers when the count is made in process (no Redis) and
 *  stays within the limit; undefined otherwise (a request the guard must count and refuse itself;
 *  one beyond the limit has been counted here too, which changes nothing the client sees). For
 *  the balance fast lane (api/routes/balance-fast-lane.ts). */
export const COUNT_NOW = Symbol('count a request now')
export interface CountsNow { readonly [COUNT_NOW]?: (method: string, url: string) => CountNow | undefined }

/** Counts a client's request now (its headers), or undefined beyond the limit; `within` tells
 *  without counting whether a request now would be within the limit (the balance fast lane's
 *  forward counts only once its answer is known: docs/benchmarks.md "API balance query, sixth
 *  pass on the forwarded path"). */
export type CountNow = ((clientId: string) => RateLimitHeaders | undefined) & { readonly within: (clientId: string) => boolean }

const FOR_ROUTE = Symbol('rate-limited guard for one route')
const MAX_CLIENT_KEYS = 10_000

/** The counter of one client on one route (`METHOD /template`). */
function counterKey (clientId: string, route: string): string {
  return `api:${clientId}:${route}`
}

/** Replaces, in every route `app` (and its plugins) registers from now on, a rateLimitedGuard
 *  hook by one made for that route: its counter key needs the route's method and template on
 *  every request, known when the route is added. */
export function bindRateLimitToRoutes (app: FastifyInstance): void {
  type Bindable = { [FOR_ROUTE]?: (method: string, url: string) => preHandlerHookHandler }
  app.addHook('onRoute', route => {
    const hooks = route.preHandler
    if (hooks === undefined || typeof route.method !== 'string') return
    const bind = (hook: preHandlerHookHandler): preHandlerHookHandler => (hook as Bindable)[FOR_ROUTE]?.(route.method as string, route.url) ?? hook
    route.preHandler = Array.isArray(hooks) ? hooks.map(bind) : bind(hooks as preHandlerHookHandler)
  })
}
