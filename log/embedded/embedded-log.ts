// The embedded log: one RocksDB database in a directory, owned by one process (RocksDB's LOCK
// file), with its group coordinator in memory. It owns every client it creates and closes them
// before the database.
import { StreamsError } from '../../topology/streams-error.ts'
import type { GroupConsumer, GroupConsumerOptions, Log, LogAdmin, LogProducer, OffsetResetOptions, PartitionReader, ProducerOptions, TopicPartition } from '../log-port.ts'
import { AppendNotifier } from './append-notifier.ts'
import { EmbeddedAdmin } from './embedded-admin.ts'
import { EmbeddedGroupConsumer } from './embedded-group-consumer.ts'
import { EmbeddedPartitionReader } from './embedded-partition-reader.ts'
import { EmbeddedProducer, ProducerEpochs } from './embedded-producer.ts'
import { GroupCoordinator } from './group-coordinator.ts'
import { LogCompactor } from './log-compactor.ts'
import type { LogStorage } from './log-storage.ts'
import type { RocksDatabase } from './rocks-database.ts'

export class EmbeddedLog implements Log {
  readonly kind = 'embedded'
  readonly admin: LogAdmin
  readonly #dir: string
  readonly #offsetReset: OffsetResetOptions | undefined
  readonly #db: RocksDatabase
  readonly #storage: LogStorage
  readonly #coordinator: GroupCoordinator
  readonly #compactor: LogCompactor
  readonly #notifier = new AppendNotifier()
  readonly #epochs = new ProducerEpochs()
  readonly #consumers = new Set<EmbeddedGroupConsumer>()
  readonly #readers = new Set<EmbeddedPartitionReader>()
  readonly #producers = new Set<EmbeddedProducer>()
  #closing: Promise<void> | undefined

  constructor (dir: string, db: RocksDatabase, storage: LogStorage, options: { minDirtyRecords?: number, offsetReset?: OffsetResetOptions } = {}) {
    this.#offsetReset = options.offsetReset
    this.#dir = dir
    this.#db = db
    this.#storage = storage
    this.#coordinator = new GroupCoordinator(topic => storage.topic(topic)?.partitions)
    this.#compactor = new LogCompactor(db, storage, options)
    storage.onAppend = appended => {
      this.#notifier.appended(appended.topics)
      this.#compactor.appended(appended)
    }
    this.admin = new EmbeddedAdmin(storage, this.#coordinator, () => { this.#assertOpen() })
  }

  createGroupConsumer (options: GroupConsumerOptions): GroupConsumer {
    this.#assertOpen()
    const consumer = new EmbeddedGroupConsumer({
      storage: this.#storage,
      coordinator: this.#coordinator,
      notifier: this.#notifier,
      onClose: c => { this.#consumers.delete(c) }
    }, { ...options, offsetReset: { ...this.#offsetReset, ...options.offsetReset } })
    this.#consumers.add(consumer)
    return consumer
  }

  createPartitionReader (options: { clientId: string }): PartitionReader {
    this.#assertOpen()
    const reader = new EmbeddedPartitionReader({
      storage: this.#storage,
      notifier: this.#notifier,
      onClose: r => { this.#readers.delete(r) }
    }, options)
    this.#readers.add(reader)
    return reader
  }

  async createProducer (options: ProducerOptions): Promise<LogProducer> {
    this.#assertOpen()
    const producer = new EmbeddedProducer({
      storage: this.#storage,
      coordinator: this.#coordinator,
      epochs: this.#epochs,
      onClose: p => { this.#producers.delete(p) }
    }, options)
    this.#producers.add(producer)
    return producer
  }

  /** Compacts one partition of a compacted topic now (it also happens in the background, see
   *  log-compactor.ts); resolves with the number of records removed. */
  compact (partition: TopicPartition): Promise<number> {
    this.#assertOpen()
    return this.#compactor.compact(partition)
  }

  /** Resolves once no background compaction is running or queued (tests, tools). */
  compactionIdle (): Promise<void> {
    return this.#compactor.idle()
  }

  close (): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close (): Promise<void> {
    for (const consumer of [...this.#consumers]) await consumer.close()
    for (const reader of [...this.#readers]) await reader.close()
    for (const producer of [...this.#producers]) await producer.close()
    await this.#compactor.close()
    this.#coordinator.close()
    await this.#db.close()
  }

  #assertOpen (): void {
    if (this.#closing !== undefined) throw new StreamsError('LOG_CLOSED', `Embedded log ${this.#dir} is closed`)
  }
}
