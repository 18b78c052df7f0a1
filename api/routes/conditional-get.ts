// Conditional GET for the member reads (docs/api.md "ETag and caching"): a strong ETag over the
// exact bytes of the body (SHA-256), `If-None-Match` answered 304 without a body, and
// `Cache-Control: private, no-cache` — a cache may keep the answer (private: it is one client's
// view) but must revalidate it on every use, as a balance may change at any moment and the
// server's own cache already bounds its staleness to 1 s.
import { hash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'

export const READ_CACHE_CONTROL = 'private, no-cache'

/** A body's ETag and its Content-Length in bytes (as the header's text). */
export interface BodyFacts { readonly etag: string, readonly length: string }

/** Bodies answered lately and their facts (a member's balance is asked again and again, and
 *  FlatJsonMemo hands out the same string for the same balance): a digest and a byte count per
 *  distinct body, not per request. Bounded; the oldest body is dropped first. */
const known = new Map<string, BodyFacts>()
const MAX_BODIES = 4096
const MAX_MEMO_BODY = 2048

function digest (body: string): string {
  // crypto.hash: one call, no Hash object per request.
  return `"${hash('sha256', body, 'base64url')}"`
}

/** The body's ETag and Content-Length, found once per distinct body (the balance fast lane writes
 *  both; the route's reply counts the length itself). */
export function bodyFacts (body: string): BodyFacts {
  const facts = known.get(body)
  if (facts !== undefined) return facts
  const made = { etag: digest(body), length: String(Buffer.byteLength(body)) }
  // Long bodies (activity pages) are not kept: looking one up would read all of it.
  if (body.length > MAX_MEMO_BODY) return made
  if (known.size >= MAX_BODIES) known.delete(known.keys().next().value!)
  known.set(body, made)
  return made
}

/** The body's Content-Length alone (the internal balance lane writes no ETag): the memo's when
 *  it knows the body, otherwise counted, with no digest made nor memo entry taken (an owner's
 *  internal answers are mostly bodies seen once: a cold start's forwarded queries of random
 *  members, docs/benchmarks.md "Cold start, twelfth pass: the other parties"). */
export function bodyLength (body: string): string {
  return known.get(body)?.length ?? String(Buffer.byteLength(body))
}

export function strongEtag (body: string): string {
  return body.length > MAX_MEMO_BODY ? digest(body) : bodyFacts(body).etag
}

/** If-None-Match uses the weak comparison (RFC 9110 §13.1.2): `W/` is ignored; `*` matches any. */
export function noneMatch (header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  if (header.trim() === '*') return true
  return header.split(',').some(candidate => candidate.trim().replace(/^W\//, '') === etag)
}

/** The content type of every JSON read: also written by the balance fast lane
 *  (api/routes/balance-fast-lane.ts), which must answer as the route does. */
export const JSON_UTF8 = 'application/json; charset=utf-8'

/** Sends a JSON body (already serialized) with its ETag, or 304 when the client has it. */
export function sendConditional (request: FastifyRequest, reply: FastifyReply, body: string): FastifyReply {
  const etag = strongEtag(body)
  void reply.header('etag', etag).header('cache-control', READ_CACHE_CONTROL)
  if (noneMatch(request.headers['if-none-match'], etag)) return reply.code(304).send()
  return reply.type(JSON_UTF8).send(body)
}
