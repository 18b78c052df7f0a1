// What the balance fast lanes (balance-fast-lane.ts, internal-balance-lane.ts) share: their place
// in front of the server's request listener, and the request headers that send a request on to
// Fastify whatever the route (docs/api.md "Balance fast lane").
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { tracingActive } from '../../lib/tracing/tracer.ts'
import { acceptsJson } from '../content-negotiation.ts'

export type RequestListener = (request: IncomingMessage, response: ServerResponse) => void

/** Puts `serve` in front of the server's one request listener (Fastify's, or a lane put there
 *  before): a request it does not take (false), or any request once the server is closing, goes on
 *  to that listener, which `serve` is given to hand a request it took over later. False, and
 *  nothing installed, when the server has not exactly one request listener. */
export function installInFront (app: FastifyInstance, serve: (request: IncomingMessage, response: ServerResponse, next: RequestListener) => boolean): boolean {
  const server = app.server
  const listeners = server.listeners('request') as RequestListener[]
  if (listeners.length !== 1) return false
  const next = listeners[0]!
  let closing = false
  app.addHook('preClose', done => { closing = true; done() })
  server.removeListener('request', next)
  server.on('request', function (this: Server, request: IncomingMessage, response: ServerResponse) {
    if (closing || !serve(request, response, next)) next.call(this, request, response)
  })
  return true
}

/** True when nothing in the request or the server asks for Fastify's per-request work: no body,
 *  no Accept-Version, no traceparent, an Accept with JSON, logs above debug and no OpenTelemetry
 *  SDK registered. */
export function plainJsonRead (app: FastifyInstance, headers: IncomingHttpHeaders): boolean {
  if (headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined ||
    headers['accept-version'] !== undefined || headers.traceparent !== undefined || !acceptsJson(headers.accept)) return false
  const level = app.log.level
  return level !== 'debug' && level !== 'trace' && !tracingActive()
}
