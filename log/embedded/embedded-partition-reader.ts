// Reads chosen partitions from chosen offsets, outside any group (state-store restoration from
// changelogs). Everything in the embedded log is committed data, so positions only ever pass
// records (no control records to skip).
import { StreamsError } from '../../topology/streams-error.ts'
import type { LogRecord, PartitionOffset, PartitionReader, TopicPartition } from '../log-port.ts'
import type { AppendNotifier } from './append-notifier.ts'
import type { LogStorage } from './log-storage.ts'
import { PartitionPositions } from './partition-positions.ts'
import { WakeSignal } from './wake-signal.ts'

const MAX_RECORDS_PER_POLL = 1000

export interface PartitionReaderContext {
  readonly storage: LogStorage
  readonly notifier: AppendNotifier
  readonly onClose: (reader: EmbeddedPartitionReader) => void
}

export class EmbeddedPartitionReader implements PartitionReader {
  readonly #context: PartitionReaderContext
  readonly #clientId: string
  readonly #signal = new WakeSignal()
  readonly #positions = new PartitionPositions()
  #closed = false

  constructor (context: PartitionReaderContext, options: { clientId: string }) {
    this.#context = context
    this.#clientId = options.clientId
  }

  assign (positions: PartitionOffset[]): void {
    this.#assertOpen()
    for (const position of positions) {
      if (position.offset < 0n) throw new StreamsError('CONFIG_INVALID', `assign: negative offset ${position.offset} for ${position.topic}-${position.partition}`)
      this.#positions.set(position, position.offset)
      this.#context.notifier.watch(position.topic, this.#signal)
    }
    this.#signal.notify()
  }

  unassign (partitions: TopicPartition[]): void {
    this.#assertOpen()
    for (const tp of partitions) this.#positions.delete(tp)
    const topics = new Set(this.#positions.partitions().map(tp => tp.topic))
    for (const tp of partitions) if (!topics.has(tp.topic)) this.#context.notifier.unwatch(tp.topic, this.#signal)
  }

  async poll (maxWaitMs: number): Promise<LogRecord[]> {
    this.#assertOpen()
    const deadline = Date.now() + Math.max(0, maxWaitMs)
    for (;;) {
      if (this.#closed) return []
      const seq = this.#signal.seq
      const records = await this.#positions.fetch(this.#context.storage, MAX_RECORDS_PER_POLL, () => true)
      if (records.length > 0) return records
      const remaining = deadline - Date.now()
      if (remaining <= 0) return []
      await this.#signal.wait(remaining, seq)
    }
  }

  position (partition: TopicPartition): bigint {
    this.#assertOpen()
    const offset = this.#positions.get(partition)
    if (offset === undefined) throw new StreamsError('CONFIG_INVALID', `position: ${partition.topic}-${partition.partition} is not assigned to reader ${this.#clientId}`)
    return offset
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#context.notifier.unwatchAll(this.#signal)
    this.#positions.clear()
    this.#signal.notify()
    this.#context.onClose(this)
  }

  #assertOpen (): void {
    if (this.#closed) throw new StreamsError('LOG_CLOSED', `Partition reader ${this.#clientId} is closed`)
  }
}
