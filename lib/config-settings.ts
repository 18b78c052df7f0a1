// The platform's settings (docs/cli.md "Configuration"), one row each: its REWARDS_* variable,
// what it holds (the TypeScript type and the rule that checks and decodes its text), its default,
// how it reads in --help and how `rewards config` prints it. Everything else derives from this
// table: the RewardsConfig type and loadConfig() (lib/config.ts), the flags of every command
// (cli/cli-context.ts withConfigOptions; the flag is the key in kebab case, which is also how
// commander names the option back), `rewards config`, and the tests that walk SETTINGS.
// A new setting is one more row here (and a line in docs/cli.md "Configuration").
import {
  booleanText, brokerList, directory, directoryOrOff, listenHost, oneOf, oneOfAnyCase, originList, port, rateLimit,
  readableFile, shortText, textMatching, textWhere, urlOf, wholeNumber, type SettingRule
} from './config-schema.ts'
import type { OffsetResetPolicy } from '../log/log-port.ts'
import { maskUrl } from './mask-url.ts'
import { standardTemplateCacheDir } from './db/pglite-cache-dir.ts'
import { DEFAULT_MEMORY_BUDGET_MIB, MAX_MEMORY_BUDGET_MIB, MIN_MEMORY_BUDGET_MIB } from './memory-budget.ts'
import {
  PROCESSING_GUARANTEES, REBALANCE_PROTOCOLS as ENGINE_REBALANCE_PROTOCOLS, STREAM_ERROR_POLICIES, STREAMS_SETTING_DEFAULTS as ENGINE,
  type EngineRebalanceProtocol, type ProcessingGuarantee, type StreamErrorPolicy
} from '../topology/runtime/streams-config-values.ts'

// The engine's own settings take the engine's allowed values and defaults (one definition).
export {
  ENGINE_REBALANCE_PROTOCOLS, PROCESSING_GUARANTEES, STREAM_ERROR_POLICIES,
  type EngineRebalanceProtocol, type ProcessingGuarantee, type StreamErrorPolicy
}
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
/** SASL mechanisms of the Kafka client (@platformatic/kafka 2.12) that work with a username and a
 *  password. OAUTHBEARER (and so AWS_MSK_IAM, which rides on it) needs a token provider and GSSAPI
 *  a custom authenticator: neither is offered. */
export type KafkaSaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512'
/** auto: pretty (pino-pretty, colours) when stderr is a terminal, JSON lines otherwise. */
export type LogFormat = 'auto' | 'pretty' | 'json'
/** Kafka's auto.offset.reset values: the log port's own type (one definition). */
export type { OffsetResetPolicy }
export interface ApiRateLimit { readonly max: number, readonly windowMs: number }

