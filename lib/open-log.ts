// Opens the log backend the configuration asks for: Apache Kafka when brokers are set, otherwise
// the embedded durable log in <dataDir>/log (one process at a time: a second opener gets
// STATE_DIR_LOCKED). The caller owns the returned Log and closes it.
import type { Log } from '../log/log-port.ts'
import type { RewardsConfig } from './config.ts'

export interface OpenLogOptions {
  /** Kafka client id; default `<applicationId>-<pid>`. */
  readonly clientId?: string
}

export async function openLogFromConfig (config: Pick<RewardsConfig, 'kafkaBrokers' | 'logDir' | 'applicationId'>, options: OpenLogOptions = {}): Promise<Log> {
  // Each backend is loaded only when used: the Kafka client alone takes seconds to import, which
  // every command (even --help) would pay otherwise.
  if (config.kafkaBrokers !== null) {
    const { createKafkaLog } = await import('../log/kafka/index.ts')
    return createKafkaLog({ brokers: [...config.kafkaBrokers], clientId: options.clientId ?? `${config.applicationId}-${process.pid}` })
  }
  const { openEmbeddedLog } = await import('../log/embedded/index.ts')
  return await openEmbeddedLog({ dir: config.logDir })
}

/** Where the log lives, for messages: the brokers, or the embedded log's directory. */
export function describeLogLocation (config: Pick<RewardsConfig, 'kafkaBrokers' | 'logDir'>): string {
  return config.kafkaBrokers !== null ? `Kafka at ${config.kafkaBrokers.join(',')}` : `the embedded log in ${config.logDir}`
}
