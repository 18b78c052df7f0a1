// Strings the platform refuses wherever a client's text enters it (docs/api.md, "Validation";
// docs/rewards.md, "Validation and dead-letter codes"): text that cannot be stored or shown
// safely. PostgreSQL refuses U+0000 and cannot encode a lone surrogate (the archive would retry
// such a row forever); control characters (C0, DEL, C1: Unicode category Cc) rewrite terminals
// and log lines. One rule for the HTTP door and for records read from the topics, so a record the
// API accepts is never dead-lettered, and one produced around the API never reaches the archive.

const CONTROL = /\p{Cc}/u

/** Why `text` is refused, or undefined when it is safe. */
export function unsafeTextReason (text: string): string | undefined {
  if (!text.isWellFormed()) return 'must be well-formed Unicode (it holds a lone surrogate)'
  const control = CONTROL.exec(text)
  if (control !== null) return `must not hold control characters (U+${control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} at ${control.index})`
  return undefined
}

/** `text` as it may appear in a message or a log line: as is when safe, else JSON-quoted (control
 *  characters and lone surrogates escaped), so an error never carries what it refuses. */
export function printable (text: string): string {
  return unsafeTextReason(text) === undefined ? text : JSON.stringify(text)
}

export interface UnsafeString {
  /** JSON Pointer of the string within the value checked ('' for the value itself). */
  readonly path: string
  readonly reason: string
}

const pointerToken = (key: string | number): string => String(key).replaceAll('~', '~0').replaceAll('/', '~1')

/** Every unsafe string in a parsed JSON value (property names included), depth first. */
export function unsafeStrings (value: unknown, path = ''): UnsafeString[] {
  if (typeof value === 'string') {
    const reason = unsafeTextReason(value)
    return reason === undefined ? [] : [{ path, reason }]
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => unsafeStrings(item, `${path}/${i}`))
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, inner]) => {
      const keyReason = unsafeTextReason(key)
      const at = `${path}/${pointerToken(key)}`
      return [...(keyReason === undefined ? [] : [{ path: at, reason: `field name ${keyReason}` }]), ...unsafeStrings(inner, at)]
    })
  }
  return []
}

/** True when every string of a parsed JSON value (property names included) is well-formed
 *  Unicode: what PostgreSQL's jsonb can store (it refuses a lone surrogate escape). */
export function isWellFormedJson (value: unknown): boolean {
  if (typeof value === 'string') return value.isWellFormed()
  if (Array.isArray(value)) return value.every(isWellFormedJson)
  if (typeof value === 'object' && value !== null) return Object.entries(value).every(([key, inner]) => key.isWellFormed() && isWellFormedJson(inner))
  return true
}
