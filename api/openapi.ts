// Publishes the API's route schemas as an OpenAPI 3.1 document (GET /openapi.json), built from
// the routes themselves (each route's schema is its contract) and the shared `$id` schemas. Routes
// marked `hide: true` (instance-to-instance) are left out. No extra dependency: OpenAPI 3.1 speaks
// JSON Schema, so the route schemas go in as they are, with `X#` references rewritten to
// `#/components/schemas/X`.
import type { FastifyInstance, RouteOptions } from 'fastify'
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

export function collectOpenApi (app: FastifyInstance, info: { title: string, version: string, tokenUrl: () => string }): () => unknown {
  const paths: Record<string, Record<string, unknown>> = {}
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as RouteSchema | undefined
    if (schema === undefined || schema.hide === true) return
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue
      const responses: Record<string, unknown> = {}
      for (const [status, body] of Object.entries(schema.response ?? {})) {
        responses[status] = { description: status, content: { 'application/json': { schema: rewriteRefs(body) } } }
      }
      paths[path] ??= {}
      paths[path][method.toLowerCase()] = {
        ...(schema.tags !== undefined ? { tags: schema.tags } : {}),
        ...(schema.summary !== undefined ? { summary: schema.summary } : {}),
        ...(schema.description !== undefined ? { description: schema.description } : {}),
        ...(schema.security !== undefined ? { security: schema.security } : {}),
        parameters: [...parameters('path', schema.params), ...parameters('query', schema.querystring), ...parameters('header', schema.headers)],
        ...(schema.body !== undefined ? { requestBody: { required: true, content: { [schema.consumes?.[0] ?? 'application/json']: { schema: rewriteRefs(schema.body) } } } } : {}),
        responses: Object.keys(responses).length > 0 ? responses : { 200: { description: 'OK' } }
      }
    }
  })
  return () => ({
    openapi: '3.1.0',
    info: { title: info.title, version: info.version },
    paths,
    components: {
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
