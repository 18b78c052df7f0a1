// The notifications file (REWARDS_NOTIFICATIONS_FILE): which partner webhooks get which confirmed
// records, and how hard to try. Validated once at start-up with a TypeBox schema; every problem
// names the file and the field. Signing secrets are never in the file: each endpoint names the
// environment variable that holds its secret (`secretEnv`), read here and kept in a Secret that
// prints as '***'.
//
// Routing (see docs/notifications.md): `kinds` picks the topics. `sources` filters reward-confirmed
// records on their `source` (HOTEL, CASINO, DINING, or "*" for all). A redeem-confirmed record has
// neither a source nor a channel (docs/contract.md "Outputs": the decision does not copy the request's channel), so
// it is routed by kind alone: every endpoint whose kinds include redeem-confirmed gets every
// redemption decision. An endpoint that only takes redeem-confirmed and names sources is refused
// as a configuration that cannot mean what it says.
//
// It lives in lib/, beside the other settings, rather than in processors/notifications: the file
// is validated with the rest of the configuration at start-up (lib/config.ts), and lib/ imports no
// application (docs/engine.md "Public entry"; eslint.config.js enforces it). The notifier
// takes the validated endpoints from here.
import { readFileSync } from 'node:fs'
import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { RewardsError } from './errors.ts'
import { describeSchemaErrors, fieldName } from './schema-issues.ts'

export const NOTIFICATION_KINDS = Object.freeze(['reward-confirmed', 'redeem-confirmed'] as const)
export type NotificationKind = typeof NOTIFICATION_KINDS[number]
export type SourceFilter = 'HOTEL' | 'CASINO' | 'DINING' | '*'

/** Shortest signing secret accepted (bytes of UTF-8): HMAC-SHA256 keys below 128 bits are weak. */
export const MIN_SECRET_BYTES = 16

const Ms = (minimum: number, maximum: number, description: string) => Type.Integer({ minimum, maximum, description })

export const EndpointSchema = Type.Object({
  /** Names the endpoint in metrics, logs, DLQ headers and the idempotency key: keep it stable. */
  id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
  url: Type.String({ minLength: 1, maxLength: 2048 }),
  /** Environment variable holding the HMAC-SHA256 secret (never the secret itself). */
  secretEnv: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' }),
  kinds: Type.Array(Type.Union([Type.Literal('reward-confirmed'), Type.Literal('redeem-confirmed')]), { minItems: 1, uniqueItems: true }),
  /** reward-confirmed only; default ["*"]. */
  sources: Type.Optional(Type.Array(Type.Union([Type.Literal('HOTEL'), Type.Literal('CASINO'), Type.Literal('DINING'), Type.Literal('*')]), { minItems: 1, uniqueItems: true })),
  timeoutMs: Type.Optional(Ms(10, 120_000, 'per attempt')),
  /** Attempts in all, the first included; default 8. */
  maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  /** Deliveries in flight at once (each with its retries); default 4. */
  concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
  /** Deliveries waiting for a slot; the consumer pauses before this fills. Default 1000. */
  maxQueued: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  backoffInitialMs: Type.Optional(Ms(1, 3_600_000, 'first retry delay')),
  backoffMaxMs: Type.Optional(Ms(1, 3_600_000, 'longest retry delay')),
  /** Consecutive failed calls that open the circuit; default 5. */
  breakerFailureThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  /** How long the circuit stays open before a trial call; default 30000. */
  breakerOpenMs: Type.Optional(Ms(1, 3_600_000, 'open duration')),
  /** Time budget of one delivery, waits for the open circuit included; then the DLQ. Default
   *  900000 (15 minutes), and at least breakerOpenMs + timeoutMs. */
  maxDeliveryMs: Type.Optional(Ms(1000, 604_800_000, 'delivery time budget'))
}, { additionalProperties: false })

export const NotificationsFileSchema = Type.Object({
  endpoints: Type.Array(EndpointSchema, { maxItems: 100 })
}, { additionalProperties: false })

export type EndpointFile = Static<typeof EndpointSchema>

