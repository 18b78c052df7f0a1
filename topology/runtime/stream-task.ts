// A task: one partition of a sub-topology's co-partitioned sources, its processors, its slice of
// the state stores. The thread feeds it records (addRecords), drives it (process, punctuate) and
// commits it (prepareCommit -> transaction -> postCommit, or abortUncommitted).
// Processing is synchronous per record: processors read and write stores without awaiting.
import { context, trace, type Span } from '@opentelemetry/api'
import type { Headers, LogRecord, PartitionOffset, ProducerRecord, TopicPartition } from '../../log/log-port.ts'
import type { Cancellable, Processor, ProcessorContext, PunctuationType, TaskId } from '../processor/processor.ts'
import type { Record, RecordMetadata } from '../processor/record.ts'
import type { KeyValueStore } from '../../stores/key-value-store.ts'
import { StreamsError } from '../streams-error.ts'
import { outputHeaders, startRecordSpan } from '../../lib/tracing/record-span.ts'
import { tracingActive } from '../../lib/tracing/tracer.ts'
import type { SinkNode, SourceNode } from '../topology.ts'
import { PartitionGroup } from './partition-group.ts'
import { RECORD_CACHE, type RecordCacheHost } from './record-cache.ts'
import { DROPPED_RECORDS, DroppedRecordsCounter, type DroppedRecordsSensor } from './dropped-records.ts'
import { RecordCollector } from './record-collector.ts'
import type { Punctuation, StreamTaskOptions, Target } from './stream-task-types.ts'
import { changelogTopicName, taskIdToString } from './task-names.ts'

// Imported from here by task-manager.ts, tests and benchmarks.
export { changelogTopicName, taskIdToString } from './task-names.ts'

/** A sink could not serialize an output; `details.input` is the input record, `details.topic`
 *  the output topic. */
export function isOutputSerializationError (error: unknown): error is StreamsError & { details: { topic: string, input: LogRecord | null } } {
  return error instanceof StreamsError && error.code === 'SERDE_ERROR' && error.details?.outputSerialization === true
}

const inputKey = (r: LogRecord): string => `${r.topic}:${r.partition}:${r.offset}`

const EMPTY_HEADERS: Headers = Object.freeze({}) as Headers

export class StreamTask {
  readonly id: TaskId
  readonly name: string
  readonly inputs: TopicPartition[]
  readonly #options: StreamTaskOptions
  readonly #group: PartitionGroup
  readonly #collector: RecordCollector
  readonly #processors = new Map<string, Processor<unknown, unknown, unknown, unknown>>()
  readonly #contexts = new Map<string, ProcessorContext<unknown, unknown>>()
  readonly #sourceByTopic = new Map<string, SourceNode>()
  /** Each node's resolved target, and each source's children's (initialize()). */
  readonly #targets = new Map<string, Target>()
  readonly #sourceTargets = new Map<string, Target[]>()
  readonly #punctuations: Punctuation[] = []
  /** The last processed record per input topic (one partition each): the offsets to commit are
   *  theirs + 1, computed at the commit rather than allocated per record. */
  readonly #consumed = new Map<string, LogRecord>()
  #streamTimeMs = -1
  /** The input record being processed: each output is traced back to it (record-collector.ts);
   *  processors read its metadata and headers. */
  #currentInput: LogRecord | null = null
  /** Input records (by topic:partition:offset) that are not processed again: their outputs were
   *  refused, and the production exception handler's records are sent in their place. */
  readonly #replaced = new Map<string, { input: LogRecord, records: readonly ProducerRecord[] }>()
  /** The span of the record being processed, when tracing is on (lib/tracing/record-span.ts). */
  #span: Span | undefined
  /** The record caches of this task's processors (record-cache.ts), in init order. */
  readonly #caches: Array<{ flush (): void, clear (): void }> = []
  readonly #cacheHost: RecordCacheHost | undefined
  /** Records processors dropped on purpose (late records of windows), per processor. */
  readonly droppedRecords = new DroppedRecordsCounter()
  /** tracingActive() as of the last addRecords(): asked once per fetched batch, not per record
   *  (the lookup of the global tracer provider showed in the engine's profile). */
  #tracing = false
  #commitRequested = false
  #processedSinceCommit = 0
  /** Outputs handed to the thread's sender since the last commit (takeOutputsForSend). */
  #sentSinceCommit = 0
  #closed = false