export const LOG_FORMATS: readonly LogFormat[] = Object.freeze(['auto', 'pretty', 'json'])
export const LOG_LEVELS: readonly LogLevel[] = Object.freeze(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
export const AUTO_OFFSET_RESETS: readonly OffsetResetPolicy[] = Object.freeze(['earliest', 'latest', 'none'])
export const KAFKA_SASL_MECHANISMS: readonly KafkaSaslMechanism[] = Object.freeze(['plain', 'scram-sha-256', 'scram-sha-512'])

/** Upper bound on REWARDS_PARTITIONS: far above what one group of properties needs, and low
 *  enough that a typo (120000) is caught instead of creating 120 000 partitions. */
export const MAX_PARTITIONS = 10_000

/** REWARDS_API_RATE_LIMIT unset (the same as API_DEFAULTS.apiRateLimit of api/api-settings.ts). */
const DEFAULT_API_RATE_LIMIT: ApiRateLimit = Object.freeze({ max: 1000, windowMs: 1000 })

/** The directories derived from the data directory, which some settings print as their fallback. */
export interface DataDirs { readonly logDir: string, readonly pgDir: string }

/** One setting: a row of the table. `T` is its type in RewardsConfig. */
export interface SettingDefinition<T> {
  /** The environment variable. */
  readonly env: string
  /** Placeholder of the flag's value in --help. */
  readonly valueName: string
  /** What it does, for --help. */
  readonly description: string
  /** The value when unset (neither flag nor variable, or empty). */
  readonly default: T
  /** What the default is, in words (for --help and docs). */
  readonly defaultText: string
  /** What its text may be and how it decodes to `T` (lib/config-schema.ts). */
  readonly rule: SettingRule
  /** The value as `rewards config` and the configuration log line print it: secrets masked,
   *  unset shown as what is used instead. */
  readonly show: (value: T, dirs: DataDirs) => string
  /** Secrets are masked whenever printed, also in the message refusing a bad value. */
  readonly secret?: boolean
  /** Optional in the RewardsConfig type, for configurations built by hand (tests): whoever reads
   *  it applies `default` when it is missing. */
  readonly omittable?: boolean
}

function setting<T> (row: SettingDefinition<T> & { readonly omittable: true }): SettingDefinition<T> & { readonly omittable: true }
function setting<T> (row: SettingDefinition<T>): SettingDefinition<T>
function setting<T> (row: SettingDefinition<T>): SettingDefinition<T> {
  return Object.freeze(row)
}

const text = (value: string): string => value
const orText = (unset: string) => (value: string | null): string => value ?? unset
const maskedOr = (unset: string) => (value: string | null): string => (value === null ? unset : maskUrl(value))
const hidden = (value: string | null): string => (value === null ? '(unset)' : '***')

/** The settings, in the order they are documented and printed. */
export const SETTING_TABLE = Object.freeze({
  /** Kafka bootstrap brokers ('host:port'); null → the embedded log in `logDir`. */
  kafkaBrokers: setting<readonly string[] | null>({
    env: 'REWARDS_KAFKA_BROKERS',
    valueName: 'host:port,…',
    description: 'Kafka bootstrap brokers, comma-separated',
    default: null,
    defaultText: 'unset → embedded log in <data-dir>/log',
    rule: brokerList('a comma-separated list of host:port (port 1–65535), e.g. "kafka-1:9092,kafka-2:9092"'),
    show: (value, dirs) => value?.join(',') ?? `(embedded log in ${dirs.logDir})`
  }),
  /** SASL mechanism for Kafka; null → no SASL. Set together with username and password. */
  kafkaSaslMechanism: setting<KafkaSaslMechanism | null>({
    env: 'REWARDS_KAFKA_SASL_MECHANISM',
    valueName: 'mechanism',
    description: `Kafka SASL mechanism (${KAFKA_SASL_MECHANISMS.join(', ')}); needs username and password`,
    default: null,
    defaultText: 'unset → no SASL',
    rule: oneOfAnyCase(KAFKA_SASL_MECHANISMS, `one of ${KAFKA_SASL_MECHANISMS.join(', ')} (OAUTHBEARER / AWS_MSK_IAM are not supported)`),
    show: orText('(no SASL)')
  }),
  kafkaSaslUsername: setting<string | null>({
    env: 'REWARDS_KAFKA_SASL_USERNAME',
    valueName: 'name',
    description: 'Kafka SASL username',
    default: null,
    defaultText: 'unset',
    rule: shortText('1–1000 characters'),
    show: hidden,
    secret: true
  }),
  kafkaSaslPassword: setting<string | null>({
    env: 'REWARDS_KAFKA_SASL_PASSWORD',
    valueName: 'password',
    description: 'Kafka SASL password (prefer the variable: flags show in ps)',
    default: null,
    defaultText: 'unset',
    rule: shortText('1–1000 characters'),
    show: hidden,
    secret: true
  }),
  /** TLS to the brokers (MSK: true). */
  kafkaTls: setting<boolean>({
    env: 'REWARDS_KAFKA_TLS',
    valueName: 'true|false',
    description: 'TLS to the Kafka brokers (MSK: true)',
    default: false,
    defaultText: 'false',
    rule: booleanText,
    show: String
  }),
  /** Absolute path of a PEM file of CA certificates to trust for Kafka TLS (private CAs); null →
   *  Node's bundled public CAs (enough for MSK). */
  kafkaTlsCaFile: setting<string | null>({
    env: 'REWARDS_KAFKA_TLS_CA_FILE',
    valueName: 'path',
    description: 'PEM file of CA certificates to trust for Kafka TLS (private CAs)',
    default: null,
    defaultText: 'unset → Node\'s public CAs',
    rule: readableFile('a readable PEM file of CA certificates'),
    show: orText('(Node\'s public CAs)')
  }),
  /** PostgreSQL URL of the archive; null → embedded PostgreSQL (PGlite) in `pgDir`. Secret: print
   *  only through maskUrl(). */
  databaseUrl: setting<string | null>({
    env: 'REWARDS_DATABASE_URL',
    valueName: 'url',
    description: 'PostgreSQL URL of the archive (postgres://…)',
    default: null,
    defaultText: 'unset → embedded PostgreSQL in <data-dir>/pg',
    rule: urlOf(['postgres:', 'postgresql:'], 'a PostgreSQL URL: postgres://user:password@host:5432/database'),
    show: (value, dirs) => (value === null ? `(embedded PostgreSQL in ${dirs.pgDir})` : maskUrl(value)),
    secret: true
  }),
  /** Redis URL of the cache; null → in-process cache. Secret: print only through maskUrl(). */
  redisUrl: setting<string | null>({
    env: 'REWARDS_REDIS_URL',
    valueName: 'url',
    description: 'Redis URL of the cache (redis:// or rediss://)',
    default: null,
    defaultText: 'unset → in-process cache',
    rule: urlOf(['redis:', 'rediss:'], 'a Redis URL: redis://[:password@]host:6379[/db] or rediss://…'),
    show: maskedOr('(in-process cache)'),
    secret: true
  }),
  /** Absolute once loaded (the default resolves against the working directory). */
  dataDir: setting<string>({
    env: 'REWARDS_DATA_DIR',
    valueName: 'dir',
    description: 'state stores and embedded data',
    default: './data',
    defaultText: './data',
    rule: directory('a directory path'),
    show: text
  }),
  /** Where the embedded PostgreSQL's initialised template is cached (lib/db/pglite-template.ts):
   *  a new <data-dir>/pg is a copy of it instead of a fresh initdb; null → no template ('off'). */
  pgliteCacheDir: setting<string | null>({
    env: 'REWARDS_PGLITE_CACHE_DIR',
    valueName: 'dir|off',
    description: 'cache of the embedded PostgreSQL\'s initialised template (off: initdb in every new data dir)',
    default: standardTemplateCacheDir(),
    defaultText: '$XDG_CACHE_HOME/rewards/pglite, else ~/.cache/rewards/pglite',
    rule: directoryOrOff('a directory path, or off'),
    show: orText('off'),
    omittable: true
  }),
  httpHost: setting<string>({
    env: 'REWARDS_HTTP_HOST',
    valueName: 'host',
    description: 'HTTP listen address',
    default: '127.0.0.1',
    defaultText: '127.0.0.1',
    rule: listenHost('a host name or IP address to listen on, e.g. 127.0.0.1 or 0.0.0.0'),
    show: text
  }),
  /** 0 = any free port (the address actually bound is logged). */
  httpPort: setting<number>({
    env: 'REWARDS_HTTP_PORT',
    valueName: 'port',
    description: 'HTTP listen port (0: any free port)',
    default: 8080,
    defaultText: '8080',
    rule: port('an integer port 0–65535 (0: any free port)'),
    show: String
  }),
  applicationId: setting<string>({
    env: 'REWARDS_APPLICATION_ID',
    valueName: 'id',
    description: 'consumer group, changelog prefix and transactional id prefix',
    default: 'rewards',
    defaultText: 'rewards',
    rule: textWhere(
      raw => /^[A-Za-z0-9._-]{1,200}$/.test(raw) && raw !== '.' && raw !== '..',
      '1–200 characters of letters, digits, ".", "_" and "-" (it names topics, a consumer group and a directory)'
    ),
    show: text
  }),
  processingGuarantee: setting<ProcessingGuarantee>({
    env: 'REWARDS_PROCESSING_GUARANTEE',
    valueName: 'guarantee',
    description: 'exactly_once_v2 or at_least_once',
    default: ENGINE.processingGuarantee,
    defaultText: ENGINE.processingGuarantee,
    rule: oneOf(PROCESSING_GUARANTEES, PROCESSING_GUARANTEES.join(' or ')),
    show: text
  }),
  /** replace-thread: a stream thread that dies is replaced (at most 5 times in 10 minutes, then as
   *  shutdown-instance); shutdown-instance: the process shuts down and exits 1. */
  onStreamError: setting<StreamErrorPolicy>({
    env: 'REWARDS_ON_STREAM_ERROR',
    valueName: 'policy',
    description: 'when the stream thread dies: replace-thread (at most 5 times in 10 minutes) or shutdown-instance (exit 1)',
    default: ENGINE.onStreamError,
    defaultText: ENGINE.onStreamError,
    rule: oneOf(STREAM_ERROR_POLICIES, STREAM_ERROR_POLICIES.join(' or ')),
    show: text
  }),
  /** Where a consumer group starts on a partition without a valid committed offset (none, or out
   *  of the log's range): Kafka's auto.offset.reset; 'none' stops with LOG_OFFSET_OUT_OF_RANGE. */
  autoOffsetReset: setting<OffsetResetPolicy>({
    env: 'REWARDS_AUTO_OFFSET_RESET',
    valueName: 'policy',
    description: 'where a consumer group starts without a valid committed offset (none, or out of range): earliest, latest or none (stop)',
    default: 'earliest',
    defaultText: 'earliest',
    rule: oneOf(AUTO_OFFSET_RESETS, AUTO_OFFSET_RESETS.join(', ')),
    show: text
  }),
  /** Partitions of the topics the platform creates. */
  partitions: setting<number>({
    env: 'REWARDS_PARTITIONS',
    valueName: 'n',
    description: 'partitions of the topics it creates',
    default: 12,
    defaultText: '12',
    rule: wholeNumber({ digits: 6, min: 1, max: MAX_PARTITIONS }, `an integer from 1 to ${MAX_PARTITIONS}`),
    show: String
  }),
  logLevel: setting<LogLevel>({
    env: 'REWARDS_LOG_LEVEL',
    valueName: 'level',
    description: `log level (${LOG_LEVELS.join(', ')})`,
    default: 'info',
    defaultText: 'info',
    rule: oneOf(LOG_LEVELS, `one of ${LOG_LEVELS.join(', ')}`),
    show: text
  }),
  /** How log lines are written (docs/observability.md "Logs"). */
  logFormat: setting<LogFormat>({
    env: 'REWARDS_LOG_FORMAT',
    valueName: 'format',
    description: `log format (${LOG_FORMATS.join(', ')}): pretty is colourised text, json one object per line`,
    default: 'auto',
    defaultText: 'auto: pretty on a terminal, json otherwise',
    rule: oneOf(LOG_FORMATS, `one of ${LOG_FORMATS.join(', ')}`),
    show: text
  }),
  /** Set: GET /metrics is served on its own listener (httpHost:metricsPort) and not on the main
   *  one. Null: on the main listener. */
  metricsPort: setting<number | null>({
    env: 'REWARDS_METRICS_PORT',
    valueName: 'port',
    description: 'serve GET /metrics on this port instead of the main listener',
    default: null,
    defaultText: 'unset → on the main listener',
    rule: port('an integer port 0–65535'),
    show: value => (value === null ? '(on the main listener)' : String(value))
  }),
  /** Prepended to the six platform topic names (tests, shared clusters). */
  topicPrefix: setting<string>({
    env: 'REWARDS_TOPIC_PREFIX',
    valueName: 'prefix',
    description: 'prefix of the platform topic names (tests, shared clusters)',
    default: '',
    defaultText: 'none',
    rule: textMatching('^[A-Za-z0-9._-]{1,100}$', 'up to 100 characters of letters, digits, ".", "_" and "-"'),
    show: value => (value === '' ? '(none)' : value)
  }),
  /** Absolute path of a rule set file; null → the built-in default (rules/2026-1.json). */
  rulesFile: setting<string | null>({
    env: 'REWARDS_RULES_FILE',
    valueName: 'path',
    description: 'rule set file (JSON)',
    default: null,
    defaultText: 'built-in rules/2026-1.json',
    rule: readableFile('a readable rule set file'),
    show: orText('(built-in 2026-1)')
  }),
  /** Expected token issuer (`iss`); null → the built-in server's own base URL. */
  authIssuer: setting<string | null>({
    env: 'REWARDS_AUTH_ISSUER',
    valueName: 'url',
    description: 'expected token issuer (iss); with an external IdP, its issuer',
    default: null,
    defaultText: 'unset → this instance\'s base URL (built-in token server)',
    rule: urlOf(['http:', 'https:'], 'an http(s) URL'),
    show: maskedOr('(this instance\'s base URL)')
  }),
  /** An external IdP's JWKS URL (Keycloak, Cognito); null → the built-in token server and keys. */
  authJwksUrl: setting<string | null>({
    env: 'REWARDS_AUTH_JWKS_URL',
    valueName: 'url',
    description: 'external IdP JWKS URL (Keycloak, Cognito); replaces the built-in token server',
    default: null,
    defaultText: 'unset → built-in token server',
    rule: urlOf(['http:', 'https:'], 'an http(s) URL'),
    show: maskedOr('(built-in token server)')
  }),
  /** Expected token audience (`aud`); null → 'rewards-api'. */
  authAudience: setting<string | null>({
    env: 'REWARDS_AUTH_AUDIENCE',
    valueName: 'aud',
    description: 'expected token audience (aud)',
    default: null,
    defaultText: 'rewards-api',
    rule: textMatching('^[\\x21-\\x7e]{1,200}$', '1–200 printable characters without spaces'),
    show: orText('rewards-api')
  }),
  /** Per-client limit of each /v1 route (requests per window); null → no limit ('off'). */
  apiRateLimit: setting<ApiRateLimit | null>({
    env: 'REWARDS_API_RATE_LIMIT',
    valueName: '<n>/<seconds>s|off',
    description: 'requests per client to each /v1 route per window (429 + Retry-After beyond)',
    default: DEFAULT_API_RATE_LIMIT,
    defaultText: '1000/1s',
    rule: rateLimit('<requests>/<seconds>s with 1 ≤ seconds ≤ 3600 (e.g. 1000/1s, 30000/60s), or off'),
    show: value => (value === null ? 'off' : `${value.max}/${value.windowMs / 1000}s`),
    omittable: true
  }),
  /** Origins allowed by CORS on the public API ('*': any); null → CORS off (the default). */
  apiCorsOrigins: setting<readonly string[] | '*' | null>({
    env: 'REWARDS_API_CORS_ORIGINS',
    valueName: 'origin,…|*',
    description: 'origins a browser may call the public API from (CORS), comma-separated, or * for any',
    default: null,
    defaultText: 'unset → CORS off',
    rule: originList('comma-separated origins (scheme://host[:port], no path), or *'),
    show: value => (value === null ? '(off)' : value === '*' ? '*' : value.join(',')),
    omittable: true
  }),
  /** Absolute path of the partner webhooks file; null → the notifications role does nothing. */
  notificationsFile: setting<string | null>({
    env: 'REWARDS_NOTIFICATIONS_FILE',
    valueName: 'path',
    description: 'partner webhooks file (JSON, see docs/notifications.md)',
    default: null,
    defaultText: 'unset → no notifications',
    rule: readableFile('a readable notifications file'),
    show: orText('(none)')
  }),
  /** The archiver is stuck when its lag is > 0 and it has made no progress for this long
   *  (docs/archive.md "Stuck or behind"). */
  archiveStallSeconds: setting<number>({
    env: 'REWARDS_ARCHIVE_STALL_SECONDS',
    valueName: 'seconds',
    description: 'archiver reported stuck (readiness degraded) after this long without progress while behind',
    default: 120,
    defaultText: '120',
    rule: wholeNumber({ digits: 6, min: 1 }, 'an integer number of seconds from 1 to 999999'),
    show: String,
    omittable: true
  }),
  /** The archiver is behind when its lag exceeds this many records. */
  archiveMaxLagRecords: setting<number>({
    env: 'REWARDS_ARCHIVE_MAX_LAG_RECORDS',
    valueName: 'n',
    description: 'archiver reported behind (readiness degraded) above this archive lag',
    default: 100_000,
    defaultText: '100000',
    rule: wholeNumber({ digits: 12, min: 1 }, 'an integer number of records from 1'),
    show: String,
    omittable: true
  }),
  /** Standby replicas per stateful task (docs/engine.md "Standby tasks"). */
  numStandbyReplicas: setting<number>({
    env: 'REWARDS_NUM_STANDBY_REPLICAS',
    valueName: 'n',
    description: 'standby replicas per stateful task, kept current on other instances (docs/engine.md "Standby tasks")',
    default: ENGINE.numStandbyReplicas,
    defaultText: String(ENGINE.numStandbyReplicas),
    rule: wholeNumber({ digits: 2 }, 'an integer from 0 to 99'),
    show: String,
    omittable: true
  }),
  /** Records an instance may lag on a task and still take it over at once. */
  acceptableRecoveryLag: setting<number>({
    env: 'REWARDS_ACCEPTABLE_RECOVERY_LAG',
    valueName: 'records',
    description: 'an instance this close to a task\'s changelog end may take the task over at once',
    default: ENGINE.acceptableRecoveryLag,
    defaultText: String(ENGINE.acceptableRecoveryLag),
    rule: wholeNumber({ digits: 12 }, 'an integer number of records from 0'),
    show: String,
    omittable: true
  }),
  /** Warm-up replicas in the whole group at once (0: tasks move at once). */
  maxWarmupReplicas: setting<number>({
    env: 'REWARDS_MAX_WARMUP_REPLICAS',
    valueName: 'n',
    description: 'warm-up replicas in the whole group at once (0: a task moved for balance restores at once)',
    default: ENGINE.maxWarmupReplicas,
    defaultText: String(ENGINE.maxWarmupReplicas),
    rule: wholeNumber({ digits: 4 }, 'an integer from 0 to 9999'),
    show: String,
    omittable: true
  }),
  /** Rebalance again this long after an assignment with warm-ups. */
  probingRebalanceIntervalMs: setting<number>({
    env: 'REWARDS_PROBING_REBALANCE_INTERVAL_MS',
    valueName: 'ms',
    description: 'rebalance again this long after an assignment with warm-ups (they take over once caught up)',
    default: ENGINE.probingRebalanceIntervalMs,
    defaultText: String(ENGINE.probingRebalanceIntervalMs),
    rule: wholeNumber({ digits: 10, min: 1000 }, 'an integer number of milliseconds from 1000'),
    show: String,
    omittable: true
  }),
  /** cooperative or eager (docs/engine.md "Group protocol and rebalancing"). */
  rebalanceProtocol: setting<EngineRebalanceProtocol>({
    env: 'REWARDS_REBALANCE_PROTOCOL',
    valueName: 'cooperative|eager',
    description: 'cooperative: tasks that stay keep processing and answering queries during a rebalance; eager: every rebalance pauses every task. All instances must use the same (switching needs all stopped: docs/engine.md "Group protocol and rebalancing")',
    default: ENGINE.rebalanceProtocol,
    defaultText: ENGINE.rebalanceProtocol,
    rule: oneOf(ENGINE_REBALANCE_PROTOCOLS, ENGINE_REBALANCE_PROTOCOLS.join(' or ')),
    show: text,
    omittable: true
  }),
  /** Balance and activity answers a standby replica may give while the active cannot: at most
   *  this many changelog records behind (0: only a copy holding exactly the committed state). */
  queryMaxStalenessRecords: setting<number>({
    env: 'REWARDS_QUERY_MAX_STALENESS_RECORDS',
    valueName: 'records',
    description: 'a standby replica answers balance and activity queries the active cannot if at most this many changelog records behind (0: only a fully caught-up copy); such answers say so in x-rewards-served-by / x-rewards-staleness-records',
    default: 0,
    defaultText: '0',
    rule: wholeNumber({ digits: 12 }, 'an integer number of records from 0'),
    show: String,
    omittable: true
  }),
  /** Memory budget of a `rewards start` process, MiB (lib/memory-budget.ts, docs/engine.md
   *  "Memory budget"): the V8 old-space cap and MALLOC_ARENA_MAX the launcher sets, the stream
   *  thread's cache and RocksDB's share. */
  memoryBudgetMib: setting<number>({
    env: 'REWARDS_MEMORY_BUDGET_MIB',
    valueName: 'MiB',
    description: `memory budget of the process (${MIN_MEMORY_BUDGET_MIB}–${MAX_MEMORY_BUDGET_MIB}): V8 old space 1/2, stream cache 1/16, RocksDB 1/8, 2 malloc arenas (docs/engine.md "Memory budget")`,
    default: DEFAULT_MEMORY_BUDGET_MIB,
    defaultText: String(DEFAULT_MEMORY_BUDGET_MIB),
    rule: wholeNumber({ digits: 9, min: MIN_MEMORY_BUDGET_MIB, max: MAX_MEMORY_BUDGET_MIB }, `an integer number of MiB from ${MIN_MEMORY_BUDGET_MIB} to ${MAX_MEMORY_BUDGET_MIB}`),
    show: String,
    omittable: true
  })
})

type Table = typeof SETTING_TABLE
export type SettingKey = keyof Table
/** The type of a setting's value in RewardsConfig. */
export type SettingValue<K extends SettingKey> = Table[K] extends SettingDefinition<infer T> ? T : never

/** Every setting's value as loadConfig() returns it; omittable ones are optional in the type. */
export type SettingValues =
  & { readonly [K in keyof Table as Table[K] extends { readonly omittable: true } ? never : K]: SettingValue<K> }
  & { readonly [K in keyof Table as Table[K] extends { readonly omittable: true } ? K : never]?: SettingValue<K> }

export interface SettingSpec {
  readonly key: SettingKey
  readonly env: string
  /** Long flag without the leading dashes, e.g. 'kafka-brokers': the key in kebab case. */
  readonly flag: string
  /** Placeholder of the flag's value in --help. */
  readonly valueName: string
  readonly description: string
  /** What the default is, in words (for --help and docs). */
  readonly defaultText: string
  /** Secrets are masked whenever printed. */
  readonly secret?: boolean
}

const kebab = (key: string): string => key.replace(/[A-Z]/g, letter => `-${letter.toLowerCase()}`)

/** The settings as a list, in the order they are documented and printed. */
export const SETTINGS: readonly SettingSpec[] = Object.freeze((Object.keys(SETTING_TABLE) as SettingKey[]).map(key => {
  const row: SettingDefinition<unknown> = SETTING_TABLE[key] as SettingDefinition<unknown>
  return Object.freeze({
    key,
    env: row.env,
    flag: kebab(key),
    valueName: row.valueName,
    description: row.description,
    defaultText: row.defaultText,
    ...(row.secret === true ? { secret: true } : {})
  })
}))

/** Each setting's default value. */
export const DEFAULTS: { readonly [K in SettingKey]: SettingValue<K> } = Object.freeze(Object.fromEntries(
  (Object.keys(SETTING_TABLE) as SettingKey[]).map(key => [key, SETTING_TABLE[key].default])
) as { [K in SettingKey]: SettingValue<K> })
