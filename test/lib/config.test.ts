// lib/config.ts: every REWARDS_* variable, each flag override, every bad value named by its
// variable (or flag), the embedded defaults, masking of secrets, and immutability.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { describeConfig, loadConfig, maskUrl, safeConfigSummary, SETTINGS, type SettingKey } from '../../lib/config.ts'
import { isRewardsError } from '../../lib/errors.ts'

const cwd = mkdtempSync(join(tmpdir(), 'rewards-config-'))
const rulesFile = join(cwd, 'rules.json')
writeFileSync(rulesFile, '{}')
const notificationsFile = join(cwd, 'notifications.json')
writeFileSync(notificationsFile, '{"endpoints":[]}')
const caFile = join(cwd, 'kafka-ca.pem')
writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n')
t.teardown(() => rmSync(cwd, { recursive: true, force: true }))

function failure (sources: Parameters<typeof loadConfig>[0]): string {
  try {
    loadConfig(sources)
  } catch (error) {
    if (isRewardsError(error, 'CONFIG_INVALID')) return error.message
    throw error
  }
  throw new Error('expected CONFIG_INVALID')
}

t.test('defaults: nothing set means the embedded platform', async t => {
  const config = loadConfig({ env: {}, cwd })
  t.same(config.kafkaBrokers, null, 'no brokers → embedded log')
  t.equal(config.databaseUrl, null, 'no database → embedded PostgreSQL')
  t.equal(config.redisUrl, null, 'no Redis → in-process cache')
  t.equal(config.dataDir, join(cwd, 'data'))
  t.equal(config.logDir, join(cwd, 'data', 'log'))
  t.equal(config.pgDir, join(cwd, 'data', 'pg'))
  t.equal(config.stateDir, join(cwd, 'data', 'state'))
  t.equal(config.httpHost, '127.0.0.1')
  t.equal(config.httpPort, 8080)
  t.equal(config.applicationId, 'rewards')
  t.equal(config.processingGuarantee, 'exactly_once_v2')
  t.equal(config.onStreamError, 'replace-thread')
  t.equal(config.autoOffsetReset, 'earliest', 'what Kafka Streams does')
  t.equal(config.partitions, 12)
  t.equal(config.logLevel, 'info')
  t.equal(config.logFormat, 'auto', 'pretty on a terminal, JSON elsewhere')
  t.equal(config.metricsPort, null)
  t.equal(config.topicPrefix, '')
  t.equal(config.rulesFile, null)
  t.equal(config.memoryBudgetMib, 512, 'docs/engine.md "Memory budget"')
  t.ok(Object.values(config.sources).every(s => s === 'default'))
})

