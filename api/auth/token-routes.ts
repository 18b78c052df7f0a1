// The built-in OAuth2 authorization server (client-credentials grant only), as a Fastify plugin:
//
//   POST /oauth/token                        RFC 6749 §4.4; client_secret_basic or _post
//   GET  /.well-known/jwks.json              public signing keys (active + recently retired)
//   GET  /.well-known/openid-configuration   discovery (RFC 8414 / OpenID Discovery)
//
// Errors of the token endpoint are RFC 6749 §5.2 (`{ error, error_description }`), as OAuth2
// clients expect; what is not about OAuth (404, 405, 413, 415, 503) is a problem like everywhere
// else (api/http-errors.ts). Failed authentications are throttled per (client id, source address)
// and per address, issued tokens per client (api/auth/token-throttle.ts), so a wrong secret
// cannot lock the real client out.
import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import { SignJWT } from 'jose'
import { isDatabaseUnreachable } from '../../lib/db/database-errors.ts'
import { isRewardsError, RewardsError } from '../../lib/errors.ts'
import { API_DEFAULTS, type TokenFailureLimit } from '../api-settings.ts'
import type { SharedCache } from '../cache/shared-cache.ts'
import { registerRateLimiting } from '../routes/rate-limit.ts'
import { dummyHash, verifySecret } from './client-secrets.ts'
import { KNOWN_SCOPES, type ClientStore } from './client-store.ts'
import type { SigningKeys } from './signing-keys.ts'
import { OAuthErrorResponse, TokenResponse } from './token-openapi.ts'
import { tokenThrottle } from './token-throttle.ts'

export interface TokenRoutesOptions {
  readonly issuer: () => string
  readonly audience: string
  readonly tokenTtlSeconds: number
  readonly clients: ClientStore
  readonly keys: SigningKeys
  readonly cache: SharedCache
  /** Tokens issued per client per window. */
  readonly rateLimit: { readonly max: number, readonly windowMs: number }
  /** Failed authentications tolerated per (client, address) and per address; default API_DEFAULTS. */
  readonly failureLimit?: TokenFailureLimit
}

type OAuthError = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope' | 'rate_limited'

function oauthError (reply: FastifyReply, status: number, error: OAuthError, description: string, basic = false): FastifyReply {
  if (basic) void reply.header('www-authenticate', 'Basic realm="rewards", charset="UTF-8"')
  return reply.code(status).header('cache-control', 'no-store').header('pragma', 'no-cache')
    .send({ error, error_description: description })
}

/** Issuing a token reads the client from PostgreSQL: while it cannot be reached the answer is
 *  503 DATABASE_UNAVAILABLE (with Retry-After), not a 500 (docs/api.md "PostgreSQL outages"). */
/** Longest a token request waits for PostgreSQL (the client look-up, a signing key load): the
 *  1 s a /v1 request waits at most on a reload of the revoked set or the keys (docs/api.md
 *  "PostgreSQL outages"). A database that accepts connections but does not answer would otherwise
 *  hold the request for the pool's connect timeout (5 s) or query timeout (30 s). */
export const TOKEN_DATABASE_WAIT_MS = 1_000

async function needsDatabase<T> (read: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    const reading = read()
    const waited = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new RewardsError('DATABASE_UNAVAILABLE', `token issuance needs the client store (PostgreSQL), which did not answer within ${TOKEN_DATABASE_WAIT_MS} ms; retry shortly`)) }, TOKEN_DATABASE_WAIT_MS)
    })
    // The read goes on after the bound (the pool's own timeouts end it); its failure then is
    // nobody's to handle.
    reading.catch(() => undefined)
    return await Promise.race([reading, waited])
  } catch (error) {
    if (isRewardsError(error) || !isDatabaseUnreachable(error)) throw error
    throw new RewardsError('DATABASE_UNAVAILABLE', 'token issuance needs the client store (PostgreSQL), which cannot be reached; retry shortly', { cause: error })
  } finally {
    clearTimeout(timer)
  }
}

/** Basic credentials: both parts are form-urlencoded before base64 (RFC 6749 §2.3.1). */
function parseBasic (header: string): { id: string, secret: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(header)
  if (m === null) return undefined
  const text = Buffer.from(m[1]!, 'base64').toString('utf8')
  const colon = text.indexOf(':')
  if (colon < 0) return undefined
  try {
    return { id: decodeURIComponent(text.slice(0, colon).replaceAll('+', ' ')), secret: decodeURIComponent(text.slice(colon + 1).replaceAll('+', ' ')) }
  } catch {
    return undefined
  }
}

