// Checks bearer tokens on the resource side: signature (ES256 only: `alg: none`, HS256 and any
// other algorithm are refused before a key is looked up), `kid` against the JWKS (built-in keys
// from PostgreSQL, or an external IdP's JWKS URL), `iss`, `aud`, `exp`, `nbf` and `iat` (none in
// the future beyond the clock tolerance, 5 s), then the
// client's revocation (built-in clients: the revoked set is reloaded every few seconds).
// Failures are reported with a reason for logs and metrics, never with the token itself.
//
// PostgreSQL unreachable (docs/api.md "PostgreSQL outages"): tokens keep being verified with the
// signing keys (signing-keys.ts) and the revoked set (revoked-clients.ts) last loaded, for at most
// AUTH_OFFLINE_MAX_MS after that load. Beyond the bound, or when nothing was ever loaded (started
// without the database), verify() throws DATABASE_UNAVAILABLE (HTTP 503) rather than calling a
// valid token invalid.
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose'
import { LRUCache } from 'lru-cache'
import type { Queryable } from '../../lib/db/database.ts'
import { isRewardsError } from '../../lib/errors.ts'
import { RevokedClients } from './revoked-clients.ts'
import type { SigningKeys } from './signing-keys.ts'

const MAX_VERIFIED = 10_000

export interface Principal {
  readonly clientId: string
  readonly scopes: ReadonlySet<string>
}

export class TokenRejected extends Error {
  /** Why, for logs only (jose error code, e.g. ERR_JWT_EXPIRED); never sent to the client. */
  readonly reason: string
  constructor (reason: string) {
    super('invalid token')
    this.name = 'TokenRejected'
    this.reason = reason
  }
}

export interface TokenVerifierOptions {
  /** Expected `iss`; null: not checked (internal routes with built-in keys, see api-services). */
  readonly issuer: (() => string) | null
  readonly audience: string
  /** Built-in keys; used when jwksUrl is null. */
  readonly keys?: SigningKeys
  /** External IdP (Keycloak, Cognito…): its JWKS URL. */
  readonly jwksUrl?: string | null
  /** Built-in clients: the revoked set shared by the process's verifiers (api-services). */
  readonly revoked?: RevokedClients
  /** Built-in clients without `revoked`: where revocations are read (every `revocationReloadMs`). */
  readonly db?: Queryable
  readonly revocationReloadMs?: number
  readonly clockToleranceSeconds?: number
  /** Default AUTH_OFFLINE_MAX_MS. */
  readonly offlineMaxMs?: number
}

/** A verified token, its principal, and when it expires (`exp`, ms). */
interface Verified { readonly token: string, readonly principal: Principal, readonly expiresAtMs: number }

export class TokenVerifier {
  readonly #options: TokenVerifierOptions
  readonly #getKey: JWTVerifyGetKey
  /** Tokens already verified, until they expire (lru-cache, bounded; least recently used dropped
   *  first): the signature check is the most expensive step of a request. Revocation is still
   *  checked every time. */
  readonly #verified = new LRUCache<string, Verified>({ max: MAX_VERIFIED })
  /** The verified token checked last: a client sends the same token on every request, and
   *  comparing it with this one's text is cheaper than the LRU look-up, which hashes all of its
   *  ~600 characters (a new string each request) — docs/benchmarks.md "API balance query, sixth
   *  pass". Only a verified token is ever kept here, and only until its `exp`, as in the LRU. */
  #last: Verified | undefined
  readonly #revokedClients: RevokedClients | undefined