const GOOD: Record<SettingKey, { raw: string, expect: unknown }> = {
  kafkaBrokers: { raw: 'kafka-1:9092, kafka-2.internal:9093,10.0.0.7:9094', expect: ['kafka-1:9092', 'kafka-2.internal:9093', '10.0.0.7:9094'] },
  kafkaSaslMechanism: { raw: 'SCRAM-SHA-512', expect: 'scram-sha-512' },
  kafkaSaslUsername: { raw: 'rewards-app', expect: 'rewards-app' },
  kafkaSaslPassword: { raw: 'p@ss w0rd:/', expect: 'p@ss w0rd:/' },
  kafkaTls: { raw: 'TRUE', expect: true },
  kafkaTlsCaFile: { raw: 'kafka-ca.pem', expect: caFile },
  databaseUrl: { raw: 'postgres://app:s3cret@db.internal:5432/rewards', expect: 'postgres://app:s3cret@db.internal:5432/rewards' },
  redisUrl: { raw: 'rediss://:pw@cache:6380/2', expect: 'rediss://:pw@cache:6380/2' },
  dataDir: { raw: 'var/rewards', expect: join(cwd, 'var', 'rewards') },
  pgliteCacheDir: { raw: 'cache/pglite', expect: join(cwd, 'cache', 'pglite') },
  httpHost: { raw: '0.0.0.0', expect: '0.0.0.0' },
  httpPort: { raw: '9090', expect: 9090 },
  applicationId: { raw: 'rewards-eu.v2', expect: 'rewards-eu.v2' },
  processingGuarantee: { raw: 'at_least_once', expect: 'at_least_once' },
  onStreamError: { raw: 'shutdown-instance', expect: 'shutdown-instance' },
  autoOffsetReset: { raw: 'latest', expect: 'latest' },
  partitions: { raw: '24', expect: 24 },
  logLevel: { raw: 'debug', expect: 'debug' },
  logFormat: { raw: 'json', expect: 'json' },
  metricsPort: { raw: '9464', expect: 9464 },
  topicPrefix: { raw: 'staging.', expect: 'staging.' },
  rulesFile: { raw: 'rules.json', expect: rulesFile },
  authIssuer: { raw: 'https://idp.example/realms/rewards', expect: 'https://idp.example/realms/rewards' },
  authJwksUrl: { raw: 'https://idp.example/realms/rewards/protocol/openid-connect/certs', expect: 'https://idp.example/realms/rewards/protocol/openid-connect/certs' },
  authAudience: { raw: 'rewards-api-eu', expect: 'rewards-api-eu' },
  apiRateLimit: { raw: '30000/60s', expect: { max: 30000, windowMs: 60_000 } },
  apiCorsOrigins: { raw: 'https://app.example.com, http://localhost:3000', expect: ['https://app.example.com', 'http://localhost:3000'] },
  notificationsFile: { raw: 'notifications.json', expect: notificationsFile },
  archiveStallSeconds: { raw: '300', expect: 300 },
  archiveMaxLagRecords: { raw: '5000', expect: 5000 },
  numStandbyReplicas: { raw: '2', expect: 2 },
  acceptableRecoveryLag: { raw: '0', expect: 0 },
  maxWarmupReplicas: { raw: '0', expect: 0 },
  probingRebalanceIntervalMs: { raw: '60000', expect: 60000 },
  rebalanceProtocol: { raw: 'eager', expect: 'eager' },
  memoryBudgetMib: { raw: '1024', expect: 1024 },
  queryMaxStalenessRecords: { raw: '100', expect: 100 }
}

/** Settings the EXTRA ones need in turn: emptying them is refused with this message, not defaulted. */
const REQUIRED_BY_EXTRA: Partial<Record<SettingKey, string>> = {
  kafkaSaslMechanism: 'is set but REWARDS_KAFKA_SASL_MECHANISM is not',
  kafkaSaslUsername: 'needs REWARDS_KAFKA_SASL_USERNAME',
  kafkaSaslPassword: 'needs REWARDS_KAFKA_SASL_PASSWORD'
}

/** Settings that only make sense with another one (an external IdP's JWKS needs its issuer). */
const EXTRA: Partial<Record<SettingKey, Record<string, string>>> = {
  kafkaSaslMechanism: { REWARDS_KAFKA_SASL_USERNAME: 'u', REWARDS_KAFKA_SASL_PASSWORD: 'p' },
  kafkaSaslUsername: { REWARDS_KAFKA_SASL_MECHANISM: 'plain', REWARDS_KAFKA_SASL_PASSWORD: 'p' },
  kafkaSaslPassword: { REWARDS_KAFKA_SASL_MECHANISM: 'plain', REWARDS_KAFKA_SASL_USERNAME: 'u' },
  kafkaTlsCaFile: { REWARDS_KAFKA_TLS: 'true' },
  authJwksUrl: { REWARDS_AUTH_ISSUER: 'https://idp.example/realms/rewards' }
}