export const tokenRoutes: FastifyPluginAsync<TokenRoutesOptions> = async (app, options) => {
  await registerRateLimiting(app, options.cache)
  const throttle = tokenThrottle(app, options.failureLimit ?? API_DEFAULTS.tokenFailureLimit, options.rateLimit)
  const tooMany = (reply: FastifyReply, seconds: number, why: string): FastifyReply => {
    void reply.header('retry-after', String(seconds))
    return oauthError(reply, 429, 'rate_limited', why)
  }
  // application/x-www-form-urlencoded only (RFC 6749 §4.4.2), parsed in this plugin's scope only;
  // a JSON body is 415 here.
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 8 * 1024 }, (_request, body, done) => {
    const params = new URLSearchParams(body as string)
    const out: Record<string, string | string[]> = {}
    for (const [key, value] of params) {
      const prior = out[key]
      out[key] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value]
    }
    done(null, out)
  })

  app.post<{ Body: Record<string, string | string[] | undefined> }>('/oauth/token', {
    schema: {
      // Documented by api/auth/token-openapi.ts (the OpenAPI document lists it wherever it is served).
      hide: true,
      response: { 200: TokenResponse, 400: OAuthErrorResponse, 401: OAuthErrorResponse, 429: OAuthErrorResponse }
    }
  }, async (request, reply) => {
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {})
    const repeated = Object.entries(body).find(([, v]) => Array.isArray(v))
    if (repeated !== undefined) return oauthError(reply, 400, 'invalid_request', `parameter ${repeated[0]} is repeated`)
    const field = (name: string): string | undefined => body[name] as string | undefined
    const header = request.headers.authorization
    const basic = header !== undefined ? parseBasic(header) : undefined
    if (header !== undefined && basic === undefined) return oauthError(reply, 401, 'invalid_client', 'malformed Authorization header', true)
    if (basic !== undefined && (field('client_secret') !== undefined)) return oauthError(reply, 400, 'invalid_request', 'use one client authentication method, not both')
    const clientId = basic?.id ?? field('client_id')
    const secret = basic?.secret ?? field('client_secret')
    if (clientId === undefined || secret === undefined || clientId === '' || clientId.length > 200) {
      return oauthError(reply, 401, 'invalid_client', 'client authentication is required', basic !== undefined || header === undefined)
    }

    // Before the (scrypt) secret check: this address's failures for this client, or for any.
    const may = await throttle.mayTry(request, clientId)
    if (may.refused) return tooMany(reply, may.retryAfterSeconds, 'too many failed client authentications from this address; retry later')

    const client = await needsDatabase(() => options.clients.find(clientId))
    const secretOk = await verifySecret(secret, client?.secretHash ?? await dummyHash())
    if (client === undefined || !secretOk || client.revokedAt !== null) {
      await throttle.failed(request, clientId)
      request.log.info({ clientId, reason: client === undefined ? 'unknown client' : client.revokedAt !== null ? 'revoked client' : 'wrong secret' }, 'token request refused')
      return oauthError(reply, 401, 'invalid_client', 'client authentication failed', basic !== undefined)
    }
    const issued = await throttle.issued(request, clientId)
    if (issued.refused) return tooMany(reply, issued.retryAfterSeconds, 'too many token requests for this client; retry later')

    const grant = field('grant_type')
    if (grant === undefined) return oauthError(reply, 400, 'invalid_request', 'grant_type is required')
    if (grant !== 'client_credentials') return oauthError(reply, 400, 'unsupported_grant_type', 'only client_credentials is supported')
    const requested = field('scope')?.split(' ').filter(Boolean)
    const granted = requested === undefined || requested.length === 0 ? [...client.scopes] : requested
    const notAllowed = granted.filter(s => !client.scopes.includes(s))
    if (notAllowed.length > 0) return oauthError(reply, 400, 'invalid_scope', `scope not allowed for this client: ${notAllowed.join(' ')}`)

    const { kid, key } = await needsDatabase(() => options.keys.current())
    const scope = [...new Set(granted)].join(' ')
    const token = await new SignJWT({ scope, client_id: client.clientId })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .setIssuer(options.issuer())
      .setAudience(options.audience)
      .setSubject(client.clientId)
      .setIssuedAt()
      .setExpirationTime(`${options.tokenTtlSeconds}s`)
      .setJti(randomUUID())
      .sign(key)
    request.log.info({ clientId: client.clientId, scope, kid }, 'token issued')
    return reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
      .send({ access_token: token, token_type: 'Bearer', expires_in: options.tokenTtlSeconds, scope })
  })

  app.get('/.well-known/jwks.json', { schema: { hide: true } }, async (_request, reply) => {
    return reply.header('cache-control', 'public, max-age=60').send(await options.keys.publicJwks())
  })

  app.get('/.well-known/openid-configuration', { schema: { hide: true } }, async () => {
    const issuer = options.issuer()
    return {
      issuer,
      token_endpoint: `${issuer}/oauth/token`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      scopes_supported: [...KNOWN_SCOPES],
      response_types_supported: ['token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256']
    }
  })
}
