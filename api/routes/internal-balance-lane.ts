// The internal balance fast lane: GET /internal/v1/members/{memberId}/balance — the owner's half of
// a forwarded balance query (api/query/member-queries.ts) — answered in front of Fastify's router
// when, and only when, the answer is the one the Fastify route (api/routes/internal-routes.ts)
// would give, byte for byte but the Date and a new request id. The public balance fast lane
// (api/routes/balance-fast-lane.ts) does the same for the public route; why: a forwarded query
// paid two full Fastify passes, the owner's being all routing, Request/Reply objects, hooks and
// validation around one store read (docs/benchmarks.md "API balance query, sixth pass on the
// forwarded path").
//
// It takes a request only if all of these hold, each checked before anything is counted:
//   - GET of exactly /internal/v1/members/{id}/balance, the id matching the route's schema, no
//     query string (so no maxStalenessRecords: the standby path stays the route's), no body, no
//     Accept-Version, no traceparent, an Accept with JSON (what a forward sends);
//   - no OpenTelemetry SDK registered, the log level above debug, the server not closing;
//   - a bearer token verified before, unexpired, its client known not revoked, with
//     balances:read (the internal guard's ADMITTED_NOW; none until the guard's token store opened);
//   - the member's task on this instance, running and readable, the member known.
// Then it writes what the route writes (x-request-id, content-type, content-length; Node adds
// Date, Connection, Keep-Alive as for Fastify) and counts what the route counts (the HTTP request
// histogram). Everything else (404, 503 while ownership moves, 401/403, the standby read) reaches
// Fastify untouched.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { ADMITTED_NOW, type AdmitsNow, type GuardHook } from '../auth/require-scope.ts'
import { requestDurationOf, requestIdOf } from '../ops-server.ts'
import type { FlatJsonMemo } from '../query/flat-json-memo.ts'
import type { LocalReader } from '../query/local-reader.ts'
import { bodyLength, JSON_UTF8 } from './conditional-get.ts'
import { installInFront, plainJsonRead } from './request-lane.ts'

export const INTERNAL_BALANCE_ROUTE = '/internal/v1/members/:memberId/balance'
const INTERNAL_BALANCE_PATH = /^\/internal\/v1\/members\/([A-Za-z0-9_-]{1,64})\/balance$/

export interface InternalBalanceLaneOptions {
  readonly reader: LocalReader
  /** The route's guard hook for balances:read. */
  readonly guard: GuardHook
  /** The route's memo of balance texts (the same string for the same balance, whoever answers). */
  readonly balanceText: FlatJsonMemo
}

const installed = new WeakSet<Server>()

/** Puts the lane in front of the server's request handler; false (nothing installed) for a server
 *  not built by api/ops-server.ts, a prefixed plugin, or a guard without ADMITTED_NOW. */
export function installInternalBalanceLane (app: FastifyInstance, options: InternalBalanceLaneOptions): boolean {
  const server = app.server
  const observe = requestDurationOf(server)
  const admittedNow = (options.guard as AdmitsNow)[ADMITTED_NOW]
  if (observe === undefined || admittedNow === undefined || app.prefix !== '' || installed.has(server)) return false
  const { reader, balanceText } = options

  /** Answers the request and returns true, or returns false having counted nothing. */
  const serve = (request: IncomingMessage, response: ServerResponse): boolean => {
    if (request.method !== 'GET') return false
    const path = INTERNAL_BALANCE_PATH.exec(request.url!)
    if (path === null) return false
    const started = performance.now()
    const headers = request.headers
    if (!plainJsonRead(app, headers)) return false
    if (admittedNow(headers.authorization) === undefined) return false
    const memberId = path[1]!
    let balance
    try {
      const read = reader.balanceIfLocal(memberId)
      if (!read.local) return false
      balance = read.value
    } catch {
      return false
    }
    if (balance === undefined) return false
    const body = balanceText.text(memberId, balance)
    response.writeHead(200, ['x-request-id', requestIdOf(request), 'content-type', JSON_UTF8, 'content-length', bodyLength(body)])
    response.end(body)
    observe('GET', INTERNAL_BALANCE_ROUTE, 200, (performance.now() - started) / 1000)
    return true
  }
  if (!installInFront(app, serve)) return false
  installed.add(server)
  return true
}
