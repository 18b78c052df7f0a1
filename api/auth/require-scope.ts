// Resource-side authentication: a preHandler per route that checks the bearer token and the
// route's scope. 401 (with `WWW-Authenticate: Bearer …`, RFC 6750) when the token is missing or
// invalid for any reason — one message whatever the reason, so nothing about keys, clients or
// claims leaks; 403 `insufficient_scope` when it is valid but lacks the scope. The reason goes to
// the debug log and to `rewards_api_auth_failures_total{reason}`; the token never does.
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { Counter, type Registry } from 'prom-client'
import { isRewardsError } from '../../lib/errors.ts'
import { sendApiError } from '../api-errors.ts'
import { TokenRejected, type Principal, type TokenVerifier } from './token-verifier.ts'

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal
  }
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/

export type ScopeGuard = (...anyOf: string[]) => preHandlerAsyncHookHandler

export function scopeGuard (verifier: TokenVerifier, registry: Registry): ScopeGuard {
  const failures = (registry.getSingleMetric('rewards_api_auth_failures_total') as Counter<'reason'> | undefined) ?? new Counter({
    name: 'rewards_api_auth_failures_total', help: 'Requests refused by token checks, by reason', labelNames: ['reason'], registers: [registry]
  })
  const unauthorized = (request: FastifyRequest, reply: FastifyReply, reason: string, withError: boolean): FastifyReply => {
    failures.inc({ reason })
    request.log.debug({ reason }, 'bearer token refused')
    void reply.header('www-authenticate', withError ? 'Bearer realm="rewards", error="invalid_token"' : 'Bearer realm="rewards"')
    return sendApiError(reply, 'UNAUTHORIZED')
  }
  return (...anyOf: string[]) => async (request, reply) => {
    const header = request.headers.authorization
    if (header === undefined) return unauthorized(request, reply, 'missing', false)
    const m = BEARER.exec(header)
    if (m === null) return unauthorized(request, reply, 'malformed', true)
    let principal: Principal
    try {
      principal = await verifier.verify(m[1]!)
    } catch (error) {
      if (error instanceof TokenRejected) return unauthorized(request, reply, error.reason, true)
      // DATABASE_UNAVAILABLE (keys or revocations unreadable past their offline bound): answered
      // 503 by the error handler; counted here with the other refusals.
      if (isRewardsError(error, 'DATABASE_UNAVAILABLE')) failures.inc({ reason: 'database_unavailable' })
      throw error
    }
    if (!anyOf.some(scope => principal.scopes.has(scope))) {
      failures.inc({ reason: 'insufficient_scope' })
      void reply.header('www-authenticate', `Bearer realm="rewards", error="insufficient_scope", scope="${anyOf.join(' ')}"`)
      return sendApiError(reply, 'FORBIDDEN', { message: `This route requires the scope ${anyOf.join(' or ')}` })
    }
    request.principal = principal
  }
}
