// What each REWARDS_* value may be, as TypeBox schemas that check the text of the variable (or
// flag) and decode it into the typed setting (typebox Value.Check / Value.Decode in
// lib/config.ts). Each rule also says, in words, what is allowed: the message that names the
// variable when a value is refused (docs/cli.md "Configuration").
import { accessSync, constants } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import Type, { type TSchema } from 'typebox'
import type { SettingKey } from './config.ts'

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

const oneOf = (values: readonly string[]): TSchema => Type.Union(values.map(v => Type.Literal(v)))

const rule = (schema: (cwd: string) => TSchema, allowed: string | ((raw: string, cwd: string) => string)): SettingRule =>
  ({ schema, allowed: typeof allowed === 'string' ? () => allowed : allowed })

const fixed = (schema: TSchema, allowed: string): SettingRule => rule(() => schema, allowed)

const file = (what: string): SettingRule => rule(
  cwd => decoded(raw => readable(absolute(raw, cwd)), raw => absolute(raw, cwd)),
  (raw, cwd) => `${what} (${absolute(raw, cwd)} cannot be read)`
)

export interface RuleLists {
  readonly saslMechanisms: readonly string[]
  readonly processingGuarantees: readonly string[]
  readonly streamErrorPolicies: readonly string[]
  readonly rebalanceProtocols: readonly string[]
  readonly autoOffsetResets: readonly string[]
  readonly logLevels: readonly string[]
  readonly logFormats: readonly string[]
  readonly maxPartitions: number
  readonly memoryBudgetMib: { readonly min: number, readonly max: number }
}

