// What the OpenAPI document (api/openapi.ts) says beyond the route schemas: the reusable headers
// and problem responses of components, and per route (`METHOD /openapi/path`) the request and
// response headers its handler reads or sets, and the statuses it answers without a body schema
// (304). Kept next to each other so that a header added to a route is documented in one place.

const ref = (name: string): { $ref: string } => ({ $ref: `#/components/headers/${name}` })

export const COMPONENT_HEADERS = Object.freeze({
  RequestId: { description: 'the request id: a well-formed incoming `x-request-id` echoed, otherwise generated', required: true, schema: { type: 'string' } },
  RetryAfter: { description: 'seconds to wait before retrying', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } },
  RateLimitLimit: { description: 'requests allowed per client and route in the window (draft-ietf-httpapi-ratelimit-headers)', schema: { type: 'string', pattern: '^[0-9]+$' } },
  RateLimitRemaining: { description: 'requests left in the window', schema: { type: 'string', pattern: '^[0-9]+$' } },
  RateLimitReset: { description: 'seconds until the window ends', schema: { type: 'string', pattern: '^[0-9]+$' } },
  WwwAuthenticate: { description: 'RFC 6750 challenge: `Bearer realm="rewards"[, error="invalid_token" | "insufficient_scope", scope="…"]`', required: true, schema: { type: 'string' } },
  Allow: { description: 'the methods of this path', required: true, schema: { type: 'string' } },
  ETag: { description: 'strong validator over the exact body (SHA-256); send it back in If-None-Match', required: true, schema: { type: 'string', pattern: '^"[A-Za-z0-9_-]+"$' } },
  CacheControl: { description: '`private, no-cache`: a cache may keep the answer but must revalidate it (If-None-Match) on every use', required: true, schema: { type: 'string', enum: ['private, no-cache'] } },
  Location: { description: 'the status URL of the pending redemption', required: true, schema: { type: 'string' } },
  XCache: { description: '`hit` when answered from the hot-balance cache (at most 1 s old), `miss` otherwise', schema: { type: 'string', enum: ['hit', 'miss'] } },
  ServedBy: { description: '`standby` when a standby replica answered because the active copy was restoring or unreachable (docs/api.md "Answers from standby replicas"); absent when the active answered', schema: { type: 'string', enum: ['standby'] } },
  StalenessRecords: { description: 'with `x-rewards-served-by: standby`: records the standby copy was behind the changelogs\' committed ends when the read began (0: it held exactly the committed state, the answer is current); never more than REWARDS_QUERY_MAX_STALENESS_RECORDS', schema: { type: 'string', pattern: '^[0-9]+$' } },
  IdempotentReplayed: { description: '`true` when this is the stored answer of an earlier request with the same Idempotency-Key and body', schema: { type: 'string', enum: ['true'] } }
})

const problem = (description: string, headers: Record<string, unknown> = {}): unknown => ({
  description,
  headers: { 'x-request-id': ref('RequestId'), ...headers },
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Error' } } }
})

export const COMPONENT_RESPONSES = Object.freeze({
  MethodNotAllowed: problem('`METHOD_NOT_ALLOWED`: the path exists, not with this method (answered for the other methods of the path)', { Allow: ref('Allow') }),
  NotAcceptable: problem('`NOT_ACCEPTABLE`: `Accept` admits neither application/json nor application/problem+json'),
  UriTooLong: problem('`URI_TOO_LONG`: a path parameter is over 256 characters (an id is at most 128)'),
  PayloadTooLarge: problem('`PAYLOAD_TOO_LARGE`: the body is over 4 MiB'),
  UnsupportedMediaType: problem('`UNSUPPORTED_MEDIA_TYPE`: the body is not application/json'),
  TooManyRequests: problem('`RATE_LIMITED`: this client\'s budget for this route is spent until the window ends', {
    'Retry-After': ref('RetryAfter'), 'RateLimit-Limit': ref('RateLimitLimit'), 'RateLimit-Remaining': ref('RateLimitRemaining'), 'RateLimit-Reset': ref('RateLimitReset')
  }),
  InternalError: problem('`INTERNAL`: an unexpected failure (details only in the server log)'),
  ServiceUnavailable: problem('a retriable failure (`DATABASE_UNAVAILABLE`, `STORE_NOT_READY`…)', { 'Retry-After': ref('RetryAfter') })
})

interface HeaderParameter { readonly name: string, readonly in: 'header', readonly required: boolean, readonly description: string, readonly schema: unknown }

export interface RouteExtras {
  readonly requestHeaders?: readonly HeaderParameter[]
  readonly responseHeaders?: Readonly<Record<number, Record<string, unknown>>>
  readonly responses?: Readonly<Record<number, unknown>>
}

const ifNoneMatch: HeaderParameter = { name: 'If-None-Match', in: 'header', required: false, description: 'an ETag of an earlier answer: 304 without a body while it is current', schema: { type: 'string' } }
const notModified = { description: 'Not Modified: the If-None-Match ETag is current (no body)', headers: { 'x-request-id': ref('RequestId'), ETag: ref('ETag'), 'Cache-Control': ref('CacheControl') } }
const idempotencyKey: HeaderParameter = { name: 'Idempotency-Key', in: 'header', required: false, description: 'per client, 24 h: the same key and body replay the first answer', schema: { type: 'string', minLength: 1, maxLength: 255 } }

/** Set on answers served by a standby replica (api/query/standby-fallback.ts). */
const standbyHeaders = { 'x-rewards-served-by': ref('ServedBy'), 'x-rewards-staleness-records': ref('StalenessRecords') }

export const ROUTE_EXTRAS: Readonly<Record<string, RouteExtras>> = Object.freeze({
  'GET /v1/members/{memberId}/balance': {
    requestHeaders: [ifNoneMatch],
    responseHeaders: { 200: { ETag: ref('ETag'), 'Cache-Control': ref('CacheControl'), 'x-cache': ref('XCache'), ...standbyHeaders } },
    responses: { 304: notModified }
  },
  'GET /v1/members/{memberId}/activity': {
    requestHeaders: [ifNoneMatch],
    responseHeaders: { 200: { ETag: ref('ETag'), 'Cache-Control': ref('CacheControl'), ...standbyHeaders } },
    responses: { 304: notModified }
  },
  'POST /v1/events': {
    requestHeaders: [idempotencyKey],
    responseHeaders: { 202: { 'idempotent-replayed': ref('IdempotentReplayed') } }
  },
  'POST /v1/redemptions': {
    requestHeaders: [{ name: 'Prefer', in: 'header', required: false, description: '`wait=<seconds>`: how long to wait for the decision (default 3, at most 30)', schema: { type: 'string' } }],
    responseHeaders: { 202: { Location: ref('Location') } }
  }
})
