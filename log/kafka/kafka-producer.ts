// LogProducer on @platformatic/kafka's Producer. Non-transactional: idempotent, acks=all.
// Transactional: InitProducerId runs when the producer is created (it fences any older producer
// with the same transactional id and makes the broker abort that producer's open transaction);
// commitTransaction = begin, send, AddOffsetsToTxn, one TxnOffsetCommit carrying the group
// generation and member id (KIP-447), EndTxn(commit). Any failure aborts. These make this producer
// refuse any further use (the caller replaces it; docs/engine.md "Faults and recovery"):
// - fencing and lost sequence state (kafka-errors.ts PRODUCER_REPLACEMENT_ERRORS) reject with
//   LOG_PRODUCER_FENCED (platformatic would otherwise re-run InitProducerId on the next begin and
//   fence the newer one);
// - records the broker refuses (refused-records.ts) reject with LOG_RECORD_REFUSED naming them:
//   platformatic does not roll its sequence numbers back, so this producer's next send would fail
//   OUT_OF_ORDER_SEQUENCE_NUMBER;
// - INVALID_TXN_STATE / UNKNOWN_SERVER_ERROR, or an abort that fails, reject with
//   LOG_TRANSACTION_UNKNOWN.
import { Producer, txnOffsetCommitV4 } from '@platformatic/kafka'
import type { ConnectionPool, Consumer } from '@platformatic/kafka'
import { StreamsError } from '../../topology/streams-error.ts'
import type { GroupMetadata, LogProducer, PartitionOffset, ProducerOptions, ProducerRecord, SendOptions, TopicPartition } from '../log-port.ts'
import { partitionForKey } from '../murmur2-partitioner.ts'
import type { KafkaClient } from './kafka-client.ts'
import { describeError, hasProtocolError, isFencingError, protocolErrorOf, toStreamsError, TRANSACTION_STATE_ERRORS } from './kafka-errors.ts'
import type { Refusal } from './refused-records.ts'
import { sendAll, type Message } from './produce-requests.ts'
import { mark } from '../../lib/tracing/engine-timeline.ts'

type Transaction = Awaited<ReturnType<Producer<Buffer, Buffer, Buffer, Buffer>['beginTransaction']>>

/** A transaction records are sent into before its commit (send() on a transactional producer). */
interface OpenTransaction {
  /** Resolves once the transaction is begun (after the previous one ended). */
  readonly begun: Promise<Transaction>
  /** The sends into it, one after the other (sequence numbers stay in order per partition). */
  chain: Promise<unknown>
  /** Records sent into it so far: the index of the next one. */
  count: number
  /** The first failed send: the transaction is aborted at its commit. */
  error: unknown
  refusal: Refusal | null
  refusedTopic: string
}

/** Produce and transaction requests are retried up to this many times (platformatic counts
 *  attempts, not time; the delays below make it ~4 s for CONCURRENT_TRANSACTIONS, ~18 s else). */
const PRODUCER_RETRIES = 20

/** Right after EndTxn the coordinator answers CONCURRENT_TRANSACTIONS until the previous
 *  transaction's markers are written: a few ms when idle, seconds on a loaded broker. Retry that
 *  fast at first (like the Java client), then back off to 250 ms; other errors from 100 ms to 1 s. */
export function retryDelayMs (attempt: number, concurrentTransactions: boolean): number {
  return concurrentTransactions ? Math.min(250, 5 * 2 ** Math.max(0, attempt - 1)) : Math.min(1000, 50 * 2 ** attempt)
}

export class KafkaProducer implements LogProducer {
  readonly #client: KafkaClient
  readonly #producer: Producer<Buffer, Buffer, Buffer, Buffer>
  readonly #transactionalId: string | undefined
  readonly #pool: ConnectionPool
  /** A transaction begun (InitProducerId done) but not yet used. */
  #pending: Transaction | undefined
  /** The transaction send() has records in, not yet committed or aborted. */
  #open: OpenTransaction | undefined
  #fenced: StreamsError | undefined
  #closed = false
  /** Serialises transactions: one at a time per producer. */
  #queue: Promise<unknown> = Promise.resolve()
  readonly #roundRobin = new Map<string, number>()

