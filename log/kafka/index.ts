// The Kafka backend of the log port.
import type { Log } from '../log-port.ts'
import { KafkaLog } from './kafka-log.ts'
import type { KafkaLogOptions } from './kafka-log.ts'

export type { KafkaLogOptions } from './kafka-log.ts'
export type { KafkaSecurity } from './kafka-client.ts'
export { KafkaLog } from './kafka-log.ts'

/** A Log on an Apache Kafka cluster (or MSK) reached through `brokers` ('host:port'). */
export function createKafkaLog (options: KafkaLogOptions): Log {
  return new KafkaLog(options)
}