const BAD: Record<SettingKey, string[]> = {
  kafkaBrokers: ['kafka-1', 'kafka-1:0', 'kafka-1:99999', 'a:9092,,b:9092', 'http://kafka:9092'],
  kafkaSaslMechanism: ['oauthbearer', 'AWS_MSK_IAM', 'scram-sha-1', 'gssapi'],
  kafkaSaslUsername: ['x'.repeat(1001), 'a\0b'],
  kafkaSaslPassword: ['x'.repeat(1001), 'a\0b'],
  kafkaTls: ['yes', '1', 'on'],
  kafkaTlsCaFile: ['no-such-ca.pem'],
  databaseUrl: ['mysql://u:p@h/d', 'not a url', 'postgres://'],
  redisUrl: ['http://cache:6379', 'cache:6379'],
  dataDir: ['bad\0dir'],
  pgliteCacheDir: ['bad\0dir'],
  httpHost: ['not a host', 'http://x', 'a/b'],
  httpPort: ['abc', '-1', '65536', '80.5'],
  applicationId: ['has space', 'slash/y', '..', 'x'.repeat(201)],
  processingGuarantee: ['exactly_once', 'EOS'],
  onStreamError: ['restart', 'REPLACE_THREAD'],
  autoOffsetReset: ['smallest', 'Earliest'],
  partitions: ['0', '-3', '1.5', 'twelve', '10001'],
  logLevel: ['verbose', 'INFO'],
  logFormat: ['text', 'PRETTY'],
  metricsPort: ['x', '70000'],
  topicPrefix: ['has space', 'a/b', 'x'.repeat(101)],
  rulesFile: ['does-not-exist.json'],
  authIssuer: ['not a url', 'ftp://idp.example'],
  authJwksUrl: ['jwks.json', 'file:///etc/jwks.json'],
  authAudience: ['has space', 'x'.repeat(201)],
  apiRateLimit: ['1000', '0/1s', '10/0s', '10/1m', 'on'],
  apiCorsOrigins: ['app.example.com', 'https://a.example.com/path', 'https://a.example.com,'],
  notificationsFile: ['no-such-notifications.json'],
  archiveStallSeconds: ['0', '-1', '1.5', '10s'],
  archiveMaxLagRecords: ['0', 'many', '1e6'],
  numStandbyReplicas: ['-1', 'one', '1.5', '100'],
  acceptableRecoveryLag: ['-1', 'lots', '1e4'],
  maxWarmupReplicas: ['-1', 'two', '10000'],
  probingRebalanceIntervalMs: ['0', '999', '10m'],
  rebalanceProtocol: ['Cooperative', 'sticky', 'consumer'],
  memoryBudgetMib: ['0', '255', '512MiB', '1.5', '2000000'],
  queryMaxStalenessRecords: ['-1', 'few', '1e3']
}

t.test('each variable is REWARDS_ and its flag in upper snake case (lib/config-settings.ts)', async t => {
  for (const spec of SETTINGS) t.equal(spec.env, `REWARDS_${spec.flag.replaceAll('-', '_').toUpperCase()}`, spec.key)
})

for (const spec of SETTINGS) {
  t.test(`${spec.env} / --${spec.flag}`, async t => {
    const good = GOOD[spec.key]
    const extra = EXTRA[spec.key] ?? {}
    const fromEnv = loadConfig({ env: { ...extra, [spec.env]: good.raw }, cwd })
    t.same(fromEnv[spec.key], good.expect, `${spec.env} is read`)
    t.equal(fromEnv.sources[spec.key], 'env')

    const fromFlag = loadConfig({ env: { ...extra }, flags: { [spec.key]: good.raw }, cwd })
    t.same(fromFlag[spec.key], good.expect, `--${spec.flag} is read`)
    t.equal(fromFlag.sources[spec.key], 'flag')

    // The flag overrides the variable, even when the variable is bad.
    const overridden = loadConfig({ env: { ...extra, [spec.env]: BAD[spec.key][0]! }, flags: { [spec.key]: good.raw }, cwd })
    t.same(overridden[spec.key], good.expect, `--${spec.flag} overrides ${spec.env}`)

    // An empty value is "unset": the default applies (so a flag can switch back to embedded).
    const required = REQUIRED_BY_EXTRA[spec.key]
    if (required !== undefined) {
      t.match(failure({ env: { ...extra, [spec.env]: good.raw }, flags: { [spec.key]: '' }, cwd }), required, 'an empty flag unsets it, and what needs it says so')
    } else {
      const emptied = loadConfig({ env: { ...extra, [spec.env]: good.raw }, flags: { [spec.key]: '' }, cwd })
      t.equal(emptied.sources[spec.key], 'default', 'an empty flag means the default')
    }

    for (const bad of BAD[spec.key]) {
      const envMessage = failure({ env: { ...extra, [spec.env]: bad }, cwd })
      t.match(envMessage, spec.env, `${spec.env}=${JSON.stringify(bad).slice(0, 30)} names the variable`)
      t.match(envMessage, /expected /, 'and says what is allowed')
      const flagMessage = failure({ env: { ...extra }, flags: { [spec.key]: bad }, cwd })
      t.match(flagMessage, `--${spec.flag}`, `--${spec.flag} ${JSON.stringify(bad).slice(0, 30)} names the flag`)
      t.notMatch(flagMessage, spec.env, 'and not the variable it did not come from')
    }
  })
}

