// The Log port on Apache Kafka (@platformatic/kafka). One KafkaClient (metadata, coordinators,
// connection pools) shared by the admin, producers, group consumers and partition readers it
// creates; close() closes them all.
import type { GroupConsumer, GroupConsumerOptions, Log, LogProducer, OffsetResetOptions, PartitionReader, ProducerOptions } from '../log-port.ts'
import { KafkaAdmin } from './kafka-admin.ts'
import { KafkaClient } from './kafka-client.ts'
import type { KafkaSecurity } from './kafka-client.ts'
import { KafkaGroupConsumer } from './kafka-group-consumer.ts'
import { KafkaPartitionReader } from './kafka-partition-reader.ts'
import { KafkaProducer } from './kafka-producer.ts'

export interface KafkaLogOptions {
  /** Bootstrap brokers, 'host:port'. */
  readonly brokers: string[]
  readonly clientId: string
  readonly connectTimeoutMs?: number
  /** SASL / TLS for every connection; absent: plaintext. */
  readonly security?: KafkaSecurity
  /** Default reset policy and listener of every group consumer (a consumer's own options win). */
  readonly offsetReset?: OffsetResetOptions
}

export class KafkaLog implements Log {
  readonly kind = 'kafka'
  readonly admin: KafkaAdmin
  readonly #client: KafkaClient
  readonly #owned = new Set<{ close (): Promise<void> }>()
  readonly #offsetReset: OffsetResetOptions | undefined

  constructor (options: KafkaLogOptions) {
    this.#offsetReset = options.offsetReset
    this.#client = new KafkaClient(options)
    this.admin = new KafkaAdmin(this.#client)
  }

  createGroupConsumer (options: GroupConsumerOptions): GroupConsumer {
    const offsetReset = { ...this.#offsetReset, ...options.offsetReset }
    return this.#own(new KafkaGroupConsumer(this.#client, this.admin, { ...options, offsetReset }))
  }

  createPartitionReader (options: { clientId: string }): PartitionReader {
    return this.#own(new KafkaPartitionReader(this.#client, this.admin, options.clientId))
  }

  async createProducer (options: ProducerOptions): Promise<LogProducer> {
    return this.#own(await KafkaProducer.create(this.#client, options))
  }

  async close (): Promise<void> {
    if (this.#client.closed) return
    const owned = [...this.#owned]
    this.#owned.clear()
    await Promise.allSettled(owned.map(resource => resource.close()))
    await this.admin.close().catch(() => undefined)
    await this.#client.close()
  }

  #own<T extends { close (): Promise<void> }> (resource: T): T {
    this.#owned.add(resource)
    const close = resource.close.bind(resource)
    resource.close = async () => {
      this.#owned.delete(resource)
      await close()
    }
    return resource
  }
}
