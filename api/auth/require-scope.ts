// Resource-side authentication: a preHandler per route that checks the bearer token and the
// route's scope. 401 (with `WWW-Authenticate: Bearer …`, RFC 6750) when the token is missing (no
// header, or another scheme such as Basic: no error code, §3.1) or invalid for any reason
// (`error="invalid_token"`) — one message whatever the reason, so nothing about keys, clients or
// claims leaks; 403 `insufficient_scope` when it is valid but lacks the scope. The reason goes to
// the debug log and to `rewards_api_auth_failures_total{reason}`; the token never does.
//
// The guard is a callback preHandler: a token verified before (TokenVerifier.verifiedBefore) is
// checked without a promise, so an authenticated query that needs no other I/O runs its hooks
// synchronously (docs/benchmarks.md "API balance query"); only a token seen for the first time
// waits for verify().
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, preHandlerHookHandler } from 'fastify'
import { Counter, type Registry } from 'prom-client'
import { isRewardsError, RewardsError } from '../../lib/errors.ts'
import { sendApiError } from '../api-errors.ts'
import { TokenRejected, type Principal, type TokenVerifier } from './token-verifier.ts'

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal
  }
}

/** `Bearer <token>` (the scheme is case-insensitive, RFC 7235 §2.1). */
const BEARER = /^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*) *$/
/** The Bearer scheme, whatever follows. */
const BEARER_SCHEME = /^bearer(?: |$)/i

/** A route's token and scope check, a callback preHandler: it calls `done()` once
 *  `request.principal` is set, `done(error)` for the error handler (503 DATABASE_UNAVAILABLE), or
 *  answers 401/403 itself and never calls `done`. */
export type GuardHook = (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void

export type ScopeGuard = (...anyOf: string[]) => GuardHook & preHandlerHookHandler

/** On a guard hook: the principal a request with this Authorization header is admitted as at
 *  once — the usual `Bearer <token>` of a token verified before (TokenVerifier.verifiedBefore:
 *  not expired, its client known not to be revoked) with one of the route's scopes — or
 *  undefined for anything else (refused, or to be verified or checked against the revocations
 *  with a promise). Nothing is counted or logged: for the balance fast lane
 *  (api/routes/balance-fast-lane.ts), which hands any other request to the guard itself. */
export const ADMITTED_NOW = Symbol('principal admitted without waiting')
export interface AdmitsNow { readonly [ADMITTED_NOW]?: (authorization: string | undefined) => Principal | undefined }

export function scopeGuard (verifier: TokenVerifier, registry: Registry): ScopeGuard {
  const failures = (registry.getSingleMetric('rewards_api_auth_failures_total') as Counter<'reason'> | undefined) ?? new Counter({
    name: 'rewards_api_auth_failures_total', help: 'Requests refused by token checks, by reason', labelNames: ['reason'], registers: [registry]
  })
  const unauthorized = (request: FastifyRequest, reply: FastifyReply, reason: string, withError: boolean): void => {
    failures.inc({ reason })
    request.log.debug({ reason }, 'bearer token refused')
    void reply.header('www-authenticate', withError ? 'Bearer realm="rewards", error="invalid_token"' : 'Bearer realm="rewards"')
    void sendApiError(reply, 'UNAUTHORIZED')
  }
  /** A verify() failure: 401 for a refused token, the error handler for anything else. */
  const refused = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, error: unknown): void => {
    if (error instanceof TokenRejected) { unauthorized(request, reply, error.reason, true); return }
    // DATABASE_UNAVAILABLE (keys or revocations unreadable past their offline bound): answered
    // 503 by the error handler; counted here with the other refusals.
    if (isRewardsError(error, 'DATABASE_UNAVAILABLE')) failures.inc({ reason: 'database_unavailable' })
    done(error as Error)
  }
  return (...anyOf: string[]) => {
    const scopes = anyOf.join(' ')
    const admit = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, principal: Principal): void => {
      if (!anyOf.some(scope => principal.scopes.has(scope))) {
        failures.inc({ reason: 'insufficient_scope' })
        void reply.header('www-authenticate', `Bearer realm="rewards", error="insufficient_scope", scope="${scopes}"`)
        void sendApiError(reply, 'FORBIDDEN', { message: `This route requires the scope ${anyOf.join(' or ')}` })
        return
      }
      request.principal = principal
      done()
    }
    const guard = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
      const header = request.headers.authorization
      if (header === undefined) { unauthorized(request, reply, 'missing', false); return }
      // The usual `Bearer <token>` of a token verified before is found without the pattern (a
      // scan of the whole token, the largest header of the request): only a verified token is
      // ever remembered, and it is made of token characters, so the pattern would take the same
      // token out of this header. Anything else goes through the pattern.
      let token = header.startsWith('Bearer ') ? header.slice(7) : undefined
      let known: Principal | undefined
      try {
        // A token seen before and not expired: no promise (docs/api.md).
        if (token !== undefined) known = verifier.verifiedBefore(token)
        if (known === undefined) {
          const m = BEARER.exec(header)
          if (m === null) {
            // Another scheme (Basic, …) is no bearer credential at all: RFC 6750 §3.1, a
            // challenge without an error code, as with no header. A Bearer header whose token
            // is not a token (empty, bad characters): invalid_token ("malformed").
            const bearer = BEARER_SCHEME.test(header)
            unauthorized(request, reply, bearer ? 'malformed' : 'not_bearer', bearer)
            return
          }
          if (m[1] !== token) { token = m[1]!; known = verifier.verifiedBefore(token) }
        }
      } catch (error) {
        refused(request, reply, done, error)
        return
      }
      if (known !== undefined) { admit(request, reply, done, known); return }
      verifier.verify(token!).then(principal => { admit(request, reply, done, principal) }, (error: unknown) => { refused(request, reply, done, error) })
    }
    const admittedNow = (authorization: string | undefined): Principal | undefined => {
      if (authorization === undefined || !authorization.startsWith('Bearer ')) return undefined
      let known: Principal | undefined
      try {
        known = verifier.verifiedBefore(authorization.slice(7))
      } catch {
        return undefined
      }
      return known !== undefined && anyOf.some(scope => known.scopes.has(scope)) ? known : undefined
    }
    return Object.assign(guard, { [ADMITTED_NOW]: admittedNow }) as GuardHook & preHandlerHookHandler
  }
}

/** A guard whose verifier is opened on the first request it checks (`open`; a failed open is
 *  answered 503 DATABASE_UNAVAILABLE and tried again on the next request). For the internal query
 *  routes of a processor-only process, which should not open the token store to start. */
export function onDemandGuard (open: () => Promise<ScopeGuard>): ScopeGuard {
  return (...anyOf: string[]) => {
    let check: GuardHook | undefined
    const onDemand = function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
      if (check !== undefined) { check.call(this, request, reply, done); return }
      open().then(guard => {
        check ??= guard(...anyOf)
        check.call(this, request, reply, done)
      }, (error: unknown) => {
        request.log.warn({ err: error }, 'the token store could not be opened to check a forwarded query')
        done(new RewardsError('DATABASE_UNAVAILABLE', 'the token store cannot be opened; retry shortly', { cause: error }))
      })
    }
    // Admitted at once only by the opened guard (until then, none: the hook opens it).
    const admittedNow = (authorization: string | undefined): Principal | undefined => (check as AdmitsNow | undefined)?.[ADMITTED_NOW]?.(authorization)
    return Object.assign(onDemand, { [ADMITTED_NOW]: admittedNow }) as GuardHook & preHandlerHookHandler
  }
}
