// Opens the log backend the configuration asks for: Apache Kafka when brokers are set, otherwise
// the embedded durable log in <dataDir>/log (one process at a time: a second opener gets
// STATE_DIR_LOCKED). The caller owns the returned Log and closes it.
import { readFileSync } from 'node:fs'
import type { KafkaSecurity } from '../log/kafka/kafka-client.ts'
import type { Log, OffsetReset } from '../log/log-port.ts'
import type { RewardsConfig } from './config.ts'
import { RewardsError } from './errors.ts'

type KafkaSecurityConfig = Pick<RewardsConfig, 'kafkaSaslMechanism' | 'kafkaSaslUsername' | 'kafkaSaslPassword' | 'kafkaTls' | 'kafkaTlsCaFile'>

/** The Kafka connection security the configuration asks for (loadConfig already checked that a
 *  mechanism comes with both credentials, and a CA file with TLS). */
export function kafkaSecurityFromConfig (config: KafkaSecurityConfig): KafkaSecurity {
  const { kafkaSaslMechanism: mechanism, kafkaSaslUsername: username, kafkaSaslPassword: password } = config
  let ca: string | undefined
  if (config.kafkaTlsCaFile !== null) {
    try {
      ca = readFileSync(config.kafkaTlsCaFile, 'utf8')
    } catch (error) {
      throw new RewardsError('CONFIG_INVALID', `REWARDS_KAFKA_TLS_CA_FILE: cannot read ${config.kafkaTlsCaFile}`, { cause: error })
    }
  }
  return {
    ...(mechanism !== null && username !== null && password !== null ? { sasl: { mechanism: mechanism.toUpperCase() as 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512', username, password } } : {}),
    ...(config.kafkaTls ? { tls: ca === undefined ? {} : { ca } } : {})
  }
}

export interface OpenLogOptions {
  /** Kafka client id; default `<applicationId>-<pid>`. */
  readonly clientId?: string
  /** Told of every out-of-range offset a group consumer resets (lib/offset-reset-reporter.ts). */
  readonly onOffsetReset?: (reset: OffsetReset) => void
}

export async function openLogFromConfig (config: Pick<RewardsConfig, 'kafkaBrokers' | 'logDir' | 'applicationId'> & Partial<Pick<RewardsConfig, 'autoOffsetReset'>> & KafkaSecurityConfig, options: OpenLogOptions = {}): Promise<Log> {
  // REWARDS_AUTO_OFFSET_RESET for every group consumer of this connection (Kafka's default).
  const offsetReset = { policy: config.autoOffsetReset ?? 'earliest', ...(options.onOffsetReset !== undefined ? { onReset: options.onOffsetReset } : {}) }
  // Each backend is loaded only when used: the Kafka client alone takes seconds to import, which
  // every command (even --help) would pay otherwise.
  if (config.kafkaBrokers !== null) {
    const { createKafkaLog } = await import('../log/kafka/index.ts')
    return createKafkaLog({ brokers: [...config.kafkaBrokers], clientId: options.clientId ?? `${config.applicationId}-${process.pid}`, security: kafkaSecurityFromConfig(config), offsetReset })
  }
  const { openEmbeddedLog } = await import('../log/embedded/index.ts')
  return await openEmbeddedLog({ dir: config.logDir, offsetReset })
}

/** Where the log lives, for messages: the brokers, or the embedded log's directory. */
export function describeLogLocation (config: Pick<RewardsConfig, 'kafkaBrokers' | 'logDir'> & Partial<Pick<RewardsConfig, 'kafkaSaslMechanism' | 'kafkaTls'>>): string {
  if (config.kafkaBrokers === null) return `the embedded log in ${config.logDir}`
  // How it connects, never with whom: no credentials here.
  const security = [config.kafkaSaslMechanism == null ? null : `SASL ${config.kafkaSaslMechanism.toUpperCase()}`, config.kafkaTls === true ? 'TLS' : null].filter(s => s !== null)
  return `Kafka at ${config.kafkaBrokers.join(',')}${security.length > 0 ? ` (${security.join(', ')})` : ''}`
}
