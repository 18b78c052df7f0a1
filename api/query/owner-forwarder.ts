// A member query forwarded over HTTP to the instance that owns the member (api/query/member-queries.ts)
// or keeps a standby copy of it (api/query/standby-reads.ts), on that instance's internal routes
// (api/routes/internal-routes.ts), with the caller's bearer token so the owner checks it too.
// Each request is bounded and a peer that keeps failing is not called for a while
// (lib/resilience/peers-policy.ts). The owner's answer becomes a value, `undefined` (404), or an
// error: STORE_NOT_READY (it answered 503) or OwnerUnavailable (no answer, or one that is not an
// answer to the query).
import { Agent } from 'undici'
import { RewardsError } from '../../lib/errors.ts'
import { PEERS_POLICY, PeersPolicy } from '../../lib/resilience/peers-policy.ts'
import { forwardRequest, type ForwardAnswer } from './forward-request.ts'
import type { GroupOwnerMap } from './group-owner-map.ts'
import { RESTORE_LAG_HEADER, type ServedByStandby } from './standby-fallback.ts'

export class OwnerUnavailable extends Error {
  readonly host: string
  constructor (host: string, cause: unknown) {
    super(`owner ${host} did not answer`, { cause })
    this.name = 'OwnerUnavailable'
    this.host = host
  }
}

export interface CallContext {
  readonly authorization: string | undefined
  readonly requestId: string
  /** Told when a standby copy answered (the route marks its answer so). */
  readonly servedByStandby?: (served: ServedByStandby) => void
}

/** The response headers of a forwarded query, by lower-case name. */
export interface ForwardedHeaders { get (name: string): string | null }

export interface ForwardOptions<T> {
  /** Sent as JSON with POST (GET without). */
  readonly body?: unknown
  /** The answer from the owner's JSON (default: the JSON as is). */
  readonly parse?: (body: unknown, headers: ForwardedHeaders) => T
  /** The owner's JSON text as it came (an object; anything else is not an answer). */
  readonly raw?: boolean
  /** Told the headers of a 200 or 404 answer. */
  readonly headers?: (headers: ForwardedHeaders) => void
}

/** Connections kept open to each owner (undici: keep-alive, one pool per host). A forwarded query
 *  then costs one request on an open connection, not a TCP handshake nor fetch()'s WHATWG
 *  objects (nor request()'s URL and body stream: forward-request.ts); idle connections close
 *  after FORWARD_KEEP_ALIVE_MS and never keep the process up. */
const FORWARD_CONNECTIONS_PER_HOST = 64
const FORWARD_KEEP_ALIVE_MS = 30_000

export class OwnerForwarder {
  /** Forgotten when an owner fails or is not ready (a rebalance moved the member). */
  readonly #ownerMap: GroupOwnerMap | undefined
  readonly #peers: PeersPolicy
  readonly #owners = new Agent({ connections: FORWARD_CONNECTIONS_PER_HOST, keepAliveTimeout: FORWARD_KEEP_ALIVE_MS, keepAliveMaxTimeout: FORWARD_KEEP_ALIVE_MS })

  /** `timeoutMs`: bound on one forwarded request (default PEERS_POLICY's). */
  constructor (options: { readonly owners?: GroupOwnerMap | undefined, readonly timeoutMs?: number | undefined }) {
    this.#ownerMap = options.owners
    this.#peers = new PeersPolicy({ timeoutMs: options.timeoutMs ?? PEERS_POLICY.timeoutMs })
  }

  async forward<T> (host: string, path: string, call: CallContext, options: ForwardOptions<T> = {}): Promise<T | undefined> {
    let response: ForwardAnswer
    const headers: Record<string, string> = { 'x-request-id': call.requestId, accept: 'application/json' }
    if (call.authorization !== undefined) headers.authorization = call.authorization
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    const forward = {
      origin: `http://${host}`,
      method: options.body !== undefined ? 'POST' as const : 'GET' as const,
      path,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {})
    }
    try {
      // The body is read inside the bounded call: an owner that stalls mid-answer is a failure too.
      response = await this.#peers.execute(host, signal => forwardRequest(this.#owners, forward, signal))
    } catch (error) {
      this.#ownerMap?.invalidate()
      throw new OwnerUnavailable(host, error)
    }
    const text = response.text
    const status = response.statusCode
    if (status === 200 || status === 404) options.headers?.(headersOf(response.headers))
    if (status === 200) {
      // raw: the owner's JSON text as it came (an object; anything else is not an answer).
      if (options.raw === true) {
        if (text.charCodeAt(0) !== 0x7b) throw new OwnerUnavailable(host, new Error('owner answered 200 without a JSON object'))
        return text as T
      }
      const body = JSON.parse(text) as unknown
      return options.parse !== undefined ? options.parse(body, headersOf(response.headers)) : body as T
    }
    const body = parseOrUndefined(text) as { error?: { code?: string, message?: string } } | undefined
    if (status === 404 && body?.error?.code !== 'NOT_FOUND') return undefined
    if (status === 503) {
      this.#ownerMap?.invalidate()
      // The owner's task restores: how far it has to go (api/query/standby-reads.ts waits only
      // for a short one).
      const restoreLag = headersOf(response.headers).get(RESTORE_LAG_HEADER)
      throw new RewardsError('STORE_NOT_READY', body?.error?.message ?? `owner ${host} is not ready`,
        restoreLag === null ? undefined : { details: { state: 'RESTORING', restoreLagRecords: /^\d{1,15}$/.test(restoreLag) ? Number(restoreLag) : null, host } })
    }
    if (status === 401 || status === 403) {
      // The owner refused a token this instance accepted: configurations differ. Not the client's fault.
      throw new OwnerUnavailable(host, new Error(`owner refused the forwarded token (${status})`))
    }
    this.#ownerMap?.invalidate()
    throw new OwnerUnavailable(host, new Error(`owner answered ${status}`))
  }
}

function parseOrUndefined (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function headersOf (headers: Record<string, string | string[] | undefined>): ForwardedHeaders {
  return {
    get: name => {
      const value = headers[name.toLowerCase()]
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value
    }
  }
}
