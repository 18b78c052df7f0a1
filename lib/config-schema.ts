// The kinds of value a REWARDS_* setting may hold, as TypeBox schemas that check the text of the
// variable (or flag) and decode it into the typed setting (typebox Value.Check / Value.Decode in
// lib/config.ts). Each rule also says, in words, what is allowed: the message that names the
// variable when a value is refused (docs/cli.md "Configuration"). Which setting uses which rule is
// in the settings table, lib/config-settings.ts.
import { accessSync, constants } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import Type, { type TSchema } from 'typebox'

export interface SettingRule {
  /** Checks and decodes the trimmed, non-empty text. `cwd` resolves relative paths. */
  schema (cwd: string): TSchema
  /** What is allowed, for the message naming the variable. */
  allowed (raw: string, cwd: string): string
}

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const IPV6 = /^[0-9A-Fa-f:.]+$/

function isHost (text: string): boolean {
  if (text.startsWith('[') && text.endsWith(']')) return IPV6.test(text.slice(1, -1)) && text.includes(':')
  return IPV4.test(text) || HOST.test(text)
}

function portIn (text: string, min: number): boolean {
  return /^\d{1,5}$/.test(text) && Number(text) >= min && Number(text) <= 65535
}

function broker (text: string): string | undefined {
  const colon = text.lastIndexOf(':')
  if (colon <= 0) return undefined
  const host = text.slice(0, colon)
  const port = text.slice(colon + 1)
  return portIn(port, 1) && isHost(host) ? `${host}:${Number(port)}` : undefined
}

function urlWith (text: string, protocols: readonly string[]): boolean {
  try {
    const url = new URL(text)
    return protocols.includes(url.protocol) && url.hostname !== ''
  } catch {
    return false
  }
}

function readable (path: string): boolean {
  try {
    accessSync(path, constants.R_OK)
    return true
  } catch {
    return false
  }
}

const absolute = (raw: string, cwd: string): string => (isAbsolute(raw) ? raw : resolve(cwd, raw))

/** A string refined by `check`. */
const checked = (check: (text: string) => boolean): TSchema => Type.Refine(Type.String(), check)

/** A string refined by `check` and decoded by `decode`. */
function decoded<T> (check: (text: string) => boolean, decode: (text: string) => T): TSchema {
  return Type.Codec(checked(check)).Decode(text => decode(text as string)).Encode(value => String(value))
}

const rule = (schema: (cwd: string) => TSchema, allowed: string | ((raw: string, cwd: string) => string)): SettingRule =>
  ({ schema, allowed: typeof allowed === 'string' ? () => allowed : allowed })

const fixed = (schema: TSchema, allowed: string): SettingRule => rule(() => schema, allowed)

/** Text as given, checked by `check`. */
export const textWhere = (check: (text: string) => boolean, allowed: string): SettingRule => fixed(checked(check), allowed)

/** Text matching a regular expression (JSON Schema `pattern`). */
export const textMatching = (pattern: string, allowed: string): SettingRule => fixed(Type.String({ pattern }), allowed)

/** Text decoded by `decode` once `check` accepts it. */
export const decodedText = <T>(check: (text: string) => boolean, decode: (text: string) => T, allowed: string): SettingRule =>
  fixed(decoded(check, decode), allowed)

/** Exactly one of `values` (case-sensitive). */
export const oneOf = (values: readonly string[], allowed: string): SettingRule => fixed(Type.Union(values.map(v => Type.Literal(v))), allowed)

/** One of `values` in any case, decoded to lower case. */
export const oneOfAnyCase = (values: readonly string[], allowed: string): SettingRule =>
  decodedText(raw => values.includes(raw.toLowerCase()), raw => raw.toLowerCase(), allowed)

/** true or false, in any case. */
export const booleanText: SettingRule = decodedText(raw => ['true', 'false'].includes(raw.toLowerCase()), raw => raw.toLowerCase() === 'true', 'true or false')

/** A whole number of at most `digits` digits from `min` to `max`. */
export function wholeNumber (limits: { readonly digits: number, readonly min?: number, readonly max?: number }, allowed: string): SettingRule {
  const shape = new RegExp(`^\\d{1,${limits.digits}}$`)
  const min = limits.min ?? 0
  const max = limits.max ?? Number.POSITIVE_INFINITY
  return decodedText(raw => shape.test(raw) && Number(raw) >= min && Number(raw) <= max, Number, allowed)
}

/** A TCP port, 0 (any free port) to 65535. */
export const port = (allowed: string): SettingRule => decodedText(raw => portIn(raw, 0), Number, allowed)

/** A readable file, decoded to its absolute path. */
export const readableFile = (what: string): SettingRule => rule(
  cwd => decoded(raw => readable(absolute(raw, cwd)), raw => absolute(raw, cwd)),
  (raw, cwd) => `${what} (${absolute(raw, cwd)} cannot be read)`
)

/** A directory path, decoded to its absolute path (it need not exist yet). */
export const directory = (allowed: string): SettingRule => rule(cwd => decoded(raw => !raw.includes('\0'), raw => resolve(cwd, raw)), allowed)

/** A directory path decoded to its absolute path, or `off` (null). */
export const directoryOrOff = (allowed: string): SettingRule =>
  rule(cwd => decoded(raw => !raw.includes('\0'), raw => (raw === 'off' ? null : resolve(cwd, raw))), allowed)

/** A URL of one of `protocols` ('postgres:', …) with a host name. */
export const urlOf = (protocols: readonly string[], allowed: string): SettingRule => textWhere(raw => urlWith(raw, protocols), allowed)

/** 1–1000 characters, no NUL. */
export const shortText = (allowed: string): SettingRule => textWhere(text => /^[^\0]{1,1000}$/.test(text), allowed)

/** A comma-separated list of host:port, decoded to distinct, normalised entries. */
export const brokerList = (allowed: string): SettingRule => decodedText(
  raw => raw.split(',').every(part => broker(part.trim()) !== undefined),
  raw => Object.freeze([...new Set(raw.split(',').map(part => broker(part.trim())!))]),
  allowed
)

/** A host name or IP address to listen on (IPv6 with or without brackets). */
export const listenHost = (allowed: string): SettingRule => textWhere(raw => isHost(raw) || (raw.includes(':') && IPV6.test(raw)), allowed)

/** `<requests>/<seconds>s` (1 ≤ seconds ≤ 3600), decoded to { max, windowMs }, or `off` (null). */
export const rateLimit = (allowed: string): SettingRule => decodedText(
  raw => raw === 'off' || (/^\d{1,9}\/\d{1,5}s$/.test(raw) && Number(raw.split('/')[0]) >= 1 && Number(raw.slice(raw.indexOf('/') + 1, -1)) >= 1 && Number(raw.slice(raw.indexOf('/') + 1, -1)) <= 3600),
  raw => raw === 'off' ? null : { max: Number(raw.split('/')[0]), windowMs: Number(raw.slice(raw.indexOf('/') + 1, -1)) * 1000 },
  allowed
)

/** Comma-separated http(s) origins without a path, or `*`. */
export const originList = (allowed: string): SettingRule => decodedText(
  raw => raw.trim() === '*' || raw.split(',').map(o => o.trim()).every(o => /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(o)),
  raw => raw.trim() === '*' ? '*' : raw.split(',').map(o => o.trim()),
  allowed
)
