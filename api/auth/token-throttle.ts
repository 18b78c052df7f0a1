// Throttling of the token endpoint that a wrong secret cannot turn against the real client
// (docs/api.md "Authentication"): failed client authentications are counted per (client id,
// source address) and per source address, and only refusals are counted. Once either budget is
// spent, requests from that address (for that client, or for any) answer 429 before any secret is
// checked, until the window ends; the real client keeps getting tokens from every other address,
// and from that one after at most one window. Successful requests count against the client's own
// issuance limit, which only a holder of the secret can spend. All three are @fastify/rate-limit
// limiters on the shared store (api/routes/rate-limit-store.ts): shared by every instance through
// Redis, per instance while Redis is down.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TokenFailureLimit } from '../api-settings.ts'

export interface ThrottleVerdict {
  readonly refused: boolean
  /** Seconds until the budget that refused is back (Retry-After). */
  readonly retryAfterSeconds: number
}

export interface TokenThrottle {
  /** Before the secret is checked: whether this address may try for this client. */
  mayTry (request: FastifyRequest, clientId: string): Promise<ThrottleVerdict>
  /** After a refused authentication (unknown client, wrong secret, revoked client). */
  failed (request: FastifyRequest, clientId: string): Promise<void>
  /** After a successful authentication: counts a token issued to the client. */
  issued (request: FastifyRequest, clientId: string): Promise<ThrottleVerdict>
}

const clientIds = new WeakMap<FastifyRequest, string>()
const clientOf = (request: FastifyRequest): string => clientIds.get(request) ?? ''

/** `app` must have @fastify/rate-limit registered (api/routes/rate-limit.ts registerRateLimiting). */
export function tokenThrottle (app: FastifyInstance, failures: TokenFailureLimit, issuance: { max: number, windowMs: number }): TokenThrottle {
  // Keys hold the client id as sent (at most 200 characters, checked by the route) and request.ip
  // (the socket's peer: behind a proxy, configure Fastify's trustProxy so it is the client's).
  const byClientAddress = app.createRateLimit({ max: failures.perClientAddress, timeWindow: failures.windowMs, keyGenerator: request => `token-fail:${request.ip}:${clientOf(request)}` })
  const byAddress = app.createRateLimit({ max: failures.perAddress, timeWindow: failures.windowMs, keyGenerator: request => `token-fail:${request.ip}` })
  const byClient = app.createRateLimit({ max: issuance.max, timeWindow: issuance.windowMs, keyGenerator: request => `token-issued:${clientOf(request)}` })
  const spent = (result: Awaited<ReturnType<typeof byAddress>>): number | undefined =>
    !result.isAllowed && result.remaining === 0 && result.ttl > 0 ? Math.max(1, result.ttlInSeconds) : undefined
  return {
    async mayTry (request, clientId) {
      clientIds.set(request, clientId)
      const [one, all] = await Promise.all([byClientAddress(request, { increment: false }), byAddress(request, { increment: false })])
      const wait = Math.max(spent(one) ?? 0, spent(all) ?? 0)
      return { refused: wait > 0, retryAfterSeconds: wait }
    },
    async failed (request, clientId) {
      clientIds.set(request, clientId)
      await Promise.all([byClientAddress(request), byAddress(request)])
    },
    async issued (request, clientId) {
      clientIds.set(request, clientId)
      const result = await byClient(request)
      return !result.isAllowed && result.isExceeded ? { refused: true, retryAfterSeconds: Math.max(1, result.ttlInSeconds) } : { refused: false, retryAfterSeconds: 0 }
    }
  }
}
