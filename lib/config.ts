// The platform's configuration (docs/contract.md "Configuration"): every REWARDS_* environment variable, each overridable by
// a command-line flag of the same meaning, validated once at start-up into a typed, frozen object.
// Nothing else reads process.env: commands call loadConfig() with the environment and their flags
// and pass the result down.
//
// Rules:
// - A flag beats its variable; an empty value (variable or flag) means "unset", so
//   `--kafka-brokers ''` switches a configured environment back to the embedded log.
// - Anything unset falls back to the embedded default: no brokers → embedded log in
//   <dataDir>/log; no database URL → embedded PostgreSQL (PGlite) in <dataDir>/pg; no Redis URL →
//   in-process cache.
// - Every bad value is reported at once, each message naming the variable (or the flag, when the
//   value came from one) and what is allowed; loadConfig() then throws CONFIG_INVALID. Each value
//   is checked and decoded by TypeBox (Value.Check / Value.Decode) against its schema in
//   lib/config-schema.ts.
// - Secrets (passwords in URLs) never leave this file unmasked in anything meant for printing:
//   describeConfig() and maskUrl() are what logs and `rewards config` use.
import { join, resolve } from 'node:path'
import { Value } from 'typebox/value'
import { settingRules } from './config-schema.ts'
import { RewardsError } from './errors.ts'
import { loadNotificationsConfig, type NotificationsConfig } from './notifications-config.ts'
import { DEFAULT_MEMORY_BUDGET_MIB, MAX_MEMORY_BUDGET_MIB, MIN_MEMORY_BUDGET_MIB } from './memory-budget.ts'

export type ProcessingGuarantee = 'exactly_once_v2' | 'at_least_once'
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
/** SASL mechanisms of the Kafka client (@platformatic/kafka 2.12) that work with a username and a
 *  password. OAUTHBEARER (and so AWS_MSK_IAM, which rides on it) needs a token provider and GSSAPI
 *  a custom authenticator: neither is offered. */
export type KafkaSaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512'