t.test('an external IdP JWKS URL without its issuer is refused, naming both', async t => {
  const message = failure({ env: { REWARDS_AUTH_JWKS_URL: 'https://idp.example/certs' }, cwd })
  t.match(message, /REWARDS_AUTH_JWKS_URL is set but REWARDS_AUTH_ISSUER is not/)
})

t.test('Kafka SASL and TLS settings only together: each missing piece named', async t => {
  t.match(failure({ env: { REWARDS_KAFKA_SASL_MECHANISM: 'scram-sha-512' }, cwd }), /REWARDS_KAFKA_SASL_MECHANISM=scram-sha-512 needs REWARDS_KAFKA_SASL_USERNAME[^]*needs REWARDS_KAFKA_SASL_PASSWORD/)
  const missingPassword = failure({ env: { REWARDS_KAFKA_SASL_MECHANISM: 'plain', REWARDS_KAFKA_SASL_USERNAME: 'app' }, cwd })
  t.match(missingPassword, 'needs REWARDS_KAFKA_SASL_PASSWORD')
  t.notMatch(missingPassword, 'needs REWARDS_KAFKA_SASL_USERNAME', 'only what is missing')
  t.match(failure({ env: { REWARDS_KAFKA_SASL_PASSWORD: 'pw' }, cwd }), /REWARDS_KAFKA_SASL_PASSWORD is set but REWARDS_KAFKA_SASL_MECHANISM is not/, 'credentials never silently go unused')
  t.match(failure({ env: { REWARDS_KAFKA_TLS_CA_FILE: caFile }, cwd }), /REWARDS_KAFKA_TLS_CA_FILE is set but REWARDS_KAFKA_TLS is not true/)
  t.match(failure({ env: { REWARDS_KAFKA_SASL_MECHANISM: 'AWS_MSK_IAM', REWARDS_KAFKA_SASL_USERNAME: 'u', REWARDS_KAFKA_SASL_PASSWORD: 'p' }, cwd }), /REWARDS_KAFKA_SASL_MECHANISM="AWS_MSK_IAM" is invalid: expected one of plain, scram-sha-256, scram-sha-512/)
  t.match(failure({ env: { REWARDS_KAFKA_SASL_MECHANISM: 'plain' }, flags: { kafkaSaslUsername: 'u' }, cwd }), 'REWARDS_KAFKA_SASL_MECHANISM=plain needs REWARDS_KAFKA_SASL_PASSWORD', 'names the variable it would come from')
  const config = loadConfig({ env: { REWARDS_KAFKA_BROKERS: 'b-1.msk:9096', REWARDS_KAFKA_SASL_MECHANISM: 'scram-sha-512', REWARDS_KAFKA_SASL_USERNAME: 'rewards', REWARDS_KAFKA_SASL_PASSWORD: 'hunter2', REWARDS_KAFKA_TLS: 'true' }, cwd })
  t.same([config.kafkaSaslMechanism, config.kafkaSaslUsername, config.kafkaSaslPassword, config.kafkaTls, config.kafkaTlsCaFile], ['scram-sha-512', 'rewards', 'hunter2', true, null])
  const defaults = loadConfig({ env: {}, cwd })
  t.same([defaults.kafkaSaslMechanism, defaults.kafkaSaslUsername, defaults.kafkaSaslPassword, defaults.kafkaTls, defaults.kafkaTlsCaFile], [null, null, null, false, null], 'default: no SASL, no TLS')
})

