// Per-client rate limits of the public /v1 routes: a fixed window per client and route template
// (a client's balance reads never starve its event posts), counted in the shared cache — Redis
// across every API instance when it is up, in-process per instance when it is not (the cache's
// own fallback, as for the token endpoint's limit). Beyond the limit: 429 RATE_LIMITED in the one
// error shape, with Retry-After, before the route does anything (nothing is published). Every
// answer carries RateLimit-Limit / -Remaining / -Reset (draft-ietf-httpapi-ratelimit-headers).
// Runs after the token check, so the client id is known and unauthenticated floods are refused
// by the (cheap, cached) signature check instead.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Counter, type Registry } from 'prom-client'
import { sendApiError } from '../api-errors.ts'
import type { ScopeGuard } from '../auth/require-scope.ts'
import type { SharedCache } from '../cache/shared-cache.ts'

export interface RateLimit {
  /** Requests per client and route in one window. */
  readonly max: number
  readonly windowMs: number
}

/** The guard of the public routes, with the client's rate limit checked after its token. */
export function rateLimitedGuard (guard: ScopeGuard, cache: SharedCache, limit: RateLimit, registry: Registry): ScopeGuard {
  const limited = (registry.getSingleMetric('rewards_api_rate_limited_total') as Counter<'route'> | undefined) ?? new Counter({
    name: 'rewards_api_rate_limited_total', help: 'Requests to the /v1 routes refused with 429 by the per-client rate limit, by route template', labelNames: ['route'], registers: [registry]
  })
  return (...anyOf: string[]) => {
    const check = guard(...anyOf)
    return async function rateLimited (this: unknown, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
      await check.call(this as never, request, reply)
      if (reply.sent || request.principal === undefined) return reply.sent ? reply : undefined
      const route = request.routeOptions.url ?? 'unmatched'
      const { count, resetMs } = await cache.increment(`ratelimit:api:${request.principal.clientId}:${request.method} ${route}`, limit.windowMs)
      const resetSeconds = Math.max(1, Math.ceil(resetMs / 1000))
      void reply.header('ratelimit-limit', String(limit.max)).header('ratelimit-remaining', String(Math.max(0, limit.max - count))).header('ratelimit-reset', String(resetSeconds))
      if (count <= limit.max) return undefined
      limited.inc({ route })
      request.log.debug({ clientId: request.principal.clientId, route }, 'rate limited')
      return sendApiError(reply, 'RATE_LIMITED', { message: `More than ${limit.max} requests to ${request.method} ${route} in ${limit.windowMs / 1000} s for this client; retry after ${resetSeconds} s`, retryAfterSeconds: resetSeconds })
    }
  }
}
