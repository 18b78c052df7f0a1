// The digest of an event's content, so that two versions sent under one id can be told apart
// (docs/api.md#conflicts): sha256 over a canonical JSON text of the validated event — object keys
// sorted at every level, no whitespace — so key order and formatting never make two equal events
// differ. Written into the dedupe entries when an event is accepted and computed by the API on
// every POST; both sides hash the same validated value, so they agree.
import { hash } from 'node:crypto'

/** JSON text with object keys sorted (recursively); arrays keep their order. Written as loops:
 *  it runs for every accepted event (docs/benchmarks.md, "Rewards hot path"). */
export function canonicalJson (value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i])
    return out + ']'
  }
  const object = value as Record<string, unknown>
  // Default sort: by UTF-16 code unit, as the `<` comparison it replaces.
  const keys = Object.keys(object).sort()
  let out = '{'
  let first = true
  for (const key of keys) {
    const v = object[key]
    if (v === undefined) continue
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(v)
    first = false
  }
  return out + '}'
}

/** `sha256:<base64url>` of the canonical JSON of `value`. One-shot crypto.hash: no Hash object
 *  per event (createHash + update + digest were 1.6% of the processor's profile, docs/benchmarks.md
 *  "fsync per commit"). */
export function contentDigest (value: unknown): string {
  return `sha256:${hash('sha256', canonicalJson(value), 'base64url')}`
}