export function settingRules (lists: RuleLists): Record<SettingKey, SettingRule> {
  const printable1000 = checked(text => /^[^\0]{1,1000}$/.test(text))
  return {
    kafkaBrokers: fixed(
      decoded(
        raw => raw.split(',').every(part => broker(part.trim()) !== undefined),
        raw => Object.freeze([...new Set(raw.split(',').map(part => broker(part.trim())!))])
      ),
      'a comma-separated list of host:port (port 1–65535), e.g. "kafka-1:9092,kafka-2:9092"'
    ),
    kafkaSaslMechanism: fixed(
      decoded(raw => lists.saslMechanisms.includes(raw.toLowerCase()), raw => raw.toLowerCase()),
      `one of ${lists.saslMechanisms.join(', ')} (OAUTHBEARER / AWS_MSK_IAM are not supported)`
    ),
    kafkaSaslUsername: fixed(printable1000, '1–1000 characters'),
    kafkaSaslPassword: fixed(printable1000, '1–1000 characters'),
    kafkaTls: fixed(decoded(raw => ['true', 'false'].includes(raw.toLowerCase()), raw => raw.toLowerCase() === 'true'), 'true or false'),
    kafkaTlsCaFile: file('a readable PEM file of CA certificates'),
    databaseUrl: fixed(checked(raw => urlWith(raw, ['postgres:', 'postgresql:'])), 'a PostgreSQL URL: postgres://user:password@host:5432/database'),
    redisUrl: fixed(checked(raw => urlWith(raw, ['redis:', 'rediss:'])), 'a Redis URL: redis://[:password@]host:6379[/db] or rediss://…'),
    dataDir: rule(cwd => decoded(raw => !raw.includes('\0'), raw => resolve(cwd, raw)), 'a directory path'),
    httpHost: fixed(checked(raw => isHost(raw) || (raw.includes(':') && IPV6.test(raw))), 'a host name or IP address to listen on, e.g. 127.0.0.1 or 0.0.0.0'),
    httpPort: fixed(decoded(raw => portIn(raw, 0), Number), 'an integer port 0–65535 (0: any free port)'),
    applicationId: fixed(
      checked(raw => /^[A-Za-z0-9._-]{1,200}$/.test(raw) && raw !== '.' && raw !== '..'),
      '1–200 characters of letters, digits, ".", "_" and "-" (it names topics, a consumer group and a directory)'
    ),
    processingGuarantee: fixed(oneOf(lists.processingGuarantees), lists.processingGuarantees.join(' or ')),
    onStreamError: fixed(oneOf(lists.streamErrorPolicies), lists.streamErrorPolicies.join(' or ')),
    autoOffsetReset: fixed(oneOf(lists.autoOffsetResets), lists.autoOffsetResets.join(', ')),
    partitions: fixed(
      decoded(raw => /^\d{1,6}$/.test(raw) && Number(raw) >= 1 && Number(raw) <= lists.maxPartitions, Number),
      `an integer from 1 to ${lists.maxPartitions}`
    ),
    logLevel: fixed(oneOf(lists.logLevels), `one of ${lists.logLevels.join(', ')}`),
    logFormat: fixed(oneOf(lists.logFormats), `one of ${lists.logFormats.join(', ')}`),
    metricsPort: fixed(decoded(raw => portIn(raw, 0), Number), 'an integer port 0–65535'),
    topicPrefix: fixed(Type.String({ pattern: '^[A-Za-z0-9._-]{1,100}$' }), 'up to 100 characters of letters, digits, ".", "_" and "-"'),
    rulesFile: file('a readable rule set file'),
    authIssuer: fixed(checked(raw => urlWith(raw, ['http:', 'https:'])), 'an http(s) URL'),
    authJwksUrl: fixed(checked(raw => urlWith(raw, ['http:', 'https:'])), 'an http(s) URL'),
    authAudience: fixed(Type.String({ pattern: '^[\\x21-\\x7e]{1,200}$' }), '1–200 printable characters without spaces'),
    apiRateLimit: fixed(
      decoded(
        raw => raw === 'off' || (/^\d{1,9}\/\d{1,5}s$/.test(raw) && Number(raw.split('/')[0]) >= 1 && Number(raw.slice(raw.indexOf('/') + 1, -1)) >= 1 && Number(raw.slice(raw.indexOf('/') + 1, -1)) <= 3600),
        raw => raw === 'off' ? null : { max: Number(raw.split('/')[0]), windowMs: Number(raw.slice(raw.indexOf('/') + 1, -1)) * 1000 }
      ),
      '<requests>/<seconds>s with 1 ≤ seconds ≤ 3600 (e.g. 1000/1s, 30000/60s), or off'
    ),
    apiCorsOrigins: fixed(
      decoded(
        raw => raw.trim() === '*' || raw.split(',').map(o => o.trim()).every(o => /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(o)),
        raw => raw.trim() === '*' ? '*' : raw.split(',').map(o => o.trim())
      ),
      'comma-separated origins (scheme://host[:port], no path), or *'
    ),
    notificationsFile: file('a readable notifications file'),
    archiveStallSeconds: fixed(decoded(raw => /^\d{1,6}$/.test(raw) && Number(raw) >= 1, Number), 'an integer number of seconds from 1 to 999999'),
    archiveMaxLagRecords: fixed(decoded(raw => /^\d{1,12}$/.test(raw) && Number(raw) >= 1, Number), 'an integer number of records from 1'),
    numStandbyReplicas: fixed(decoded(raw => /^\d{1,2}$/.test(raw), Number), 'an integer from 0 to 99'),
    acceptableRecoveryLag: fixed(decoded(raw => /^\d{1,12}$/.test(raw), Number), 'an integer number of records from 0'),
    maxWarmupReplicas: fixed(decoded(raw => /^\d{1,4}$/.test(raw), Number), 'an integer from 0 to 9999'),
    queryMaxStalenessRecords: fixed(decoded(raw => /^\d{1,12}$/.test(raw), Number), 'an integer number of records from 0'),
    probingRebalanceIntervalMs: fixed(decoded(raw => /^\d{1,10}$/.test(raw) && Number(raw) >= 1000, Number), 'an integer number of milliseconds from 1000'),
    rebalanceProtocol: fixed(oneOf(lists.rebalanceProtocols), lists.rebalanceProtocols.join(' or ')),
    memoryBudgetMib: fixed(
      decoded(raw => /^\d{1,9}$/.test(raw) && Number(raw) >= lists.memoryBudgetMib.min && Number(raw) <= lists.memoryBudgetMib.max, Number),
      `an integer number of MiB from ${lists.memoryBudgetMib.min} to ${lists.memoryBudgetMib.max}`
    )
  }
}