  constructor (options: StreamTaskOptions) {
    this.#options = options
    this.id = options.id
    this.name = taskIdToString(options.id)
    this.inputs = options.inputs
    this.#group = new PartitionGroup(options.inputs, options.maxTaskIdleMs)
    this.#collector = new RecordCollector(options.maxPendingRecords)
    if (options.recordCache === true) {
      this.#cacheHost = {
        currentInput: () => this.#currentInput,
        forwardAs: (input, forward, record) => {
          const previous = this.#currentInput
          this.#currentInput = input
          try { forward(record) } finally { this.#currentInput = previous }
        },
        register: cache => { this.#caches.push(cache) }
      }
    }
    for (const name of options.subtopology.nodes) {
      const node = options.topology.node(name)!
      if (node.kind === 'source') for (const topic of node.topics) this.#sourceByTopic.set(topic, node)
    }
  }

  /** Instantiates the processors and calls their init(), parents before children. */
  initialize (): void {
    const topology = this.#options.topology
    for (const name of this.#options.subtopology.nodes) {
      const node = topology.node(name)!
      if (node.kind !== 'processor') continue
      const processor = node.supplier() as Processor<unknown, unknown, unknown, unknown>
      this.#processors.set(name, processor)
    }
    for (const name of this.#options.subtopology.nodes) {
      const node = topology.node(name)!
      if (node.kind === 'sink') this.#targets.set(name, { name, sink: node, processor: undefined })
      else if (node.kind === 'processor') this.#targets.set(name, { name, sink: undefined, processor: this.#processors.get(name)! })
    }
    for (const source of this.#sourceByTopic.values()) this.#sourceTargets.set(source.name, this.#targetsOf(source.children))
    // Contexts resolve their children's targets: all of them exist by now.
    for (const name of this.#processors.keys()) {
      const node = topology.node(name)!
      if (node.kind === 'processor') this.#contexts.set(name, this.#makeContext(name, node.children, node.stores))
    }
    for (const [name, processor] of this.#processors) {
      try {
        processor.init?.(this.#contexts.get(name)!)
      } catch (cause) {
        throw new StreamsError('PROCESSING_FAILED', `processor "${name}" of task ${this.name} failed in init(): ${(cause as Error).message}`, { cause })
      }
    }
  }

  get streamTimeMs (): number { return this.#streamTimeMs }
  get bufferedRecords (): number { return this.#group.bufferedRecords }
  bufferedIn (tp: TopicPartition): number { return this.#group.bufferedIn(tp) }
  get commitNeeded (): boolean { return this.#processedSinceCommit > 0 || this.#collector.size > 0 || this.#sentSinceCommit > 0 }
  get commitRequested (): boolean {
    if (this.#commitRequested || this.#sentSinceCommit + this.#collector.size >= this.#options.maxPendingRecords) return true
    for (const s of this.#options.stores.values()) if (s.isFull()) return true
    return false
  }

  idleDeadlineMs (): number | null { return this.#group.idleDeadlineMs() }

  /** A record can be processed now. */
  ready (nowMs: number): boolean { return this.#group.ready(nowMs, this.#options.caughtUp) }

  addRecords (tp: TopicPartition, records: LogRecord[]): void {
    const source = this.#sourceByTopic.get(tp.topic)
    if (!source) throw new Error(`topic ${tp.topic} is not a source of task ${this.name}`)
    this.#tracing = tracingActive()
    this.#group.addRecords(tp, records, source.timestampExtractor)
  }

  /** Processes at most one record; false when none is ready. */
  process (nowMs: number): boolean {
    const group = this.#group
    const record = group.nextRecord(nowMs, this.#options.caughtUp)
    if (record === undefined) return false
    const eventTimeMs = group.takenTimestamp
    const replacement = this.#replaced.size === 0 ? undefined : this.#replaced.get(inputKey(record))
    if (replacement !== undefined) {
      // Neither stream time nor punctuation moves: the record is taken out of the processing.
      for (const r of replacement.records) this.#collector.send(r, null)
      this.#consumed.set(record.topic, record)
      this.#processedSinceCommit++
      return true
    }
    const source = this.#sourceByTopic.get(record.topic)!
    // A record without a valid event time moves no clock (see TimestampExtractor).
    if (eventTimeMs !== null && eventTimeMs > this.#streamTimeMs) this.#streamTimeMs = eventTimeMs
    this.#currentInput = record
    let key: unknown
    let value: unknown
    try {
      key = record.key === null ? null : source.keySerde.deserialize(record.key)
      value = record.value === null ? null : source.valueSerde.deserialize(record.value)
    } catch (cause) {
      throw new StreamsError('SERDE_ERROR', `task ${this.name}: cannot deserialize ${record.topic}-${record.partition}@${record.offset} at source "${source.name}": ${(cause as Error).message}`, { cause })
    }
    const typed: Record<unknown, unknown> = { key, value, timestamp: eventTimeMs ?? record.timestamp, headers: record.headers }
    const targets = this.#sourceTargets.get(source.name)!
    if (this.#tracing) this.#deliverTraced(record, targets, typed)
    else for (let i = 0; i < targets.length; i++) this.#deliver(targets[i]!, typed)
    this.#currentInput = null
    this.#consumed.set(record.topic, record)
    this.#processedSinceCommit++
    if (eventTimeMs !== null) this.#punctuate('STREAM_TIME', this.#streamTimeMs)
    return true
  }

  /** Runs due wall-clock punctuations. */
  punctuateWallClock (nowMs: number): void {
    this.#punctuate('WALL_CLOCK_TIME', nowMs)
  }

  /** Everything the commit's transaction must carry: outputs, changelog records, offsets, and
   *  for each record the input that produced it (null: a changelog record or a punctuation's). */
  prepareCommit (): { records: ProducerRecord[], offsets: PartitionOffset[], sources: Array<LogRecord | null> } {
    this.flushCaches()
    const { records, sources } = this.#collector.drainWithSources()
    for (const [name, taskStore] of this.#options.stores) {
      if (!taskStore.definition.changelog) continue
      const topic = changelogTopicName(this.#options.applicationId, name)
      for (const entry of taskStore.flush()) {
        records.push({ topic, partition: this.id.partition, key: entry.key, value: entry.value })
        sources.push(null)
      }
    }
    // Stores without a changelog still flush (their dirty entries are applied after commit).
    for (const taskStore of this.#options.stores.values()) if (!taskStore.definition.changelog) taskStore.flush()
    // The work so far is the commit's: what is processed while it runs is the next one's.
    this.#commitRequested = false
    this.#processedSinceCommit = 0
    this.#sentSinceCommit = 0
    const offsets: PartitionOffset[] = []
    for (const r of this.#consumed.values()) offsets.push({ topic: r.topic, partition: r.partition, offset: r.offset + 1n })
    return { records, offsets, sources }
  }

  /** From now on `input` is not processed: `records` (the production exception handler's dead
   *  letters) are sent in its place. Kept until a commit has moved past it. */
  replaceInput (input: LogRecord, records: readonly ProducerRecord[]): void {
    this.#replaced.set(inputKey(input), { input, records })
  }

  /** Output records produced since the last drain, with their inputs, for the thread to send
   *  before the commit (they still belong to the commit: commitNeeded stays true). */
  takeOutputsForSend (): { records: ProducerRecord[], sources: Array<LogRecord | null> } {
    const out = this.#collector.drainWithSources()
    this.#sentSinceCommit += out.records.length
    return out
  }

  /** Output records produced since the last drain, without touching the stores (test driver:
   *  the record caches are flushed first, so each input's updates come out at once, as with
   *  Kafka Streams' TopologyTestDriver, which commits after every record). */
  takeOutputs (): ProducerRecord[] {
    this.flushCaches()
    return this.#collector.drain()
  }

  /** The record caches forward what they hold (record-cache.ts): before every commit. A cache
   *  flushed may fill one downstream of it, flushed after it (init order is parents first). */
  flushCaches (): void {
    for (const cache of this.#caches) cache.flush()
  }

  /** After the transaction committed: apply flushed writes to the stores. The task may have
   *  processed more records meanwhile (the thread commits in the background). */
  async postCommit (offsets: readonly PartitionOffset[]): Promise<void> {
    for (const taskStore of this.#options.stores.values()) await taskStore.applyFlushed()
    for (const [key, { input }] of this.#replaced) {
      if (offsets.some(o => o.topic === input.topic && o.partition === input.partition && o.offset > input.offset)) this.#replaced.delete(key)
    }
  }

  /** The transaction failed: forget uncommitted work. Returns the positions to rewind to (the
   *  last committed ones are unknown here: the caller seeks to the group's committed offsets). */
  abortUncommitted (): void {
    for (const cache of this.#caches) cache.clear()
    this.#collector.clear()
    for (const s of this.#options.stores.values()) s.discardDirty()
    this.#group.clear()
    this.#consumed.clear()
    this.#commitRequested = false
    this.#processedSinceCommit = 0
    this.#sentSinceCommit = 0
  }

  /** Input partitions whose buffer is over `max`: the thread pauses them. */
  partitionsOver (max: number): TopicPartition[] {
    return this.inputs.filter(tp => this.#group.bufferedIn(tp) >= max)
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    for (const [name, processor] of this.#processors) {
      try { processor.close?.() } catch (error) {
        // A failing close() must not keep the others from closing; the error is reported.
        process.emitWarning(`processor "${name}" of task ${this.name} failed in close(): ${(error as Error).message}`)
      }
    }
    this.#group.clear()
  }

  #punctuate (type: PunctuationType, timestamp: number): void {
    for (const p of this.#punctuations) {
      if (p.cancelled || p.type !== type) continue
      if (p.nextMs < 0) p.nextMs = timestamp + p.intervalMs // first observation schedules it
      if (timestamp < p.nextMs) continue
      // Catch up by whole intervals without firing once per missed interval (as Kafka Streams).
      p.nextMs = timestamp + p.intervalMs - ((timestamp - p.nextMs) % p.intervalMs)
      try {
        p.punctuator(timestamp)
      } catch (cause) {
        throw new StreamsError('PROCESSING_FAILED', `punctuator of "${p.node}" in task ${this.name} failed: ${(cause as Error).message}`, { cause })
      }
    }
  }

  /** Delivery inside the record's CONSUMER span (its logs carry the trace; outputs its context). */
  #deliverTraced (input: LogRecord, targets: readonly Target[], record: Record<unknown, unknown>): void {
    const span = this.#span = startRecordSpan(input, this.#options.applicationId, this.name)
    try {
      context.with(trace.setSpan(context.active(), span), () => { for (const target of targets) this.#deliver(target, record) })
    } catch (error) {
      span.recordException(error as Error)
      throw error
    } finally {
      this.#span = undefined
      span.end()
    }
  }

  #targetsOf (names: readonly string[]): Target[] {
    return names.map(name => {
      const target = this.#targets.get(name)
      if (target === undefined) throw new StreamsError('TOPOLOGY_INVALID', `node "${name}" is not in the sub-topology of task ${this.name}`)
      return target
    })
  }

  #deliver (target: Target, record: Record<unknown, unknown>): void {
    if (target.sink !== undefined) { this.#sink(target.sink, record); return }
    try {
      target.processor.process(record)
    } catch (cause) {
      if (cause instanceof StreamsError && (cause.code === 'PROCESSING_FAILED' || isOutputSerializationError(cause))) throw cause
      const m = this.#currentInput
      const where = m ? ` on ${m.topic}-${m.partition}@${m.offset}` : ''
      throw new StreamsError('PROCESSING_FAILED', `processor "${target.name}" of task ${this.name} failed${where}: ${(cause as Error).message}`, { cause })
    }
  }

  #sink (node: SinkNode, record: Record<unknown, unknown>): void {
    const topic = typeof node.topic === 'string' ? node.topic : node.topic(record.key, record.value)
    let key: Buffer | null
    let value: Buffer | null
    try {
      key = record.key === null || record.key === undefined ? null : node.keySerde.serialize(record.key)
      value = record.value === null || record.value === undefined ? null : node.valueSerde.serialize(record.value)
    } catch (cause) {
      // An output that cannot be serialized is a refused record of its input (the production
      // exception handler decides; stream-thread.ts), not a processor bug.
      throw new StreamsError('SERDE_ERROR', `task ${this.name}: cannot serialize the output to ${topic} at sink "${node.name}": ${(cause as Error).message}`, { cause, details: { outputSerialization: true, topic, input: this.#currentInput } })
    }
    this.#collector.send({
      topic,
      key,
      value,
      headers: this.#span === undefined ? record.headers : outputHeaders(record.headers, this.#span),
      timestamp: record.timestamp
    }, this.#currentInput)
  }

  #makeContext (nodeName: string, children: string[], storeNames: string[]): ProcessorContext<unknown, unknown> {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the context object literal needs the task's private members
    const task = this
    const options = this.#options
    const targets = this.#targetsOf(children)
    const context: ProcessorContext<unknown, unknown> & { [RECORD_CACHE]?: RecordCacheHost, [DROPPED_RECORDS]?: DroppedRecordsSensor } = {
      applicationId: options.applicationId,
      taskId: options.id,
      getStateStore<K, V> (name: string): KeyValueStore<K, V> {
        const taskStore = storeNames.includes(name) ? options.stores.get(name) : undefined
        const globalStore = taskStore ? undefined : options.globalStores?.get(name)
        if (globalStore) return globalStore as KeyValueStore<K, V>
        if (!taskStore) throw new StreamsError('STORE_NOT_FOUND', `processor "${nodeName}" is not connected to state store "${name}"`)
        return taskStore.store as KeyValueStore<K, V>
      },
      forward (record: Record<unknown, unknown>, childName?: string): void {
        if (childName !== undefined) {
          const i = children.indexOf(childName)
          if (i < 0) throw new StreamsError('TOPOLOGY_INVALID', `processor "${nodeName}" has no child "${childName}" (children: ${children.join(', ') || 'none'})`)
          task.#deliver(targets[i]!, record)
          return
        }
        for (let i = 0; i < targets.length; i++) task.#deliver(targets[i]!, record)
      },
      schedule (intervalMs: number, type: PunctuationType, punctuator: (timestamp: number) => void): Cancellable {
        if (!(intervalMs >= 1)) throw new StreamsError('TOPOLOGY_INVALID', `punctuation interval must be at least 1 ms, got ${intervalMs}`)
        const p: Punctuation = { intervalMs, type, nextMs: type === 'WALL_CLOCK_TIME' ? options.clock() + intervalMs : -1, punctuator, cancelled: false, node: nodeName }
        task.#punctuations.push(p)
        return { cancel: () => { p.cancelled = true } }
      },
      commit (): void { task.#commitRequested = true },
      recordMetadata: (): RecordMetadata | null => {
        const r = task.#currentInput
        return r === null ? null : { topic: r.topic, partition: r.partition, offset: r.offset }
      },
      currentStreamTimeMs: () => task.#streamTimeMs,
      currentSystemTimeMs: () => options.clock(),
      headers: () => task.#currentInput?.headers ?? EMPTY_HEADERS
    }
    if (this.#cacheHost !== undefined) context[RECORD_CACHE] = this.#cacheHost
    context[DROPPED_RECORDS] = this.droppedRecords.sensorFor(nodeName)
    return context
  }
}
