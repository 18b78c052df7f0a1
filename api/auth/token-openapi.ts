// The built-in authorization server's routes (api/auth/token-routes.ts) in OpenAPI 3.1 terms.
// Written out rather than collected from the routes: under `rewards start` they are registered by
// the auth role, apart from the public API whose document lists them (api/openapi.ts), and their
// errors are RFC 6749 §5.2 bodies, not problems. The token route's own schemas are these.

export const TokenResponse = {
  type: 'object',
  required: ['access_token', 'token_type', 'expires_in', 'scope'],
  properties: {
    access_token: { type: 'string', description: 'an ES256 JWT (typ at+jwt)' },
    token_type: { type: 'string', enum: ['Bearer'] },
    expires_in: { type: 'integer', description: 'seconds (300)' },
    scope: { type: 'string', description: 'granted scopes, space-separated' }
  }
} as const

export const OAuthErrorResponse = {
  type: 'object',
  description: 'RFC 6749 §5.2 error (the token endpoint keeps this shape: OAuth2 clients depend on it)',
  required: ['error'],
  properties: {
    error: { type: 'string', enum: ['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'rate_limited'] },
    error_description: { type: 'string' }
  }
} as const

const TokenRequest = {
  type: 'object',
  required: ['grant_type'],
  properties: {
    grant_type: { type: 'string', enum: ['client_credentials'] },
    scope: { type: 'string', description: 'space-separated; default: all the client\'s scopes' },
    client_id: { type: 'string', description: 'client_secret_post only' },
    client_secret: { type: 'string', description: 'client_secret_post only' }
  }
} as const

const Jwks = {
  type: 'object',
  required: ['keys'],
  properties: {
    keys: {
      type: 'array',
      items: {
        type: 'object',
        required: ['kty', 'kid'],
        properties: { kty: { type: 'string' }, crv: { type: 'string' }, x: { type: 'string' }, y: { type: 'string' }, kid: { type: 'string' }, alg: { type: 'string' }, use: { type: 'string' } }
      }
    }
  }
} as const

const Discovery = {
  type: 'object',
  required: ['issuer', 'token_endpoint', 'jwks_uri', 'grant_types_supported', 'token_endpoint_auth_methods_supported', 'scopes_supported'],
  properties: {
    issuer: { type: 'string' },
    token_endpoint: { type: 'string' },
    jwks_uri: { type: 'string' },
    grant_types_supported: { type: 'array', items: { type: 'string' } },
    token_endpoint_auth_methods_supported: { type: 'array', items: { type: 'string' } },
    scopes_supported: { type: 'array', items: { type: 'string' } },
    response_types_supported: { type: 'array', items: { type: 'string' } },
    subject_types_supported: { type: 'array', items: { type: 'string' } },
    id_token_signing_alg_values_supported: { type: 'array', items: { type: 'string' } }
  }
} as const

const oauth = (description: string, headers: Record<string, unknown> = {}): unknown => ({
  description,
  headers: { 'x-request-id': { $ref: '#/components/headers/RequestId' }, ...headers },
  content: { 'application/json': { schema: OAuthErrorResponse } }
})
const problem = (name: string): unknown => ({ $ref: `#/components/responses/${name}` })
const noStore = { 'Cache-Control': { description: '`no-store`', schema: { type: 'string', enum: ['no-store'] }, required: true } }

/** The paths of the token endpoint, JWKS and discovery (OpenAPI path items). */
export function tokenServerPaths (): Record<string, unknown> {
  return {
    '/oauth/token': {
      post: {
        tags: ['auth'],
        summary: 'OAuth2 client-credentials grant (client_secret_basic or client_secret_post)',
        description: 'RFC 6749 §4.4. Client authentication by `Authorization: Basic` or by `client_id`/`client_secret` in the body, not both. Errors are RFC 6749 §5.2 bodies; what is not about OAuth (405, 406, 413, 415, 503) is a problem. Failed authentications are throttled per (client id, source address) and per address; issued tokens per client (docs/api.md "Authentication").',
        parameters: [{ name: 'Authorization', in: 'header', required: false, description: '`Basic base64(urlencode(client_id):urlencode(client_secret))`', schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: TokenRequest } } },
        responses: {
          200: { description: 'a token', headers: { 'x-request-id': { $ref: '#/components/headers/RequestId' }, ...noStore }, content: { 'application/json': { schema: TokenResponse } } },
          400: oauth('`invalid_request`, `unsupported_grant_type` or `invalid_scope`'),
          401: oauth('`invalid_client`: unknown client, wrong secret or revoked client (one answer for all); `WWW-Authenticate: Basic` when Basic was used', { 'WWW-Authenticate': { schema: { type: 'string' } } }),
          405: problem('MethodNotAllowed'),
          413: problem('PayloadTooLarge'),
          415: problem('UnsupportedMediaType'),
          429: oauth('`rate_limited`: too many failed authentications from this address, or too many tokens for this client', { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } }),
          500: problem('InternalError'),
          503: problem('ServiceUnavailable')
        }
      }
    },
    '/.well-known/jwks.json': {
      get: {
        tags: ['auth'],
        summary: 'Public keys that sign the access tokens (active and recently retired)',
        responses: {
          200: { description: 'the JWKS', headers: { 'x-request-id': { $ref: '#/components/headers/RequestId' } }, content: { 'application/json': { schema: Jwks } } },
          405: problem('MethodNotAllowed'),
          500: problem('InternalError'),
          503: problem('ServiceUnavailable')
        }
      }
    },
    '/.well-known/openid-configuration': {
      get: {
        tags: ['auth'],
        summary: 'Authorization server metadata (discovery)',
        responses: {
          200: { description: 'the metadata', headers: { 'x-request-id': { $ref: '#/components/headers/RequestId' } }, content: { 'application/json': { schema: Discovery } } },
          405: problem('MethodNotAllowed'),
          500: problem('InternalError')
        }
      }
    }
  }
}
