// Settings of the public API and the token server, with their defaults. The built-in issuer is
// this instance's own base URL unless `issuer` is given; an external IdP replaces the built-in
// server by giving its issuer and JWKS URL (the token routes are then not served).
export interface ApiSettings {
  /** Expected (and, built in, issued) `iss`; a function because the bound port is known late. */
  readonly issuer: () => string
  readonly audience: string
  /** External IdP's JWKS; null → the built-in keys (PostgreSQL) and the built-in token server. */
  readonly jwksUrl: string | null
  readonly tokenTtlSeconds: number
  /** Age of an ES256 key before it is rotated on the next signing. */
  readonly keyRotationMs: number
  /** Upper bound on how stale a cached balance may be (0: no cache). */
  readonly balanceCacheTtlMs: number
  /** Answer the happy balance read in front of Fastify (with CORS off, and the cache and rate
   *  limit in process; api/routes/balance-fast-lane.ts; docs/api.md "Balance fast lane"). */
  readonly balanceFastLane: boolean
  readonly redemptionWaitMs: number
  readonly maxRedemptionWaitMs: number
  /** Tokens issued per client and window (counted only once the client is authenticated). */
  readonly tokenRateLimit: { readonly max: number, readonly windowMs: number }
  /** Failed client authentications tolerated per (client id, source address) and per source
   *  address in a window, before the token endpoint answers 429 from there (api/auth/token-throttle.ts). */
  readonly tokenFailureLimit: TokenFailureLimit
  /** Requests per client per /v1 route and window (api/routes/rate-limit.ts); null: no limit. */
  readonly apiRateLimit: { readonly max: number, readonly windowMs: number } | null
  readonly forwardTimeoutMs: number
  /** Origins CORS allows on the public API ('*': any); null: CORS off (api/public-api.ts). */
  readonly corsOrigins: readonly string[] | '*' | null
}

export interface TokenFailureLimit {
  readonly perClientAddress: number
  readonly perAddress: number
  readonly windowMs: number
}

export const API_DEFAULTS = Object.freeze({
  audience: 'rewards-api',
  tokenTtlSeconds: 300,
  keyRotationMs: 24 * 60 * 60 * 1000,
  balanceCacheTtlMs: 1000,
  balanceFastLane: true,
  redemptionWaitMs: 3000,
  maxRedemptionWaitMs: 30_000,
  tokenRateLimit: Object.freeze({ max: 60, windowMs: 60_000 }),
  // Secrets are 256 random bits: the limit is against load (each check is an scrypt hash), not
  // guessing. 10 failures for one client from one address, 30 from one address, per minute.
  tokenFailureLimit: Object.freeze({ perClientAddress: 10, perAddress: 30, windowMs: 60_000 }) as TokenFailureLimit,
  // 1000 requests per second per client and route: far above a property gateway's steady rate,
  // low enough that one runaway client cannot take the API from the others (REWARDS_API_RATE_LIMIT).
  apiRateLimit: Object.freeze({ max: 1000, windowMs: 1000 }) as { readonly max: number, readonly windowMs: number } | null,
  forwardTimeoutMs: 2000,
  corsOrigins: null as readonly string[] | '*' | null
})

export function apiSettings (overrides: Partial<ApiSettings> & { issuer: () => string }): ApiSettings {
  return Object.freeze({ ...API_DEFAULTS, jwksUrl: null, ...overrides })
}