  private constructor (client: KafkaClient, options: ProducerOptions) {
    this.#client = client
    this.#transactionalId = options.transactionalId
    this.#pool = client.createPool(30_000, options.clientId)
    this.#producer = new Producer<Buffer, Buffer, Buffer, Buffer>({
      ...client.connectionOptions,
      clientId: options.clientId,
      bootstrapBrokers: client.brokers.map(b => `${b.host}:${b.port}`),
      idempotent: true,
      acks: -1,
      retries: PRODUCER_RETRIES,
      retryDelay: (_client, _operation, attempt, _retries, error) => retryDelayMs(attempt, hasProtocolError(error, 'CONCURRENT_TRANSACTIONS')),
      // Base `timeout` is both the produce request timeout and, for InitProducerId, the
      // transaction timeout the broker enforces.
      timeout: options.transactionTimeoutMs ?? 60_000,
      ...(options.transactionalId === undefined ? {} : { transactionalId: options.transactionalId })
    })
  }

  static async create (client: KafkaClient, options: ProducerOptions): Promise<KafkaProducer> {
    client.assertOpen()
    const producer = new KafkaProducer(client, options)
    if (options.transactionalId !== undefined) {
      try {
        // beginTransaction runs FindCoordinator + InitProducerId now: the fencing happens at start.
        // producerId -1 / epoch -1: "a new producer instance". platformatic sends 0 / 0 by default,
        // which the coordinator reads as "bump epoch 0 of producer 0" and answers PRODUCER_FENCED
        // as soon as the transactional id already has a producer (every restart).
        producer.#pending = await producer.#producer.beginTransaction({ producerId: -1n, producerEpoch: -1 })
      } catch (error) {
        await producer.close().catch(() => undefined)
        throw toStreamsError(error, 'LOG_CONNECTION', 'initProducerId')
      }
    }
    return producer
  }

  async send (records: ProducerRecord[], options: SendOptions = {}): Promise<PartitionOffset[]> {
    this.#assertUsable()
    if (this.#transactionalId !== undefined) return await this.#sendInTransaction(records, options)
    if (records.length === 0) return []
    const messages = await this.#toMessages(records)
    const refusal: { found: Refusal | null } = { found: null }
    try {
      return await sendAll(messages, options.isolate ?? [], refusal, async chunk => await this.#producer.send({ messages: chunk }))
    } catch (error) {
      if (refusal.found !== null) throw this.#refused(refusal.found, records[refusal.found.refused[0]!.index]?.topic ?? '?', error)
      throw toStreamsError(error, 'LOG_CONNECTION', 'send')
    }
  }

  /** Appends to the open transaction, begun here when none is (after the previous one ended). */
  async #sendInTransaction (records: ProducerRecord[], options: SendOptions): Promise<PartitionOffset[]> {
    if (records.length === 0) return []
    const open = this.#open ??= this.#begin()
    const base = open.count
    open.count += records.length
    const run = open.chain.then(async () => {
      if (open.error !== undefined) throw open.error // the transaction failed: it is aborted at commit
      const refusal: { found: Refusal | null } = { found: null }
      try {
        const messages = await this.#toMessages(records)
        const transaction = await open.begun
        return await sendAll(messages, options.isolate ?? [], refusal, async chunk => await transaction.send({ messages: chunk }))
      } catch (error) {
        open.error ??= error
        if (refusal.found !== null && open.refusal === null) {
          open.refusal = { exact: refusal.found.exact, refused: refusal.found.refused.map(r => ({ ...r, index: r.index + base })) }
          open.refusedTopic = records[refusal.found.refused[0]!.index]?.topic ?? '?'
        }
        throw toStreamsError(error, 'LOG_TRANSACTION_ABORTED', 'send')
      }
    })
    open.chain = run.catch(() => undefined)
    return await run
  }

  /** A transaction that begins once the previous one has ended (the InitProducerId's first). */
  #begin (): OpenTransaction {
    const asked = performance.now()
    const begun = this.#queue.then(async () => {
      this.#assertUsable() // a fenced producer must not begin (platformatic would re-run InitProducerId)
      const pending = this.#pending
      this.#pending = undefined
      const t = performance.now()
      const transaction = pending ?? await this.#producer.beginTransaction()
      mark('txn.begin', t, { queued: Math.round(t - asked) })
      return transaction
    })
    begun.catch(() => undefined) // observed by the sends and the commit
    this.#queue = begun.catch(() => undefined)
    return { begun, chain: begun, count: 0, error: undefined, refusal: null, refusedTopic: '' }
  }

  /** The first commit of an application otherwise looked these up one after the other, each a
   *  round trip to a broker that may be busy: 1–3 s on a loaded machine (docs/benchmarks.md,
   *  "fourth pass"). The metadata goes to both caches (ours for partitioning, platformatic's for
   *  its produce requests); the group coordinator's connection is the one TxnOffsetCommit uses. */
  async prepare (topics: readonly string[], groupId?: string): Promise<void> {
    if (this.#closed || this.#client.closed) return
    const names = [...topics]
    await Promise.allSettled([
      names.length === 0 ? undefined : this.#client.metadata(names),
      names.length === 0 ? undefined : this.#producer.metadata({ topics: names }),
      groupId === undefined ? undefined : this.#client.coordinatorConnection('group', groupId, this.#pool)
    ])
  }

  async abortTransaction (): Promise<void> {
    const open = this.#open
    this.#open = undefined
    if (open === undefined) return
    const run = this.#queue.then(async () => {
      await open.chain
      let transaction: Transaction
      try { transaction = await open.begun } catch { return } // never begun: nothing to abort
      try {
        await transaction.abort()
      } catch (error) {
        if (isFencingError(error)) throw this.#failure(error, 'abort')
        this.#fenced = new StreamsError('LOG_TRANSACTION_UNKNOWN', `abort failed (${describeError(error)})`, { cause: error })
        throw this.#fenced
      }
    })
    this.#queue = run.catch(() => undefined)
    await run
  }

  async commitTransaction (batch: { records: ProducerRecord[], offsets?: { group: GroupMetadata, offsets: PartitionOffset[] }, isolate?: readonly TopicPartition[] }): Promise<PartitionOffset[]> {
    if (this.#transactionalId === undefined) throw new StreamsError('CONFIG_INVALID', 'commitTransaction() needs a transactionalId')
    // The open transaction is this commit's: a send from now on begins the next one.
    const open = this.#open
    this.#open = undefined
    const run = this.#queue.then(() => this.#runTransaction(batch, open), () => this.#runTransaction(batch, open))
    this.#queue = run.catch(() => undefined)
    return await run
  }

  async #runTransaction (batch: { records: ProducerRecord[], offsets?: { group: GroupMetadata, offsets: PartitionOffset[] }, isolate?: readonly TopicPartition[] }, open: OpenTransaction | undefined): Promise<PartitionOffset[]> {
    let t = performance.now()
    if (open !== undefined) await open.chain
    mark('txn.sends', t)
    this.#assertUsable()
    const messages = await this.#toMessages(batch.records)
    let transaction: Transaction
    try {
      if (open !== undefined) {
        transaction = await open.begun
      } else {
        const pending = this.#pending
        this.#pending = undefined
        transaction = pending ?? await this.#producer.beginTransaction()
      }
    } catch (error) {
      throw this.#failure(error, 'beginTransaction')
    }
    const base = open?.count ?? 0
    const refusal: { found: Refusal | null } = { found: open?.refusal ?? null }
    const refusedTopic = (): string => open?.refusal != null ? open.refusedTopic : (batch.records[(refusal.found?.refused[0]?.index ?? 0) - base]?.topic ?? '?')
    try {
      if (open?.error !== undefined) throw open.error
      // The input offsets (AddOffsetsToTxn, then TxnOffsetCommit to the group coordinator) go
      // while the records are produced, as the Java producer's sendOffsetsToTransaction does: two
      // round trips off every commit's path (docs/benchmarks.md, "sixth pass"). Both settle before
      // EndTxn, and before an abort (an EndTxn racing an AddOffsetsToTxn could be refused).
      const group = batch.offsets !== undefined && batch.offsets.offsets.length > 0 ? batch.offsets : undefined
      const offsetsSent = group === undefined ? undefined : this.#sendOffsets(transaction, group.group, group.offsets)
      t = performance.now()
      const [sent, committed] = await Promise.allSettled([sendAll(messages, batch.isolate ?? [], refusal, async chunk => await transaction.send({ messages: chunk }), base), offsetsSent])
      mark('txn.send', t, { records: messages.length })
      if (sent.status === 'rejected') throw sent.reason
      if (committed.status === 'rejected') throw committed.reason
      const offsets = sent.value
      t = performance.now()
      await transaction.commit()
      mark('txn.endTxn', t)
      return offsets
    } catch (error) {
      if (refusal.found !== null) {
        // Never asked to commit: if this abort fails, the next producer's InitProducerId aborts it.
        await transaction.abort().catch(() => undefined)
        throw this.#refused(refusal.found, refusedTopic(), error)
      }
      if (!isProducerFencing(error)) {
        // Abortable: end the transaction so the partitions' LSO moves on.
        try {
          await transaction.abort()
        } catch (abortError) {
          if (isFencingError(abortError)) throw this.#failure(abortError, 'abort')
          // The transaction may still commit (an EndTxn that timed out here can have reached the
          // coordinator) or abort: refuse further use; the caller replaces the producer, which
          // settles the transaction, and reads its state again from the log.
          this.#fenced = new StreamsError('LOG_TRANSACTION_UNKNOWN', `commit failed (${describeError(error)}), then abort failed (${describeError(abortError)})`, { cause: error, details: { abortError: describeError(abortError) } })
          throw this.#fenced
        }
      }
      throw this.#failure(error, 'commitTransaction')
    }
  }

  async #sendOffsets (transaction: Transaction, group: GroupMetadata, offsets: PartitionOffset[]): Promise<void> {
    let t = performance.now()
    await transaction.addConsumer({ groupId: group.groupId } as unknown as Consumer)
    mark('txn.addOffsets', t)
    t = performance.now()
    await this.#txnOffsetCommit(group, offsets)
    mark('txn.offsetCommit', t)
  }

  async #txnOffsetCommit (group: GroupMetadata, offsets: PartitionOffset[]): Promise<void> {
    const producerId = this.#producer.producerId
    const producerEpoch = this.#producer.producerEpoch
    if (producerId === undefined || producerEpoch === undefined) throw new StreamsError('LOG_TRANSACTION_ABORTED', 'producer id not initialised')
    const topics = new Map<string, txnOffsetCommitV4.TxnOffsetCommitRequestPartition[]>()
    for (const o of offsets) {
      let list = topics.get(o.topic)
      if (list === undefined) topics.set(o.topic, list = [])
      list.push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, committedMetadata: null })
    }
    await this.#client.withCoordinator('group', group.groupId, this.#pool, async connection => {
      await txnOffsetCommitV4.api.async(connection, this.#transactionalId!, group.groupId, producerId, producerEpoch, group.generationId, group.memberId, null, [...topics].map(([name, partitions]) => ({ name, partitions })))
    })
  }

  /** LOG_RECORD_REFUSED naming the refused records; this producer is no longer usable. */
  #refused (refusal: Refusal, where: string, cause: unknown): StreamsError {
    const first = refusal.refused[0]!
    this.#fenced = new StreamsError('LOG_RECORD_REFUSED', `the broker refused ${refusal.exact ? `${refusal.refused.length} record(s)` : `a batch of ${refusal.refused.length} record(s)`} of ${where}: ${first.code} (${first.message})`, { cause, details: { refused: refusal.refused, exact: refusal.exact } })
    return this.#fenced
  }

  #failure (error: unknown, operation: string): StreamsError {
    if (isFencingError(error)) {
      this.#fenced = toStreamsError(error, 'LOG_PRODUCER_FENCED', operation)
      return this.#fenced
    }
    if (error instanceof StreamsError && error.code === 'LOG_CLOSED') return error
    const stateError = protocolErrorOf(error, TRANSACTION_STATE_ERRORS)
    if (stateError !== null) {
      this.#fenced = new StreamsError('LOG_TRANSACTION_UNKNOWN', `${operation}: ${describeError(error)}`, { cause: error, details: { protocolError: stateError } })
      return this.#fenced
    }
    const mapped = toStreamsError(error, 'LOG_TRANSACTION_ABORTED', operation)
    if (mapped.code === 'LOG_AUTHORIZATION') return (this.#fenced = mapped)
    return mapped.code === 'LOG_TRANSACTION_ABORTED' ? mapped : new StreamsError('LOG_TRANSACTION_ABORTED', mapped.message, { cause: error, details: { code: mapped.code } })
  }

  #assertUsable (): void {
    if (this.#closed || this.#client.closed) throw new StreamsError('LOG_CLOSED')
    if (this.#fenced !== undefined) throw this.#fenced
  }

  async #toMessages (records: ProducerRecord[]): Promise<Message[]> {
    // Every topic's partition count: keys are hashed with it, and explicit partitions are checked
    // against it (platformatic would silently wrap an out-of-range partition modulo the count).
    // Records come in runs of one topic: a topic is looked up once per run, not per record.
    const counts = new Map<string, number>()
    let seenTopic: string | undefined
    for (const r of records) if (r.topic !== seenTopic) counts.set(seenTopic = r.topic, 0)
    if (counts.size > 0) {
      const metadata = await this.#client.metadata([...counts.keys()])
      for (const topic of counts.keys()) {
        const found = metadata.topics.get(topic)
        if (found === undefined) throw new StreamsError('LOG_TOPIC_NOT_FOUND', `Topic ${topic} does not exist`)
        counts.set(topic, found.partitionsCount)
      }
    }
    // One BigInt per distinct timestamp, not per record: a batch's records mostly share their
    // input's millisecond (BigInts are immutable, so messages may share one).
    let lastMs = Number.NaN
    let lastTimestamp = 0n
    let lastTopic: string | undefined
    let partitions = 0
    return records.map(r => {
      if (r.topic !== lastTopic) { partitions = counts.get(r.topic)!; lastTopic = r.topic }
      let partition = r.partition
      if (partition !== undefined && (!Number.isInteger(partition) || partition < 0 || partition >= partitions)) {
        throw new StreamsError('LOG_TOPIC_NOT_FOUND', `Topic ${r.topic} has no partition ${partition}`)
      }
      if (partition === undefined) {
        if (r.key !== null) {
          partition = partitionForKey(r.key, partitions)
        } else {
          const next = this.#roundRobin.get(r.topic) ?? 0
          this.#roundRobin.set(r.topic, next + 1)
          partition = next % partitions
        }
      }
      let headers: Map<Buffer, Buffer> | undefined
      for (const name in r.headers) (headers ??= new Map()).set(Buffer.from(name, 'utf8'), r.headers[name]!)
      const ms = r.timestamp ?? Date.now()
      if (ms !== lastMs) { lastTimestamp = BigInt(ms); lastMs = ms }
      // platformatic writes a null value as a tombstone (length -1); its type says Buffer.
      const message: Message = { topic: r.topic, partition, value: r.value as Buffer, timestamp: lastTimestamp }
      if (headers !== undefined) message.headers = headers
      if (r.key !== null) message.key = r.key
      return message
    })
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#open?.chain
    await this.#queue.catch(() => undefined)
    await this.#producer.close().catch(() => undefined)
    await this.#client.closePool(this.#pool).catch(() => undefined)
  }
}

function isProducerFencing (error: unknown): boolean {
  return findAny(error, ['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED'])
}

function findAny (error: unknown, ids: string[]): boolean {
  const seen = new Set<unknown>()
  const visit = (e: unknown): boolean => {
    if (e === null || typeof e !== 'object' || seen.has(e)) return false
    seen.add(e)
    const record = e as { apiId?: unknown, errors?: unknown, cause?: unknown }
    if (typeof record.apiId === 'string' && ids.includes(record.apiId)) return true
    if (Array.isArray(record.errors) && record.errors.some(visit)) return true
    return visit(record.cause)
  }
  return visit(error)
}
