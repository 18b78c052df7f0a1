// TypeBox's validation errors as sentences a person can act on, one clause per field
// ("amountCents must be <= 1000000000000", "unknown field originalEventID"). Shared by the
// validation of input records (processors/rewards/validation.ts) and of the configuration files
// (rule sets, lib/notifications-config.ts), which is why it lives in lib/: lib/ imports no
// application (docs/engine.md "Public entry").
import type { TLocalizedValidationError } from 'typebox/error'
import { printable } from './safe-text.ts'

/** The field a JSON Pointer names, as a person writes it (a.b.0; 'record' for the root). */
export function fieldName (instancePath: string): string {
  return instancePath === '' ? 'record' : printable(instancePath.slice(1).replaceAll('/', '.'))
}

/** One problem of a record, at a field: `path` is a JSON Pointer into the record ('' for the
 *  record itself), `message` a clause a person can act on ("amountCents must be <= …"). */
export interface FieldIssue {
  readonly path: string
  readonly message: string
  /** A clause naming several missing or unknown fields (at the first one's path) as one issue
   *  per field: what the HTTP API answers, one entry per problem (docs/api.md "Validation");
   *  the clause itself stays the dead letter's wording. */
  readonly each?: readonly FieldIssue[]
}

/** One clause about several fields of the object at `path` (`raw` the names as in the record,
 *  for the pointers; `shown` as printed), with each field's own issue. */
function grouped (path: string, field: string, what: string, raw: readonly string[], shown: readonly string[]): FieldIssue {
  const prefix = path === '' ? '' : field + ': '
  const each = raw.map((name, i) => ({ path: `${path}/${pointerToken(name)}`, message: `${prefix}${what} ${shown[i]}` }))
  return { path: `${path}/${shown[0] ?? ''}`, message: `${prefix}${what}${shown.length > 1 ? 's' : ''} ${shown.join(', ')}`, ...(raw.length > 1 ? { each } : {}) }
}

/** A property name as a JSON Pointer reference token (RFC 6901: ~ and / escaped). */
function pointerToken (name: string): string {
  return name.replaceAll('~', '~0').replaceAll('/', '~1')
}

/** TypeBox's errors as one issue per clause, with the path of the field it is about. */
export function schemaIssues (errors: readonly TLocalizedValidationError[]): FieldIssue[] {
  const issues: FieldIssue[] = []
  const byPath = new Map<string, TLocalizedValidationError[]>()
  for (const error of errors) {
    if (error.keyword === 'boolean') continue // "schema is false": repeated by additionalProperties
    const list = byPath.get(error.instancePath) ?? []
    list.push(error)
    byPath.set(error.instancePath, list)
  }
  for (const [path, list] of byPath) {
    const field = fieldName(path)
    const anyOf = list.find(e => e.keyword === 'anyOf')
    if (anyOf !== undefined) {
      const allowed = list.flatMap(e => e.keyword === 'const' ? [String((e.params as { allowedValue: unknown }).allowedValue)] : [])
      issues.push({ path, message: allowed.length > 0 ? `${field} must be one of ${allowed.join(', ')}` : `${field} ${anyOf.message}` })
      continue
    }
    for (const error of list) {
      if (error.keyword === 'required') {
        const names = (error.params as { requiredProperties: string[] }).requiredProperties
        // One issue for the clause, at the first missing field (the message names them all).
        issues.push(grouped(path, field, 'missing required field', names, names))
      } else if (error.keyword === 'additionalProperties') {
        const raw = (error.params as { additionalProperties: string[] }).additionalProperties
        issues.push(grouped(path, field, 'unknown field', raw, raw.map(printable)))
      } else if (error.keyword === 'format') {
        issues.push({ path, message: `${field} must be an RFC 3339 timestamp with offset (e.g. 2026-03-01T18:30:00Z)` })
      } else if (error.keyword === 'const') {
        issues.push({ path, message: `${field} must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}` })
      } else {
        issues.push({ path, message: `${field} ${error.message}` })
      }
    }
  }
  return issues
}

/** Turns TypeBox's errors into one readable line, one clause per field. */
export function describeSchemaErrors (errors: readonly TLocalizedValidationError[]): string {
  return schemaIssues(errors).map(i => i.message).join('; ')
}