/** A signing secret: readable through reveal() only; prints, logs and serializes as '***'. */
export class Secret {
  readonly #value: string
  constructor (value: string) { this.#value = value }
  reveal (): string { return this.#value }
  toString (): string { return '***' }
  toJSON (): string { return '***' }
  [Symbol.for('nodejs.util.inspect.custom')] (): string { return 'Secret(***)' }
}

export interface EndpointConfig {
  readonly id: string
  readonly url: string
  readonly secretEnv: string
  readonly secret: Secret
  readonly kinds: ReadonlySet<NotificationKind>
  /** null: every source. */
  readonly sources: ReadonlySet<Exclude<SourceFilter, '*'>> | null
  readonly timeoutMs: number
  readonly maxAttempts: number
  readonly concurrency: number
  readonly maxQueued: number
  readonly backoffInitialMs: number
  readonly backoffMaxMs: number
  readonly breakerFailureThreshold: number
  readonly breakerOpenMs: number
  readonly maxDeliveryMs: number
}

export interface NotificationsConfig {
  /** Absolute path of the file, for messages. */
  readonly file: string
  readonly endpoints: readonly EndpointConfig[]
}

export const ENDPOINT_DEFAULTS = Object.freeze({
  timeoutMs: 5000,
  maxAttempts: 8,
  concurrency: 4,
  maxQueued: 1000,
  backoffInitialMs: 500,
  backoffMaxMs: 60_000,
  breakerFailureThreshold: 5,
  breakerOpenMs: 30_000,
  maxDeliveryMs: 900_000
})

const validator = Compile(NotificationsFileSchema)

function invalid (origin: string, field: string, problem: string): never {
  throw new RewardsError('CONFIG_INVALID', `notifications file ${origin}: ${field} ${problem}`, { details: { origin, field } })
}

/** Validates a parsed notifications file and resolves each endpoint's secret from `env`. Throws
 *  CONFIG_INVALID naming `origin` and the first bad field. */
export function parseNotificationsConfig (json: unknown, origin: string, env: Readonly<Record<string, string | undefined>>): NotificationsConfig {
  if (!validator.Check(json)) {
    const errors = validator.Errors(json)
    const first = errors.find(e => e.keyword !== 'boolean')
    throw new RewardsError('CONFIG_INVALID', `notifications file ${origin}: ${describeSchemaErrors(errors)}`,
      { details: { origin, field: first === undefined ? '' : fieldName(first.instancePath) } })
  }
  const ids = new Set<string>()
  const endpoints = json.endpoints.map((e, i): EndpointConfig => {
    const at = `endpoints.${i}`
    if (ids.has(e.id)) invalid(origin, `${at}.id`, `repeats endpoint id ${e.id}`)
    ids.add(e.id)
    let url: URL
    try {
      url = new URL(e.url)
    } catch {
      invalid(origin, `${at}.url`, `is not a URL (${JSON.stringify(e.url)})`)
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') invalid(origin, `${at}.url`, 'must be an http(s) URL')
    if (url.username !== '' || url.password !== '') invalid(origin, `${at}.url`, 'must not carry credentials (the signature authenticates the platform)')
    const raw = env[e.secretEnv]
    if (raw === undefined || raw === '') invalid(origin, `${at}.secretEnv`, `names ${e.secretEnv}, which is not set in the environment`)
    if (Buffer.byteLength(raw, 'utf8') < MIN_SECRET_BYTES) invalid(origin, `${at}.secretEnv`, `names ${e.secretEnv}, whose value is shorter than ${MIN_SECRET_BYTES} bytes`)
    const sources = e.sources ?? ['*']
    if (!e.kinds.includes('reward-confirmed') && !sources.includes('*')) {
      invalid(origin, `${at}.sources`, 'filters reward-confirmed only (redeem-confirmed carries no source), but kinds does not include reward-confirmed')
    }
    const backoffInitialMs = e.backoffInitialMs ?? ENDPOINT_DEFAULTS.backoffInitialMs
    const backoffMaxMs = e.backoffMaxMs ?? Math.max(backoffInitialMs, ENDPOINT_DEFAULTS.backoffMaxMs)
    if (backoffMaxMs < backoffInitialMs) invalid(origin, `${at}.backoffMaxMs`, `must be at least backoffInitialMs (${backoffInitialMs})`)
    const timeoutMs = e.timeoutMs ?? ENDPOINT_DEFAULTS.timeoutMs
    const breakerOpenMs = e.breakerOpenMs ?? ENDPOINT_DEFAULTS.breakerOpenMs
    // A budget shorter than one open period plus the trial call would dead-letter what waits for
    // one trial: every brief hiccup would cost records.
    const minDeliveryMs = breakerOpenMs + timeoutMs
    if (e.maxDeliveryMs !== undefined && e.maxDeliveryMs < minDeliveryMs) {
      invalid(origin, `${at}.maxDeliveryMs`, `must be at least breakerOpenMs + timeoutMs (${minDeliveryMs}): a shorter budget dead-letters what waits for one trial call`)
    }
    return Object.freeze({
      id: e.id,
      url: url.toString(),
      secretEnv: e.secretEnv,
      secret: new Secret(raw),
      kinds: new Set(e.kinds),
      sources: sources.includes('*') ? null : new Set(sources as Array<Exclude<SourceFilter, '*'>>),
      timeoutMs,
      maxAttempts: e.maxAttempts ?? ENDPOINT_DEFAULTS.maxAttempts,
      concurrency: e.concurrency ?? ENDPOINT_DEFAULTS.concurrency,
      maxQueued: e.maxQueued ?? ENDPOINT_DEFAULTS.maxQueued,
      backoffInitialMs,
      backoffMaxMs,
      breakerFailureThreshold: e.breakerFailureThreshold ?? ENDPOINT_DEFAULTS.breakerFailureThreshold,
      breakerOpenMs,
      maxDeliveryMs: e.maxDeliveryMs ?? Math.max(ENDPOINT_DEFAULTS.maxDeliveryMs, minDeliveryMs)
    })
  })
  return Object.freeze({ file: origin, endpoints: Object.freeze(endpoints) })
}

/** Reads and validates a notifications file (JSON). */
export function loadNotificationsConfig (path: string, env: Readonly<Record<string, string | undefined>>): NotificationsConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (cause) {
    throw new RewardsError('CONFIG_INVALID', `notifications file ${path}: cannot be read (${(cause as Error).message})`, { cause })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    throw new RewardsError('CONFIG_INVALID', `notifications file ${path}: not valid JSON (${(cause as Error).message})`, { cause })
  }
  return parseNotificationsConfig(json, path, env)
}