/** auto: pretty (pino-pretty, colours) when stderr is a terminal, JSON lines otherwise. */
export type LogFormat = 'auto' | 'pretty' | 'json'
export const LOG_FORMATS: readonly LogFormat[] = Object.freeze(['auto', 'pretty', 'json'])
export const LOG_LEVELS: readonly LogLevel[] = Object.freeze(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
export const PROCESSING_GUARANTEES: readonly ProcessingGuarantee[] = Object.freeze(['exactly_once_v2', 'at_least_once'])
/** What the processor does when its stream thread dies (docs/engine.md "Faults and recovery"). */
export type StreamErrorPolicy = 'replace-thread' | 'shutdown-instance'
export const STREAM_ERROR_POLICIES: readonly StreamErrorPolicy[] = Object.freeze(['replace-thread', 'shutdown-instance'])
/** How the stream application's group rebalances (topology/runtime/streams-config.ts). */
export type EngineRebalanceProtocol = 'cooperative' | 'eager'
export const ENGINE_REBALANCE_PROTOCOLS: readonly EngineRebalanceProtocol[] = Object.freeze(['cooperative', 'eager'])
/** Kafka's auto.offset.reset values (log/log-port.ts OffsetResetPolicy). */
export type AutoOffsetReset = 'earliest' | 'latest' | 'none'
export const AUTO_OFFSET_RESETS: readonly AutoOffsetReset[] = Object.freeze(['earliest', 'latest', 'none'])
export const KAFKA_SASL_MECHANISMS: readonly KafkaSaslMechanism[] = Object.freeze(['plain', 'scram-sha-256', 'scram-sha-512'])

export interface RewardsConfig {
  /** Kafka bootstrap brokers ('host:port'); null → the embedded log in `logDir`. */
  readonly kafkaBrokers: readonly string[] | null
  /** SASL mechanism for Kafka; null → no SASL. Set together with username and password. */
  readonly kafkaSaslMechanism: KafkaSaslMechanism | null
  /** Secret: never printed (describeConfig shows ***). */
  readonly kafkaSaslUsername: string | null
  /** Secret: never printed (describeConfig shows ***). */
  readonly kafkaSaslPassword: string | null
  /** TLS to the brokers (MSK: true). */
  readonly kafkaTls: boolean
  /** Absolute path of a PEM file of CA certificates to trust for Kafka TLS (private CAs); null →
   *  Node's bundled public CAs (enough for MSK). */
  readonly kafkaTlsCaFile: string | null
  /** PostgreSQL URL of the archive; null → embedded PostgreSQL (PGlite) in `pgDir`. Secret: print
   *  only through maskUrl(). */
  readonly databaseUrl: string | null
  /** Redis URL of the cache; null → in-process cache. Secret: print only through maskUrl(). */
  readonly redisUrl: string | null
  /** Absolute. */
  readonly dataDir: string
  readonly httpHost: string
  /** 0 = any free port (the address actually bound is logged). */
  readonly httpPort: number
  readonly applicationId: string
  readonly processingGuarantee: ProcessingGuarantee
  /** replace-thread: a stream thread that dies is replaced (at most 5 times in 10 minutes, then as
   *  shutdown-instance); shutdown-instance: the process shuts down and exits 1. */
  readonly onStreamError: StreamErrorPolicy
  /** Where a consumer group starts on a partition without a valid committed offset (none, or out
   *  of the log's range): Kafka's auto.offset.reset; 'none' stops with LOG_OFFSET_OUT_OF_RANGE. */
  readonly autoOffsetReset: AutoOffsetReset
  /** Partitions of the topics the platform creates. */
  readonly partitions: number
  readonly logLevel: LogLevel
  /** How log lines are written (docs/observability.md "Logs"). */
  readonly logFormat: LogFormat
  /** Set: GET /metrics is served on its own listener (httpHost:metricsPort) and not on the main
   *  one. Null: on the main listener. */
  readonly metricsPort: number | null
  /** Prepended to the six platform topic names (tests, shared clusters). Default ''. */
  readonly topicPrefix: string
  /** Absolute path of a rule set file; null → the built-in default (rules/2026-1.json). */
  readonly rulesFile: string | null
  /** Expected token issuer (`iss`); null → the built-in server's own base URL. */
  readonly authIssuer: string | null
  /** An external IdP's JWKS URL (Keycloak, Cognito); null → the built-in token server and keys. */
  readonly authJwksUrl: string | null
  /** Expected token audience (`aud`); null → 'rewards-api'. */
  readonly authAudience: string | null
  /** Per-client limit of each /v1 route (requests per window); null → no limit; undefined in
   *  the type only for configurations built by hand (tests): the API's default then applies. */
  readonly apiRateLimit?: { readonly max: number, readonly windowMs: number } | null
  /** Origins allowed by CORS on the public API ('*': any); null → CORS off (the default). */
  readonly apiCorsOrigins?: readonly string[] | '*' | null
  /** Absolute path of the partner webhooks file; null → the notifications role does nothing. */
  readonly notificationsFile: string | null
  /** The archiver is stuck when its lag is > 0 and it has made no progress for this long
   *  (docs/archive.md "Stuck or behind"); undefined in the type for hand-built configurations. */
  readonly archiveStallSeconds?: number
  /** The archiver is behind when its lag exceeds this many records. */
  readonly archiveMaxLagRecords?: number
  /** Standby replicas per stateful task (docs/engine.md "Standby tasks"); undefined in the type
   *  for hand-built configurations (the engine's default, 1, applies). */
  readonly numStandbyReplicas?: number
  /** Records an instance may lag on a task and still take it over at once. */
  readonly acceptableRecoveryLag?: number
  /** Warm-up replicas in the whole group at once (0: tasks move at once). */
  readonly maxWarmupReplicas?: number
  /** Rebalance again this long after an assignment with warm-ups. */
  readonly probingRebalanceIntervalMs?: number
  /** cooperative or eager (docs/engine.md "Group protocol and rebalancing"); undefined in the
   *  type for hand-built configurations (the engine's default, cooperative, applies). */
  readonly rebalanceProtocol?: EngineRebalanceProtocol
  /** Balance and activity answers a standby replica may give while the active cannot: at most
   *  this many changelog records behind (0: only a copy holding exactly the committed state). */
  readonly queryMaxStalenessRecords?: number
  /** Memory budget of a `rewards start` process, MiB (lib/memory-budget.ts, docs/engine.md
   *  "Memory budget"): the V8 old-space cap and MALLOC_ARENA_MAX the launcher sets, the stream
   *  thread's cache and RocksDB's share; undefined in the type for hand-built configurations. */
  readonly memoryBudgetMib?: number
  /** That file, validated, with each endpoint's secret read from the variable it names (masked
   *  whenever printed). */
  readonly notifications: NotificationsConfig | null
  /** `<dataDir>/log`: the embedded log (used when kafkaBrokers is null). */
  readonly logDir: string
  /** `<dataDir>/pg`: the embedded PostgreSQL (used when databaseUrl is null). */
  readonly pgDir: string
  /** `<dataDir>/state`: the state directory (`<stateDir>/<applicationId>/<task>/<store>`). */
  readonly stateDir: string
  /** Where each setting came from. */
  readonly sources: Readonly<Record<SettingKey, 'flag' | 'env' | 'default'>>
}

export type SettingKey =
  | 'kafkaBrokers' | 'kafkaSaslMechanism' | 'kafkaSaslUsername' | 'kafkaSaslPassword' | 'kafkaTls' | 'kafkaTlsCaFile' | 'databaseUrl' | 'redisUrl' | 'dataDir' | 'httpHost' | 'httpPort' | 'applicationId'
  | 'processingGuarantee' | 'onStreamError' | 'autoOffsetReset' | 'partitions' | 'logLevel' | 'logFormat' | 'metricsPort' | 'topicPrefix' | 'rulesFile'
  | 'authIssuer' | 'authJwksUrl' | 'authAudience' | 'apiRateLimit' | 'apiCorsOrigins' | 'notificationsFile'
  | 'archiveStallSeconds' | 'archiveMaxLagRecords'
  | 'numStandbyReplicas' | 'acceptableRecoveryLag' | 'maxWarmupReplicas' | 'probingRebalanceIntervalMs' | 'rebalanceProtocol' | 'memoryBudgetMib'
  | 'queryMaxStalenessRecords'

export interface SettingSpec {
  readonly key: SettingKey
  readonly env: string
  /** Long flag without the leading dashes, e.g. 'kafka-brokers'. */
  readonly flag: string
  /** Placeholder of the flag's value in --help. */
  readonly valueName: string
  readonly description: string
  /** What the default is, in words (for --help and docs). */
  readonly defaultText: string
  /** Secrets are masked whenever printed. */
  readonly secret?: boolean
}

/** The settings, in the order they are documented and printed. */
export const SETTINGS: readonly SettingSpec[] = Object.freeze([
  { key: 'kafkaBrokers', env: 'REWARDS_KAFKA_BROKERS', flag: 'kafka-brokers', valueName: 'host:port,…', description: 'Kafka bootstrap brokers, comma-separated', defaultText: 'unset → embedded log in <data-dir>/log' },
  { key: 'kafkaSaslMechanism', env: 'REWARDS_KAFKA_SASL_MECHANISM', flag: 'kafka-sasl-mechanism', valueName: 'mechanism', description: `Kafka SASL mechanism (${KAFKA_SASL_MECHANISMS.join(', ')}); needs username and password`, defaultText: 'unset → no SASL' },
  { key: 'kafkaSaslUsername', env: 'REWARDS_KAFKA_SASL_USERNAME', flag: 'kafka-sasl-username', valueName: 'name', description: 'Kafka SASL username', defaultText: 'unset', secret: true },
  { key: 'kafkaSaslPassword', env: 'REWARDS_KAFKA_SASL_PASSWORD', flag: 'kafka-sasl-password', valueName: 'password', description: 'Kafka SASL password (prefer the variable: flags show in ps)', defaultText: 'unset', secret: true },
  { key: 'kafkaTls', env: 'REWARDS_KAFKA_TLS', flag: 'kafka-tls', valueName: 'true|false', description: 'TLS to the Kafka brokers (MSK: true)', defaultText: 'false' },
  { key: 'kafkaTlsCaFile', env: 'REWARDS_KAFKA_TLS_CA_FILE', flag: 'kafka-tls-ca-file', valueName: 'path', description: 'PEM file of CA certificates to trust for Kafka TLS (private CAs)', defaultText: 'unset → Node\'s public CAs' },
  { key: 'databaseUrl', env: 'REWARDS_DATABASE_URL', flag: 'database-url', valueName: 'url', description: 'PostgreSQL URL of the archive (postgres://…)', defaultText: 'unset → embedded PostgreSQL in <data-dir>/pg', secret: true },
  { key: 'redisUrl', env: 'REWARDS_REDIS_URL', flag: 'redis-url', valueName: 'url', description: 'Redis URL of the cache (redis:// or rediss://)', defaultText: 'unset → in-process cache', secret: true },
  { key: 'dataDir', env: 'REWARDS_DATA_DIR', flag: 'data-dir', valueName: 'dir', description: 'state stores and embedded data', defaultText: './data' },
  { key: 'httpHost', env: 'REWARDS_HTTP_HOST', flag: 'http-host', valueName: 'host', description: 'HTTP listen address', defaultText: '127.0.0.1' },
  { key: 'httpPort', env: 'REWARDS_HTTP_PORT', flag: 'http-port', valueName: 'port', description: 'HTTP listen port (0: any free port)', defaultText: '8080' },
  { key: 'applicationId', env: 'REWARDS_APPLICATION_ID', flag: 'application-id', valueName: 'id', description: 'consumer group, changelog prefix and transactional id prefix', defaultText: 'rewards' },
  { key: 'processingGuarantee', env: 'REWARDS_PROCESSING_GUARANTEE', flag: 'processing-guarantee', valueName: 'guarantee', description: 'exactly_once_v2 or at_least_once', defaultText: 'exactly_once_v2' },
  { key: 'onStreamError', env: 'REWARDS_ON_STREAM_ERROR', flag: 'on-stream-error', valueName: 'policy', description: 'when the stream thread dies: replace-thread (at most 5 times in 10 minutes) or shutdown-instance (exit 1)', defaultText: 'replace-thread' },
  { key: 'autoOffsetReset', env: 'REWARDS_AUTO_OFFSET_RESET', flag: 'auto-offset-reset', valueName: 'policy', description: 'where a consumer group starts without a valid committed offset (none, or out of range): earliest, latest or none (stop)', defaultText: 'earliest' },
  { key: 'partitions', env: 'REWARDS_PARTITIONS', flag: 'partitions', valueName: 'n', description: 'partitions of the topics it creates', defaultText: '12' },
  { key: 'logLevel', env: 'REWARDS_LOG_LEVEL', flag: 'log-level', valueName: 'level', description: `log level (${LOG_LEVELS.join(', ')})`, defaultText: 'info' },
  { key: 'logFormat', env: 'REWARDS_LOG_FORMAT', flag: 'log-format', valueName: 'format', description: `log format (${LOG_FORMATS.join(', ')}): pretty is colourised text, json one object per line`, defaultText: 'auto: pretty on a terminal, json otherwise' },
  { key: 'metricsPort', env: 'REWARDS_METRICS_PORT', flag: 'metrics-port', valueName: 'port', description: 'serve GET /metrics on this port instead of the main listener', defaultText: 'unset → on the main listener' },
  { key: 'topicPrefix', env: 'REWARDS_TOPIC_PREFIX', flag: 'topic-prefix', valueName: 'prefix', description: 'prefix of the platform topic names (tests, shared clusters)', defaultText: 'none' },
  { key: 'rulesFile', env: 'REWARDS_RULES_FILE', flag: 'rules-file', valueName: 'path', description: 'rule set file (JSON)', defaultText: 'built-in rules/2026-1.json' },
  { key: 'authIssuer', env: 'REWARDS_AUTH_ISSUER', flag: 'auth-issuer', valueName: 'url', description: 'expected token issuer (iss); with an external IdP, its issuer', defaultText: 'unset → this instance\'s base URL (built-in token server)' },
  { key: 'authJwksUrl', env: 'REWARDS_AUTH_JWKS_URL', flag: 'auth-jwks-url', valueName: 'url', description: 'external IdP JWKS URL (Keycloak, Cognito); replaces the built-in token server', defaultText: 'unset → built-in token server' },
  { key: 'authAudience', env: 'REWARDS_AUTH_AUDIENCE', flag: 'auth-audience', valueName: 'aud', description: 'expected token audience (aud)', defaultText: 'rewards-api' },
  { key: 'apiRateLimit', env: 'REWARDS_API_RATE_LIMIT', flag: 'api-rate-limit', valueName: '<n>/<seconds>s|off', description: 'requests per client to each /v1 route per window (429 + Retry-After beyond)', defaultText: '1000/1s' },
  { key: 'apiCorsOrigins', env: 'REWARDS_API_CORS_ORIGINS', flag: 'api-cors-origins', valueName: 'origin,…|*', description: 'origins a browser may call the public API from (CORS), comma-separated, or * for any', defaultText: 'unset → CORS off' },
  { key: 'notificationsFile', env: 'REWARDS_NOTIFICATIONS_FILE', flag: 'notifications-file', valueName: 'path', description: 'partner webhooks file (JSON, see docs/notifications.md)', defaultText: 'unset → no notifications' },
  { key: 'archiveStallSeconds', env: 'REWARDS_ARCHIVE_STALL_SECONDS', flag: 'archive-stall-seconds', valueName: 'seconds', description: 'archiver reported stuck (readiness degraded) after this long without progress while behind', defaultText: '120' },
  { key: 'archiveMaxLagRecords', env: 'REWARDS_ARCHIVE_MAX_LAG_RECORDS', flag: 'archive-max-lag-records', valueName: 'n', description: 'archiver reported behind (readiness degraded) above this archive lag', defaultText: '100000' },
  { key: 'numStandbyReplicas', env: 'REWARDS_NUM_STANDBY_REPLICAS', flag: 'num-standby-replicas', valueName: 'n', description: 'standby replicas per stateful task, kept current on other instances (docs/engine.md "Standby tasks")', defaultText: '1' },
  { key: 'acceptableRecoveryLag', env: 'REWARDS_ACCEPTABLE_RECOVERY_LAG', flag: 'acceptable-recovery-lag', valueName: 'records', description: 'an instance this close to a task\'s changelog end may take the task over at once', defaultText: '10000' },
  { key: 'maxWarmupReplicas', env: 'REWARDS_MAX_WARMUP_REPLICAS', flag: 'max-warmup-replicas', valueName: 'n', description: 'warm-up replicas in the whole group at once (0: a task moved for balance restores at once)', defaultText: '2' },
  { key: 'probingRebalanceIntervalMs', env: 'REWARDS_PROBING_REBALANCE_INTERVAL_MS', flag: 'probing-rebalance-interval-ms', valueName: 'ms', description: 'rebalance again this long after an assignment with warm-ups (they take over once caught up)', defaultText: '600000' },
  { key: 'rebalanceProtocol', env: 'REWARDS_REBALANCE_PROTOCOL', flag: 'rebalance-protocol', valueName: 'cooperative|eager', description: 'cooperative: tasks that stay keep processing and answering queries during a rebalance; eager: every rebalance pauses every task. All instances must use the same (switching needs all stopped: docs/engine.md "Group protocol and rebalancing")', defaultText: 'cooperative' },
  { key: 'queryMaxStalenessRecords', env: 'REWARDS_QUERY_MAX_STALENESS_RECORDS', flag: 'query-max-staleness-records', valueName: 'records', description: 'a standby replica answers balance and activity queries the active cannot if at most this many changelog records behind (0: only a fully caught-up copy); such answers say so in x-rewards-served-by / x-rewards-staleness-records', defaultText: '0' },
  { key: 'memoryBudgetMib', env: 'REWARDS_MEMORY_BUDGET_MIB', flag: 'memory-budget-mib', valueName: 'MiB', description: `memory budget of the process (${MIN_MEMORY_BUDGET_MIB}–${MAX_MEMORY_BUDGET_MIB}): V8 old space 1/2, stream cache 1/16, RocksDB 1/8, 2 malloc arenas (docs/engine.md "Memory budget")`, defaultText: String(DEFAULT_MEMORY_BUDGET_MIB) }
] satisfies SettingSpec[])

export const DEFAULTS = Object.freeze({
  dataDir: './data',
  httpHost: '127.0.0.1',
  httpPort: 8080,
  applicationId: 'rewards',
  processingGuarantee: 'exactly_once_v2' as ProcessingGuarantee,
  onStreamError: 'replace-thread' as StreamErrorPolicy,
  autoOffsetReset: 'earliest' as AutoOffsetReset,
  partitions: 12,
  logLevel: 'info' as LogLevel,
  logFormat: 'auto' as LogFormat,
  topicPrefix: '',
  archiveStallSeconds: 120,
  archiveMaxLagRecords: 100_000,
  numStandbyReplicas: 1,
  acceptableRecoveryLag: 10_000,
  maxWarmupReplicas: 2,
  probingRebalanceIntervalMs: 600_000,
  rebalanceProtocol: 'cooperative' as EngineRebalanceProtocol,
  queryMaxStalenessRecords: 0,
  memoryBudgetMib: DEFAULT_MEMORY_BUDGET_MIB
})

/** REWARDS_API_RATE_LIMIT unset (the same as API_DEFAULTS.apiRateLimit of api/api-settings.ts). */
const DEFAULT_API_RATE_LIMIT = Object.freeze({ max: 1000, windowMs: 1000 })

/** Upper bound on REWARDS_PARTITIONS: far above what one group of properties needs, and low
 *  enough that a typo (120000) is caught instead of creating 120 000 partitions. */
export const MAX_PARTITIONS = 10_000

export interface ConfigSources {
  /** The environment (normally process.env, passed in by the command). */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Flag values by setting key, as given on the command line (undefined: not given). */
  readonly flags?: Readonly<Partial<Record<SettingKey, string | undefined>>>
  /** Relative paths resolve against this; default process.cwd(). */
  readonly cwd?: string
}

/** The rule of each setting (lib/config-schema.ts): a TypeBox schema and what it allows. */
const RULES = settingRules({
  saslMechanisms: KAFKA_SASL_MECHANISMS,
  processingGuarantees: PROCESSING_GUARANTEES,
  streamErrorPolicies: STREAM_ERROR_POLICIES,
  rebalanceProtocols: ENGINE_REBALANCE_PROTOCOLS,
  autoOffsetResets: AUTO_OFFSET_RESETS,
  logLevels: LOG_LEVELS,
  logFormats: LOG_FORMATS,
  maxPartitions: MAX_PARTITIONS,
  memoryBudgetMib: { min: MIN_MEMORY_BUDGET_MIB, max: MAX_MEMORY_BUDGET_MIB }
})

/** Query parameters that carry secrets (libpq's `password`/`sslpassword`, tokens, keys). */
const SECRET_PARAMETER = /pass|secret|token|key|auth|credential|signature/i

/** Masks the password of a URL ('postgres://app:***@db:5432/x') and the values of query
 *  parameters named like secrets ('?sslpassword=***'); unparsable text is masked whole. */
export function maskUrl (text: string): string {
  try {
    const url = new URL(text)
    if (url.password !== '') url.password = '***'
    for (const name of [...new Set(url.searchParams.keys())]) {
      if (SECRET_PARAMETER.test(name)) url.searchParams.set(name, '***')
    }
    return url.toString()
  } catch {
    return '***'
  }
}

function quote (value: string): string {
  return JSON.stringify(value)
}

/** Reads every setting from flags (first) and the environment, validates them all, and returns
 *  the frozen configuration. Throws RewardsError CONFIG_INVALID listing every bad value. */
export function loadConfig (sources: ConfigSources = {}): RewardsConfig {
  const env = sources.env ?? {}
  const flags = sources.flags ?? {}
  const cwd = sources.cwd ?? process.cwd()
  const values: Partial<Record<SettingKey, unknown>> = {}
  const origin: Partial<Record<SettingKey, 'flag' | 'env' | 'default'>> = {}
  const problems: string[] = []
  for (const spec of SETTINGS) {
    const flagValue = flags[spec.key]
    const envValue = env[spec.env]
    const [raw, from] = flagValue !== undefined ? [flagValue, 'flag' as const] : envValue !== undefined ? [envValue, 'env' as const] : [undefined, 'default' as const]
    const text = raw?.trim()
    if (text === undefined || text === '') {
      origin[spec.key] = 'default'
      continue
    }
    const rule = RULES[spec.key]
    const schema = rule.schema(cwd)
    if (Value.Check(schema, text)) {
      values[spec.key] = Value.Decode(schema, text)
      origin[spec.key] = from
    } else {
      const shown = spec.secret === true ? maskUrl(text) : text
      const name = from === 'flag' ? `--${spec.flag} ${quote(shown)}` : `${spec.env}=${quote(shown)}`
      problems.push(`${name} is invalid: expected ${rule.allowed(text, cwd)}`)
    }
  }
  if (problems.length > 0) {
    throw new RewardsError('CONFIG_INVALID', `Invalid configuration:\n  ${problems.join('\n  ')}`, { details: { problems } })
  }
  const dataDir = (values.dataDir as string | undefined) ?? resolve(cwd, DEFAULTS.dataDir)
  const config: RewardsConfig = {
    kafkaBrokers: (values.kafkaBrokers as readonly string[] | undefined) ?? null,
    kafkaSaslMechanism: (values.kafkaSaslMechanism as KafkaSaslMechanism | undefined) ?? null,
    kafkaSaslUsername: (values.kafkaSaslUsername as string | undefined) ?? null,
    kafkaSaslPassword: (values.kafkaSaslPassword as string | undefined) ?? null,
    kafkaTls: (values.kafkaTls as boolean | undefined) ?? false,
    kafkaTlsCaFile: (values.kafkaTlsCaFile as string | undefined) ?? null,
    databaseUrl: (values.databaseUrl as string | undefined) ?? null,
    redisUrl: (values.redisUrl as string | undefined) ?? null,
    dataDir,
    httpHost: (values.httpHost as string | undefined) ?? DEFAULTS.httpHost,
    httpPort: (values.httpPort as number | undefined) ?? DEFAULTS.httpPort,
    applicationId: (values.applicationId as string | undefined) ?? DEFAULTS.applicationId,
    processingGuarantee: (values.processingGuarantee as ProcessingGuarantee | undefined) ?? DEFAULTS.processingGuarantee,
    onStreamError: (values.onStreamError as StreamErrorPolicy | undefined) ?? DEFAULTS.onStreamError,
    autoOffsetReset: (values.autoOffsetReset as AutoOffsetReset | undefined) ?? DEFAULTS.autoOffsetReset,
    partitions: (values.partitions as number | undefined) ?? DEFAULTS.partitions,
    logLevel: (values.logLevel as LogLevel | undefined) ?? DEFAULTS.logLevel,
    logFormat: (values.logFormat as LogFormat | undefined) ?? DEFAULTS.logFormat,
    metricsPort: (values.metricsPort as number | undefined) ?? null,
    topicPrefix: (values.topicPrefix as string | undefined) ?? DEFAULTS.topicPrefix,
    rulesFile: (values.rulesFile as string | undefined) ?? null,
    authIssuer: (values.authIssuer as string | undefined) ?? null,
    authJwksUrl: (values.authJwksUrl as string | undefined) ?? null,
    authAudience: (values.authAudience as string | undefined) ?? null,
    apiRateLimit: values.apiRateLimit === undefined ? DEFAULT_API_RATE_LIMIT : values.apiRateLimit as { max: number, windowMs: number } | null,
    apiCorsOrigins: (values.apiCorsOrigins as string[] | '*' | undefined) ?? null,
    notificationsFile: (values.notificationsFile as string | undefined) ?? null,
    archiveStallSeconds: (values.archiveStallSeconds as number | undefined) ?? DEFAULTS.archiveStallSeconds,
    archiveMaxLagRecords: (values.archiveMaxLagRecords as number | undefined) ?? DEFAULTS.archiveMaxLagRecords,
    numStandbyReplicas: (values.numStandbyReplicas as number | undefined) ?? DEFAULTS.numStandbyReplicas,
    acceptableRecoveryLag: (values.acceptableRecoveryLag as number | undefined) ?? DEFAULTS.acceptableRecoveryLag,
    maxWarmupReplicas: (values.maxWarmupReplicas as number | undefined) ?? DEFAULTS.maxWarmupReplicas,
    probingRebalanceIntervalMs: (values.probingRebalanceIntervalMs as number | undefined) ?? DEFAULTS.probingRebalanceIntervalMs,
    rebalanceProtocol: (values.rebalanceProtocol as EngineRebalanceProtocol | undefined) ?? DEFAULTS.rebalanceProtocol,
    memoryBudgetMib: (values.memoryBudgetMib as number | undefined) ?? DEFAULTS.memoryBudgetMib,
    queryMaxStalenessRecords: (values.queryMaxStalenessRecords as number | undefined) ?? DEFAULTS.queryMaxStalenessRecords,
    notifications: null,
    logDir: join(dataDir, 'log'),
    pgDir: join(dataDir, 'pg'),
    stateDir: join(dataDir, 'state'),
    sources: Object.freeze(origin as Record<SettingKey, 'flag' | 'env' | 'default'>)
  }
  const name = (key: SettingKey): string => {
    const spec = SETTINGS.find(s => s.key === key)!
    return origin[key] === 'flag' ? `--${spec.flag}` : spec.env
  }
  const kafkaProblems = kafkaSecurityProblems(config, name)
  if (kafkaProblems.length > 0) {
    throw new RewardsError('CONFIG_INVALID', `Invalid configuration:\n  ${kafkaProblems.join('\n  ')}`, { details: { problems: kafkaProblems } })
  }
  if (config.notificationsFile !== null) {
    try {
      Object.assign(config, { notifications: loadNotificationsConfig(config.notificationsFile, env) })
    } catch (error) {
      throw new RewardsError('CONFIG_INVALID', `Invalid configuration:\n  ${name('notificationsFile')}: ${(error as Error).message}`, { cause: error })
    }
  }
  if (config.authJwksUrl !== null && config.authIssuer === null) {
    throw new RewardsError('CONFIG_INVALID', `Invalid configuration:\n  ${name('authJwksUrl')} is set but ${name('authIssuer')} is not: an external IdP needs both its issuer and its JWKS URL`)
  }
  if (config.metricsPort !== null && config.metricsPort !== 0 && config.metricsPort === config.httpPort) {
    throw new RewardsError('CONFIG_INVALID', `Invalid configuration:\n  ${name('metricsPort')}=${config.metricsPort} is invalid: expected a port other than ${name('httpPort')} (${config.httpPort})`)
  }
  return Object.freeze(config)
}

/** The Kafka security settings only make sense together: a mechanism needs both credentials,
 *  credentials without a mechanism would silently connect unauthenticated, and a CA file without
 *  TLS would be ignored. */
function kafkaSecurityProblems (config: RewardsConfig, name: (key: SettingKey) => string): string[] {
  const problems: string[] = []
  if (config.kafkaSaslMechanism !== null) {
    for (const key of ['kafkaSaslUsername', 'kafkaSaslPassword'] as const) {
      if (config[key] === null) problems.push(`${name('kafkaSaslMechanism')}=${config.kafkaSaslMechanism} needs ${name(key)}: it is not set`)
    }
  } else {
    for (const key of ['kafkaSaslUsername', 'kafkaSaslPassword'] as const) {
      if (config[key] !== null) problems.push(`${name(key)} is set but ${name('kafkaSaslMechanism')} is not: expected one of ${KAFKA_SASL_MECHANISMS.join(', ')}`)
    }
  }
  if (config.kafkaTlsCaFile !== null && !config.kafkaTls) {
    problems.push(`${name('kafkaTlsCaFile')} is set but ${name('kafkaTls')} is not true: the CA file is only used with TLS`)
  }
  return problems
}

export interface ConfigRow {
  readonly key: SettingKey
  readonly env: string
  readonly flag: string
  /** Printable: secrets masked, unset shown as what is used instead. */
  readonly value: string
  readonly source: 'flag' | 'env' | 'default'
}

/** The configuration as printable rows (secrets masked). The only way config values are shown. */
export function describeConfig (config: RewardsConfig): ConfigRow[] {
  const show: Record<SettingKey, string> = {
    kafkaBrokers: config.kafkaBrokers?.join(',') ?? `(embedded log in ${config.logDir})`,
    kafkaSaslMechanism: config.kafkaSaslMechanism ?? '(no SASL)',
    kafkaSaslUsername: config.kafkaSaslUsername === null ? '(unset)' : '***',
    kafkaSaslPassword: config.kafkaSaslPassword === null ? '(unset)' : '***',
    kafkaTls: String(config.kafkaTls),
    kafkaTlsCaFile: config.kafkaTlsCaFile ?? '(Node\'s public CAs)',
    databaseUrl: config.databaseUrl === null ? `(embedded PostgreSQL in ${config.pgDir})` : maskUrl(config.databaseUrl),
    redisUrl: config.redisUrl === null ? '(in-process cache)' : maskUrl(config.redisUrl),
    dataDir: config.dataDir,
    httpHost: config.httpHost,
    httpPort: String(config.httpPort),
    applicationId: config.applicationId,
    processingGuarantee: config.processingGuarantee,
    onStreamError: config.onStreamError,
    autoOffsetReset: config.autoOffsetReset,
    partitions: String(config.partitions),
    logLevel: config.logLevel,
    logFormat: config.logFormat,
    metricsPort: config.metricsPort === null ? '(on the main listener)' : String(config.metricsPort),
    topicPrefix: config.topicPrefix === '' ? '(none)' : config.topicPrefix,
    rulesFile: config.rulesFile ?? '(built-in 2026-1)',
    authIssuer: config.authIssuer === null ? '(this instance\'s base URL)' : maskUrl(config.authIssuer),
    authJwksUrl: config.authJwksUrl === null ? '(built-in token server)' : maskUrl(config.authJwksUrl),
    authAudience: config.authAudience ?? 'rewards-api',
    apiRateLimit: config.apiRateLimit === undefined ? `${DEFAULT_API_RATE_LIMIT.max}/${DEFAULT_API_RATE_LIMIT.windowMs / 1000}s` : config.apiRateLimit === null ? 'off' : `${config.apiRateLimit.max}/${config.apiRateLimit.windowMs / 1000}s`,
    apiCorsOrigins: config.apiCorsOrigins === undefined || config.apiCorsOrigins === null ? '(off)' : config.apiCorsOrigins === '*' ? '*' : config.apiCorsOrigins.join(','),
    notificationsFile: config.notificationsFile ?? '(none)',
    archiveStallSeconds: String(config.archiveStallSeconds ?? DEFAULTS.archiveStallSeconds),
    archiveMaxLagRecords: String(config.archiveMaxLagRecords ?? DEFAULTS.archiveMaxLagRecords),
    numStandbyReplicas: String(config.numStandbyReplicas ?? DEFAULTS.numStandbyReplicas),
    acceptableRecoveryLag: String(config.acceptableRecoveryLag ?? DEFAULTS.acceptableRecoveryLag),
    maxWarmupReplicas: String(config.maxWarmupReplicas ?? DEFAULTS.maxWarmupReplicas),
    probingRebalanceIntervalMs: String(config.probingRebalanceIntervalMs ?? DEFAULTS.probingRebalanceIntervalMs),
    rebalanceProtocol: config.rebalanceProtocol ?? DEFAULTS.rebalanceProtocol,
    memoryBudgetMib: String(config.memoryBudgetMib ?? DEFAULTS.memoryBudgetMib),
    queryMaxStalenessRecords: String(config.queryMaxStalenessRecords ?? DEFAULTS.queryMaxStalenessRecords)
  }
  return SETTINGS.map(spec => ({ key: spec.key, env: spec.env, flag: `--${spec.flag}`, value: show[spec.key], source: config.sources[spec.key] }))
}

/** A loggable summary of the configuration, secrets masked. */
export function safeConfigSummary (config: RewardsConfig): Record<string, string> {
  return Object.fromEntries(describeConfig(config).map(row => [row.env, row.value]))
}