t.test('every bad value is reported at once', async t => {
  const message = failure({ env: { REWARDS_HTTP_PORT: 'x', REWARDS_PARTITIONS: '0' }, flags: { logLevel: 'loud' }, cwd })
  t.match(message, 'REWARDS_HTTP_PORT')
  t.match(message, 'REWARDS_PARTITIONS')
  t.match(message, '--log-level')
})

t.test('the metrics port must differ from the HTTP port', async t => {
  t.match(failure({ env: { REWARDS_HTTP_PORT: '9000', REWARDS_METRICS_PORT: '9000' }, cwd }), /REWARDS_METRICS_PORT.*REWARDS_HTTP_PORT/)
})

t.test('variables not of this platform are ignored; process.env is never read', async t => {
  process.env.REWARDS_HTTP_PORT = 'not-read'
  t.teardown(() => { delete process.env.REWARDS_HTTP_PORT })
  t.equal(loadConfig({ env: { OTHER: 'x' }, cwd }).httpPort, 8080)
})

t.test('secrets are masked in everything printable, and in error messages', async t => {
  const config = loadConfig({ env: { REWARDS_DATABASE_URL: 'postgres://app:s3cret@db:5432/r', REWARDS_REDIS_URL: 'redis://:hunter2@cache:6379', REWARDS_KAFKA_SASL_MECHANISM: 'scram-sha-512', REWARDS_KAFKA_SASL_USERNAME: 'kafka-user-x', REWARDS_KAFKA_SASL_PASSWORD: 'kafka-pw-y' }, cwd })
  const printed = JSON.stringify([describeConfig(config), safeConfigSummary(config)])
  t.notMatch(printed, 's3cret')
  t.notMatch(printed, 'hunter2')
  t.notMatch(printed, 'kafka-user-x', 'the Kafka username is not printed')
  t.notMatch(printed, 'kafka-pw-y', 'the Kafka password is not printed')
  t.equal(safeConfigSummary(config).REWARDS_KAFKA_SASL_PASSWORD, '***')
  t.notMatch(failure({ env: { REWARDS_KAFKA_SASL_MECHANISM: 'plain', REWARDS_KAFKA_SASL_USERNAME: 'u', REWARDS_KAFKA_SASL_PASSWORD: `kafka-pw-y${'x'.repeat(1000)}` }, cwd }), 'kafka-pw-y', 'nor in an error message')
  t.match(printed, 'postgres://app:***@db:5432/r')
  t.equal(maskUrl('postgresql://u:p@h/d'), 'postgresql://u:***@h/d')
  t.equal(maskUrl('redis://h:6379'), 'redis://h:6379')
  t.equal(maskUrl('postgres://h/d?sslmode=require&sslpassword=k3y&password=pw'), 'postgres://h/d?sslmode=require&sslpassword=***&password=***', 'secrets in the query too')
  t.equal(maskUrl('https://idp.example/jwks?access_token=abc'), 'https://idp.example/jwks?access_token=***')
  t.notMatch(failure({ env: { REWARDS_DATABASE_URL: 'mysql://app:s3cret@db/r' }, cwd }), 's3cret')
})

t.test('the configuration is frozen', async t => {
  const config = loadConfig({ env: { REWARDS_KAFKA_BROKERS: 'k:9092' }, cwd })
  t.ok(Object.isFrozen(config))
  t.ok(Object.isFrozen(config.kafkaBrokers))
  t.ok(Object.isFrozen(config.sources))
  t.throws(() => { (config as { httpPort: number }).httpPort = 1 })
})

t.test('describeConfig lists every setting with its variable, flag and source', async t => {
  const rows = describeConfig(loadConfig({ env: { REWARDS_PARTITIONS: '3' }, flags: { httpPort: '0' }, cwd }))
  t.equal(rows.length, SETTINGS.length)
  t.same(rows.find(r => r.env === 'REWARDS_PARTITIONS'), { key: 'partitions', env: 'REWARDS_PARTITIONS', flag: '--partitions', value: '3', source: 'env' })
  t.same(rows.find(r => r.key === 'httpPort')?.source, 'flag')
  t.match(rows.find(r => r.key === 'kafkaBrokers')?.value, 'embedded log')
})
