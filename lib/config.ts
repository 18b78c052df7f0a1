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
//   is checked and decoded by TypeBox (Value.Check / Value.Decode) against the rule of its row in
//   the settings table, lib/config-settings.ts (rules: lib/config-schema.ts).
// - What is here is what concerns settings together: the data directories, the checks that
//   span settings (Kafka security, IdP, metrics port) and printing; one setting's own facts
//   (variable, type, default, help, printing) are its row of the table.
// - Secrets (passwords in URLs) never leave this file unmasked in anything meant for printing:
//   describeConfig() and maskUrl() are what logs and `rewards config` use.
import { join, resolve } from 'node:path'
import { Value } from 'typebox/value'
import { DEFAULTS, KAFKA_SASL_MECHANISMS, SETTING_TABLE, SETTINGS, type SettingDefinition, type SettingKey, type SettingValues } from './config-settings.ts'
import { RewardsError } from './errors.ts'
import { maskUrl } from './mask-url.ts'
import { loadNotificationsConfig, type NotificationsConfig } from './notifications-config.ts'

export {
  AUTO_OFFSET_RESETS, DEFAULTS, ENGINE_REBALANCE_PROTOCOLS, KAFKA_SASL_MECHANISMS, LOG_FORMATS, LOG_LEVELS, MAX_PARTITIONS,
  PROCESSING_GUARANTEES, SETTINGS, STREAM_ERROR_POLICIES
} from './config-settings.ts'
export type {
  ApiRateLimit, EngineRebalanceProtocol, KafkaSaslMechanism, LogFormat, LogLevel, OffsetResetPolicy, ProcessingGuarantee,
  SettingKey, SettingSpec, StreamErrorPolicy
} from './config-settings.ts'
export { maskUrl } from './mask-url.ts'

/** The loaded configuration: every setting of the table (lib/config-settings.ts), typed there,
 *  and what derives from them. */
export interface RewardsConfig extends SettingValues {
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

export interface ConfigSources {
  /** The environment (normally process.env, passed in by the command). */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Flag values by setting key, as given on the command line (undefined: not given). */
  readonly flags?: Readonly<Partial<Record<SettingKey, string | undefined>>>
  /** Relative paths resolve against this; default process.cwd(). */
  readonly cwd?: string
}

function quote (value: string): string {
  return JSON.stringify(value)
}

const rowOf = (key: SettingKey): SettingDefinition<unknown> => SETTING_TABLE[key] as SettingDefinition<unknown>

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
    const rule = rowOf(spec.key).rule
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
  const settings = Object.fromEntries(SETTINGS.map(({ key }) => [key, key in values ? values[key] : DEFAULTS[key]])) as Required<SettingValues>
  // The default data directory is relative; a given one was resolved by its rule already.
  const dataDir = resolve(cwd, settings.dataDir)
  const config: RewardsConfig = {
    ...settings,
    dataDir,
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
  return SETTINGS.map(spec => {
    const row = rowOf(spec.key)
    // A hand-built configuration may leave out an omittable setting: its default then applies.
    const value = config[spec.key] === undefined ? row.default : config[spec.key]
    return { key: spec.key, env: spec.env, flag: `--${spec.flag}`, value: row.show(value, config), source: config.sources[spec.key] }
  })
}

/** A loggable summary of the configuration, secrets masked. */
export function safeConfigSummary (config: RewardsConfig): Record<string, string> {
  return Object.fromEntries(describeConfig(config).map(row => [row.env, row.value]))
}