  constructor (options: TokenVerifierOptions) {
    this.#options = options
    this.#revokedClients = options.revoked ?? (options.db === undefined
      ? undefined
      : new RevokedClients(options.db, { ...(options.revocationReloadMs !== undefined ? { reloadMs: options.revocationReloadMs } : {}), ...(options.offlineMaxMs !== undefined ? { offlineMaxMs: options.offlineMaxMs } : {}) }))
    if (options.jwksUrl !== undefined && options.jwksUrl !== null) {
      this.#getKey = createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: 5_000, cacheMaxAge: 600_000 })
    } else {
      const keys = options.keys
      if (keys === undefined) throw new Error('TokenVerifier needs built-in keys or a JWKS URL')
      // The key set is rebuilt only when the keys were reloaded (importing a JWK per request
      // would cost more than the signature check itself).
      let built: { version: number, getKey: JWTVerifyGetKey } | undefined
      this.#getKey = async (header, token) => {
        const jwks = await keys.publicJwksFor(header.kid)
        if (built === undefined || built.version !== keys.version) built = { version: keys.version, getKey: createLocalJWKSet(jwks) }
        return await built.getKey(header, token)
      }
    }
  }

  /** A token verified before, without a promise: its principal while it has not expired and its
   *  client's revocation is known without reading the database (TokenRejected when revoked);
   *  undefined when verify() must decide (unknown token, or the revoked set is due a reload). */
  verifiedBefore (token: string): Principal | undefined {
    let entry = this.#last
    if (entry === undefined || entry.token !== token || Date.now() >= entry.expiresAtMs) {
      entry = this.#verified.get(token)
      if (entry === undefined || Date.now() >= entry.expiresAtMs) return undefined
      this.#last = entry
    }
    const known = entry.principal
    const revoked = this.#revokedClients === undefined ? false : this.#revokedClients.revokedNow(known.clientId)
    if (revoked === true) throw new TokenRejected('ERR_CLIENT_REVOKED')
    return revoked === false ? known : undefined
  }

  async verify (token: string): Promise<Principal> {
    const entry = this.#verified.get(token)
    if (entry !== undefined && Date.now() < entry.expiresAtMs) {
      if (await this.#isRevoked(entry.principal.clientId)) throw new TokenRejected('ERR_CLIENT_REVOKED')
      return entry.principal
    }
    let payload
    const tolerance = this.#options.clockToleranceSeconds ?? 5
    try {
      ({ payload } = await jwtVerify(token, this.#getKey, {
        algorithms: ['ES256'],
        ...(this.#options.issuer !== null ? { issuer: this.#options.issuer() } : {}),
        audience: this.#options.audience,
        requiredClaims: ['exp', 'iat'],
        clockTolerance: tolerance
      }))
    } catch (error) {
      // The keys could not be read: not the token's fault (503, not 401).
      if (isRewardsError(error, 'DATABASE_UNAVAILABLE')) throw error
      throw new TokenRejected((error as { code?: string }).code ?? 'ERR_INVALID')
    }
    // jose checks `iat` only against a maxTokenAge: a token issued in the future (beyond the
    // same clock tolerance as exp and nbf) is refused here (docs/api.md "Authentication").
    if (payload.iat! > Date.now() / 1000 + tolerance) throw new TokenRejected('ERR_JWT_IAT_IN_FUTURE')
    const clientId = typeof payload.client_id === 'string' ? payload.client_id : payload.sub
    if (typeof clientId !== 'string' || clientId === '') throw new TokenRejected('ERR_NO_CLIENT')
    if (await this.#isRevoked(clientId)) throw new TokenRejected('ERR_CLIENT_REVOKED')
    const scope = typeof payload.scope === 'string' ? payload.scope : ''
    const principal: Principal = { clientId, scopes: new Set(scope.split(' ').filter(Boolean)) }
    // exp is required and checked above; nbf and iat in the future were refused above.
    const expiresAtMs = payload.exp! * 1000
    const ttl = expiresAtMs - Date.now()
    if (ttl > 0) this.#verified.set(token, { token, principal, expiresAtMs }, { ttl })
    return principal
  }

  async #isRevoked (clientId: string): Promise<boolean> {
    return await this.#revokedClients?.isRevoked(clientId) ?? false
  }
}
