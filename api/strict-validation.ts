// The one request validator of every route (installed on the root server by api/ops-server.ts,
// so every plugin inherits it; docs/api.md, "Validation"). It checks the body, querystring,
// path parameters and headers of a route against the route's own JSON schemas — the ones the
// OpenAPI document publishes — with TypeBox's compiler, the engine of the topology's validator:
//
// - never mutates: no type coercion ("100" is not 100, a query value is a string), no removal of
//   unknown properties, no defaults injected; what the handler reads is what the client sent;
// - reports every problem, each with where it is (`in`), its JSON Pointer (`path`), a `code`
//   (the failed keyword, `unknown` or `required`) and a message; unknown properties are refused
//   where a schema is closed (additionalProperties: false), each at its own path;
// - refuses strings that cannot be stored or shown safely (lib/safe-text.ts) in the body, the
//   query and the path, whatever the schema says.
//
// A body schema marked with `checkedByRoute` is published but left to the route, whose own
// validator decides with its own error code: POST /v1/events and /v1/redemptions, checked by the
// topology's validator (processors/rewards/validation.ts) so an accepted event is never
// dead-lettered for its shape, with per-item errors.
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify'
import { Compile } from 'typebox/compile'
import type { TLocalizedValidationError } from 'typebox/error'
import { printable, unsafeStrings, unsafeTextReason } from '../lib/safe-text.ts'

/** One problem of a request, as answered in `details` of VALIDATION_FAILED. */
export interface RequestIssue {
  readonly in: string
  /** JSON Pointer into that part of the request ('' for the part itself). */
  readonly path: string
  readonly code: string
  readonly message: string
}

const CHECKED_BY_ROUTE = 'x-checked-by'

/** Marks a body schema as documentation only: the route validates the body itself (`by` says
 *  with what; published in the OpenAPI document as the `x-checked-by` extension). */
export function checkedByRoute<S extends object> (schema: S, by: string): S & { [CHECKED_BY_ROUTE]: string } {
  return { ...schema, [CHECKED_BY_ROUTE]: by }
}

/** The query schema of a route that takes no query parameters: any one given is refused by name
 *  (a route without a query schema would ignore them). */
export const NO_QUERY = { type: 'object', properties: {}, additionalProperties: false } as const

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** Replaces `{ $ref: 'Id#' }` by the shared schema of that `$id` (Fastify's addSchema), so the
 *  compiled schema is self-contained. */
function inlineRefs (schema: Json, shared: Readonly<Record<string, unknown>>, depth = 0): Json {
  if (depth > 32) throw new Error('schema references nest deeper than 32 levels')
  if (Array.isArray(schema)) return schema.map(s => inlineRefs(s, shared, depth))
  if (schema === null || typeof schema !== 'object') return schema
  const ref = schema.$ref
  if (typeof ref === 'string') {
    const target = shared[ref.replace(/#$/, '')]
    if (target === undefined) throw new Error(`schema reference ${ref} is not a shared schema`)
    return inlineRefs(target as Json, shared, depth + 1)
  }
  const out: Record<string, Json> = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key !== '$id') out[key] = inlineRefs(value, shared, depth)
  }
  return out
}

function label (part: string, path: string): string {
  return path === '' ? part : `${part} ${printable(path.slice(1).replaceAll('/', '.'))}`
}

/** TypeBox's errors as request issues, one per field (unknown and missing properties apart). */
export function requestIssues (part: string, errors: readonly TLocalizedValidationError[]): RequestIssue[] {
  const noun = part === 'querystring' ? 'query parameter' : part === 'params' ? 'path parameter' : part === 'headers' ? 'header' : 'field'
  return errors.flatMap((error): RequestIssue[] => {
    const at = error.instancePath
    switch (error.keyword) {
      case 'boolean': return [] // "schema is false": repeated by additionalProperties
      case 'additionalProperties':
        return (error.params as { additionalProperties: string[] }).additionalProperties.map(name => ({ in: part, path: `${at}/${name}`, code: 'unknown', message: `unknown ${noun} ${printable(name)}` }))
      case 'required':
        return (error.params as { requiredProperties: string[] }).requiredProperties.map(name => ({ in: part, path: `${at}/${name}`, code: 'required', message: `missing required ${noun} ${name}` }))
      default:
        return [{ in: part, path: at, code: error.keyword, message: `${label(part, at)} ${error.message}` }]
    }
  })
}

/** Whether every string of a parsed JSON value (property names included) is safe: what
 *  unsafeStrings answers, without building paths and arrays for a clean value (every request's
 *  path parameters and query are checked; docs/benchmarks.md "API balance query, third pass"). */
function allTextSafe (value: unknown): boolean {
  if (typeof value === 'string') return unsafeTextReason(value) === undefined
  if (typeof value !== 'object' || value === null) return true
  if (Array.isArray(value)) {
    for (const item of value) if (!allTextSafe(item)) return false
    return true
  }
  for (const key of Object.keys(value)) {
    if (unsafeTextReason(key) !== undefined || !allTextSafe((value as Record<string, unknown>)[key])) return false
  }
  return true
}

/** The validator factory of the root server (Fastify's schemaController.compilersFactory):
 *  called per plugin scope with the schemas shared in it. */
export function strictValidatorFactory (shared: Readonly<Record<string, unknown>>): FastifySchemaCompiler<unknown> {
  return ({ schema, httpPart }) => {
    if ((schema as Record<string, unknown>)[CHECKED_BY_ROUTE] !== undefined) return () => true
    const part = httpPart ?? 'body'
    const validator = Compile(inlineRefs(schema as Json, shared) as never)
    // Headers are the transport's (user agents, proxies); their schemas say what a route reads.
    const checkText = part !== 'headers'
    return (data: unknown) => {
      const issues = validator.Check(data) ? [] : requestIssues(part, validator.Errors(data))
      if (checkText && !allTextSafe(data)) {
        for (const u of unsafeStrings(data)) issues.push({ in: part, path: u.path, code: 'unsafe-text', message: `${label(part, u.path)} ${u.reason}` })
      }
      // Fastify answers the issues through the error handler (VALIDATION_FAILED, details = issues).
      return issues.length === 0 ? true : { error: issues as unknown as FastifySchemaValidationError[] }
    }
  }
}

/** The message of a validation error: every issue, in order. */
export function formatRequestIssues (errors: FastifySchemaValidationError[]): Error {
  return new Error((errors as unknown as RequestIssue[]).map(i => i.message).join('; '))
}
