// The Kafka backend of the log port.
import type { Log } from '../log-port.ts'
import { KafkaLog } from './kafka-log.ts'
import type { KafkaLogOptions } from './kafka-log.ts'

export type { KafkaLogOptions } from './kafka-log.ts'
export { KafkaLog } from './kafka-log.ts'

/** A Log on an Apache Kafka cluster (or MSK) reached through `brokers` ('host:port'). */
export function createKafkaLog (options: { brokers: string[], clientId: string, connectTimeoutMs?: number }): Log {
  const kafkaOptions: KafkaLogOptions = options
  return new KafkaLog(kafkaOptions)
}
