// Producers of the embedded log. A transaction is one atomic, fsync'd RocksDB write (records,
// end offsets and the group's offsets together), so there is never an open transaction to abort
// or to hide from readers. Fencing is checked in the same synchronous step as the write:
// - a newer producer with the same transactionalId bumped the id's epoch -> LOG_PRODUCER_FENCED;
// - offsets sent for a group generation or member that is no longer current -> LOG_PRODUCER_FENCED.
// Once fenced, a producer stays fenced (every later call rejects): the caller must close it.
// transactionTimeoutMs has no effect: no transaction ever stays open.
import { StreamsError, isStreamsError } from '../../topology/streams-error.ts'
import type { GroupMetadata, LogProducer, PartitionOffset, ProducerOptions, ProducerRecord } from '../log-port.ts'
import type { GroupCoordinator } from './group-coordinator.ts'
import type { LogStorage } from './log-storage.ts'

/** Epochs per transactionalId: starting a producer fences every older one with the same id. */
export class ProducerEpochs {
  readonly #epochs = new Map<string, number>()

  bump (transactionalId: string): number {
    const epoch = (this.#epochs.get(transactionalId) ?? 0) + 1
    this.#epochs.set(transactionalId, epoch)
    return epoch
  }

  isCurrent (transactionalId: string, epoch: number): boolean {
    return this.#epochs.get(transactionalId) === epoch
  }
}

export interface ProducerContext {
  readonly storage: LogStorage
  readonly coordinator: GroupCoordinator
  readonly epochs: ProducerEpochs
  readonly onClose: (producer: EmbeddedProducer) => void
}

export class EmbeddedProducer implements LogProducer {
  readonly #context: ProducerContext
  readonly #clientId: string
  readonly #transactionalId: string | undefined
  readonly #epoch: number
  #fenced: StreamsError | undefined
  #closed = false
  /** Records sent into the open transaction (transactional producers). */
  #open: ProducerRecord[] = []

  constructor (context: ProducerContext, options: ProducerOptions) {
    this.#context = context
    this.#clientId = options.clientId
    this.#transactionalId = options.transactionalId
    this.#epoch = options.transactionalId === undefined ? 0 : context.epochs.bump(options.transactionalId)
  }

  async send (records: ProducerRecord[]): Promise<PartitionOffset[]> {
    this.#assertOpen()
    this.#assertNotFenced()
    if (this.#transactionalId === undefined) return this.#context.storage.append(records)
    // The open transaction is written at its commit, in the same atomic write: offsets unknown yet.
    for (const r of records) this.#open.push(r)
    return records.map(r => ({ topic: r.topic, partition: r.partition ?? -1, offset: -1n }))
  }

  async abortTransaction (): Promise<void> {
    this.#open = []
  }

  async commitTransaction (batch: { records: ProducerRecord[], offsets?: { group: GroupMetadata, offsets: PartitionOffset[] } }): Promise<PartitionOffset[]> {
    this.#assertOpen()
    if (this.#transactionalId === undefined) {
      throw new StreamsError('CONFIG_INVALID', `Producer ${this.#clientId} has no transactionalId: commitTransaction needs a transactional producer`)
    }
    // The open transaction is this commit's, whatever its outcome.
    const sent = this.#open
    this.#open = []
    this.#assertNotFenced()
    const offsets = batch.offsets
    if (offsets !== undefined) {
      const { groupId, memberId, generationId } = offsets.group
      if (!this.#context.coordinator.isCurrent(groupId, memberId, generationId)) {
        throw this.#fenced = new StreamsError('LOG_PRODUCER_FENCED', `Transaction of ${this.#transactionalId} fenced: generation ${generationId} of member ${memberId} is not current in group ${groupId}`, { details: { groupId, memberId, generationId } })
      }
    }
    try {
      const records = sent.length === 0 ? batch.records : [...sent, ...batch.records]
      return this.#context.storage.append(records, offsets === undefined ? undefined : { groupId: offsets.group.groupId, offsets: offsets.offsets }).slice(sent.length)
    } catch (error) {
      if (isStreamsError(error, 'LOG_PRODUCER_FENCED')) throw error
      throw new StreamsError('LOG_TRANSACTION_ABORTED', `Transaction of ${this.#transactionalId} aborted: ${(error as Error).message}`, { cause: error })
    }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#context.onClose(this)
  }

  #assertNotFenced (): void {
    if (this.#fenced !== undefined) throw this.#fenced
    if (this.#transactionalId !== undefined && !this.#context.epochs.isCurrent(this.#transactionalId, this.#epoch)) {
      throw this.#fenced = new StreamsError('LOG_PRODUCER_FENCED', `Producer ${this.#clientId} fenced: a newer producer with transactionalId ${this.#transactionalId} exists`, { details: { transactionalId: this.#transactionalId } })
    }
  }

  #assertOpen (): void {
    if (this.#closed) throw new StreamsError('LOG_CLOSED', `Producer ${this.#clientId} is closed`)
  }
}
