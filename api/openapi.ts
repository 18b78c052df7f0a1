// Publishes the API's route schemas as an OpenAPI 3.1 document (GET /openapi.json, rendered at
// GET /docs), built from the routes themselves (each route's schema is its contract) and the
// shared `$id` schemas. Routes marked `hide: true` (instance-to-instance, the docs page) are left
// out. No generator dependency: OpenAPI 3.1 speaks JSON Schema, so the route schemas go in as they
// are, with `X#` references rewritten to `#/components/schemas/X`.
//
// To the statuses a route declares, the document adds those the platform answers around it
// (api/http-errors.ts): 405 and 406 everywhere, 414 with path parameters, 413 and 415 with a
// body, 429 on rate-limited routes, 500; error bodies are `application/problem+json`. Response
// headers: x-request-id on every answer, RateLimit-* and Retry-After where they apply, and the
// route-specific ones of api/openapi-headers.ts (ETag, Location…). The token server's routes come
// from api/auth/token-openapi.ts. test/api/contract.test.ts checks live answers against it.
import { STATUS_CODES } from 'node:http'
import type { FastifyInstance, RouteOptions } from 'fastify'
import { tokenServerPaths } from './auth/token-openapi.ts'
import { COMPONENT_HEADERS, COMPONENT_RESPONSES, ROUTE_EXTRAS } from './openapi-headers.ts'
import { SHARED_SCHEMAS } from './schemas.ts'

declare module 'fastify' {
  interface FastifySchema {
    /** Left out of the OpenAPI document. */
    hide?: boolean
    tags?: string[]
    summary?: string
    description?: string
    security?: unknown[]
    consumes?: string[]
  }
}

interface RouteSchema {
  hide?: boolean
  tags?: string[]
  summary?: string
  description?: string
  security?: unknown[]
  params?: { properties?: Record<string, unknown>, required?: string[] }
  querystring?: { properties?: Record<string, unknown>, required?: string[] }
  headers?: { properties?: Record<string, unknown>, required?: string[] }
  body?: unknown
  consumes?: string[]
  response?: Record<string, unknown>
}

function rewriteRefs (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(value)) {
    if (key === '$ref' && typeof inner === 'string' && inner.endsWith('#')) out.$ref = `#/components/schemas/${inner.slice(0, -1)}`
    else if (key === '$id') continue
    else out[key] = rewriteRefs(inner)
  }
  return out
}

function parameters (where: 'path' | 'query' | 'header', schema: RouteSchema['params']): unknown[] {
  if (schema?.properties === undefined) return []
  return Object.entries(schema.properties).map(([name, s]) => ({
    name, in: where, required: where === 'path' || (schema.required ?? []).includes(name), schema: rewriteRefs(s)
  }))
}

const header = (name: keyof typeof COMPONENT_HEADERS): unknown => ({ $ref: `#/components/headers/${name}` })
const response = (name: keyof typeof COMPONENT_RESPONSES): unknown => ({ $ref: `#/components/responses/${name}` })

export interface OpenApiOptions {
  readonly title: string
  readonly version: string
  readonly tokenUrl: () => string
  /** The /v1 routes answer 429 beyond a per-client limit (REWARDS_API_RATE_LIMIT not off). */
  readonly rateLimited: boolean
  /** Document the built-in token server's routes (absent with an external IdP). */
  readonly tokenServer: boolean
}

/** The OpenAPI operation of one route and method. */
function operation (method: string, path: string, schema: RouteSchema, options: OpenApiOptions): unknown {
  const limited = options.rateLimited && schema.security !== undefined
  const extras = ROUTE_EXTRAS[`${method} ${path}`]
  const responses: Record<string, unknown> = {}
  for (const [status, body] of Object.entries(schema.response ?? {})) {
    const code = Number(status)
    const headers: Record<string, unknown> = { 'x-request-id': header('RequestId') }
    if (code < 400 && limited) Object.assign(headers, { 'RateLimit-Limit': header('RateLimitLimit'), 'RateLimit-Remaining': header('RateLimitRemaining'), 'RateLimit-Reset': header('RateLimitReset') })
    if (code === 503) headers['Retry-After'] = header('RetryAfter')
    if (code === 401) headers['WWW-Authenticate'] = header('WwwAuthenticate')
    if (code === 403) headers['WWW-Authenticate'] = header('WwwAuthenticate')
    Object.assign(headers, extras?.responseHeaders?.[code] ?? {})
    responses[status] = {
      description: STATUS_CODES[code] ?? status,
      headers,
      content: { [code >= 400 ? 'application/problem+json' : 'application/json']: { schema: rewriteRefs(body) } }
    }
  }
  Object.assign(responses, extras?.responses ?? {})
  responses[405] ??= response('MethodNotAllowed')
  responses[406] ??= response('NotAcceptable')
  if (schema.params !== undefined) responses[414] ??= response('UriTooLong')
  if (schema.body !== undefined) {
    responses[413] ??= response('PayloadTooLarge')
    responses[415] ??= response('UnsupportedMediaType')
  }
  if (limited) responses[429] ??= response('TooManyRequests')
  responses[500] ??= response('InternalError')
  const known = new Set(Object.keys(schema.headers?.properties ?? {}).map(name => name.toLowerCase()))
  return {
    ...(schema.tags !== undefined ? { tags: schema.tags } : {}),
    ...(schema.summary !== undefined ? { summary: schema.summary } : {}),
    ...(schema.description !== undefined ? { description: schema.description } : {}),
    ...(schema.security !== undefined ? { security: schema.security } : {}),
    parameters: [
      ...parameters('path', schema.params), ...parameters('query', schema.querystring), ...parameters('header', schema.headers),
      ...(extras?.requestHeaders ?? []).filter(p => !known.has(p.name.toLowerCase()))
    ],
    ...(schema.body !== undefined ? { requestBody: { required: true, content: { [schema.consumes?.[0] ?? 'application/json']: { schema: rewriteRefs(schema.body) } } } } : {}),
    responses
  }
}

export function collectOpenApi (app: FastifyInstance, options: OpenApiOptions): () => unknown {
  const paths: Record<string, Record<string, unknown>> = {}
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as RouteSchema | undefined
    if (schema === undefined || schema.hide === true) return
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue
      paths[path] ??= {}
      paths[path][method.toLowerCase()] = operation(method, path, schema, options)
    }
  })
  const info = options
  return () => ({
    openapi: '3.1.0',
    info: {
      title: info.title,
      version: info.version,
      description: 'Errors are RFC 9457 problems (`application/problem+json`) with a stable `code`, except the token endpoint\'s RFC 6749 errors. Every answer carries `x-request-id`. See docs/api.md.'
    },
    paths: { ...paths, ...(info.tokenServer ? tokenServerPaths() : {}) },
    components: {
      headers: COMPONENT_HEADERS,
      responses: COMPONENT_RESPONSES,
      schemas: Object.fromEntries(SHARED_SCHEMAS.map(s => [s.$id, rewriteRefs(s)])),
      securitySchemes: {
        oauth2: {
          type: 'oauth2',
          description: 'Client-credentials grant at the token endpoint; send the access token as `Authorization: Bearer <token>`',
          flows: { clientCredentials: { tokenUrl: info.tokenUrl(), scopes: { 'balances:read': 'read balances, activity and redemption decisions', 'events:write': 'publish reward events', 'redemptions:write': 'request redemptions', 'reports:read': 'read reports over the archive' } } }
        }
      }
    }
  })
}
