// `Idempotency-Key` on the public POST routes (docs/api.md#idempotency-key), after the IETF draft
// draft-ietf-httpapi-idempotency-key-header: the key is a Structured Field string (`"abc"`,
// RFC 8941) — a bare token is accepted too, as before the draft form was supported. Keys are
// scoped per client and route and kept `ttlMs` (24 h) in the shared cache.
//
// The record is claimed atomically before the request runs (SET NX of an in-flight marker; the
// in-process cache likewise), so two concurrent requests with one key never both run: the second
// gets 409 IDEMPOTENCY_KEY_IN_FLIGHT + Retry-After. Once done, a 2xx answer replaces the marker
// and is replayed to the same key and body (`idempotent-replayed: true`); any other answer (or a
// failure) removes it, so the client may retry. Another body under the key → 409
// IDEMPOTENCY_KEY_REUSED with both digests (the draft suggests 422; the project answers every
// conflict with 409, docs/api.md).
import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { contentDigest } from '../../processors/rewards/content-digest.ts'
import { sendApiError } from '../api-errors.ts'
import type { SharedCache } from '../cache/shared-cache.ts'

/** What a route answers, as data, so that it can be stored and replayed. */
export interface RouteAnswer {
  readonly status: number
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>>
}

/** An answer the route sent itself (an error through sendApiError): never stored. */
export interface SentAnswer {
  readonly sent: FastifyReply
}

export interface IdempotencyOptions {
  readonly cache: SharedCache
  /** How long a completed answer is kept; default 24 h. */
  readonly ttlMs: number
  /** Bound on the in-flight marker, for a process that dies mid-request: longer than any
   *  request may take (the longest redemption wait plus the produce). */
  readonly inFlightTtlMs: number
}

type StoredRecord =
  | { readonly state: 'in-flight', readonly digest: string }
  | { readonly state: 'done', readonly digest: string, readonly answer: RouteAnswer }

/** Written by the version before the in-flight marker: a completed 2xx answer. */
interface LegacyRecord { readonly hash: string, readonly status: number, readonly body: unknown }

export const REPLAYED_HEADER = 'idempotent-replayed'
const IN_FLIGHT_RETRY_AFTER_SECONDS = 1

const SF_STRING = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/
const BARE_TOKEN = /^[\x21\x23-\x7e]+$/

/** The key of an `Idempotency-Key` header: the SF string's content, or a bare token (1–255
 *  visible ASCII characters but `"`). undefined: no header; null: malformed. */
export function parseIdempotencyKey (header: string | string[] | undefined): string | undefined | null {
  if (header === undefined) return undefined
  if (typeof header !== 'string') return null
  const text = header.trim()
  const sf = SF_STRING.exec(text)
  const key = sf !== null ? sf[1]!.replace(/\\(["\\])/g, '$1') : BARE_TOKEN.test(text) ? text : null
  return key === null || key.length === 0 || key.length > 255 ? null : key
}

/** Runs `run` once per (client, route, key) and body; see the header of this file. */
export async function withIdempotency (request: FastifyRequest, reply: FastifyReply, options: IdempotencyOptions, route: string, run: () => Promise<RouteAnswer | SentAnswer>): Promise<FastifyReply> {
  const key = parseIdempotencyKey(request.headers['idempotency-key'])
  if (key === null) return sendApiError(reply, 'INVALID_IDEMPOTENCY_KEY')
  if (key === undefined) return send(reply, await run())

  const { cache } = options
  const cacheKey = `idem:${route}:${request.principal!.clientId}:${key}`
  const digest = contentDigest(request.body)
  const inFlight: StoredRecord = { state: 'in-flight', digest }
  // Two tries: the record may vanish between the failed claim and the read (a first request that
  // failed and released it).
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await cache.setIfAbsent(cacheKey, JSON.stringify(inFlight), options.inFlightTtlMs)) {
      let answer: RouteAnswer | SentAnswer
      try {
        answer = await run()
      } catch (error) {
        await cache.del([cacheKey])
        throw error
      }
      if (!('sent' in answer) && answer.status >= 200 && answer.status < 300) {
        await cache.set(cacheKey, JSON.stringify({ state: 'done', digest, answer } satisfies StoredRecord), options.ttlMs)
      } else {
        await cache.del([cacheKey])
      }
      return send(reply, answer)
    }
    const prior = await cache.get(cacheKey)
    if (prior === null) continue
    const stored = readRecord(prior)
    if (stored.digest !== digest && stored.digest !== legacyHash(request.body)) {
      return sendApiError(reply, 'IDEMPOTENCY_KEY_REUSED', { details: { idempotencyKey: key, acceptedDigest: stored.digest, sentDigest: digest } })
    }
    if (stored.state === 'in-flight') {
      return sendApiError(reply, 'IDEMPOTENCY_KEY_IN_FLIGHT', { details: { idempotencyKey: key }, retryAfterSeconds: IN_FLIGHT_RETRY_AFTER_SECONDS })
    }
    void reply.header(REPLAYED_HEADER, 'true')
    return send(reply, stored.answer)
  }
  // Claimed and released twice in a row by other requests with this key: still busy.
  return sendApiError(reply, 'IDEMPOTENCY_KEY_IN_FLIGHT', { details: { idempotencyKey: key }, retryAfterSeconds: IN_FLIGHT_RETRY_AFTER_SECONDS })
}

function send (reply: FastifyReply, answer: RouteAnswer | SentAnswer): FastifyReply {
  if ('sent' in answer) return answer.sent
  for (const [name, value] of Object.entries(answer.headers ?? {})) void reply.header(name, value)
  return reply.code(answer.status).send(answer.body)
}

function readRecord (text: string): StoredRecord {
  const parsed = JSON.parse(text) as StoredRecord | LegacyRecord
  if ('state' in parsed) return parsed
  return { state: 'done', digest: parsed.hash, answer: { status: parsed.status, body: parsed.body } }
}

/** The body hash of records written before digests (kept 24 h after an upgrade). */
function legacyHash (body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('base64url')
}
