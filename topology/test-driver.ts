// TopologyTestDriver: runs a topology in-process, with no log at all, for unit tests of
// processors and topologies (like Kafka Streams' TopologyTestDriver). Each piped record is
// processed at once, in pipe order; outputs are captured per topic; stores are in-memory
// (whatever kind the topology declares) and read through the same typed layer processors use;
// wall-clock time is mocked and only moves with advanceWallClockTime(). Records written to a
// repartition topic are piped at once to the sub-topology reading it (partitioned by key, as the
// producer would), in the same call, and are not outputs (Kafka Streams' driver does the same).
import type { Headers, LogRecord, ProducerRecord } from '../log/log-port.ts'
import { partitionForKey } from '../log/murmur2-partitioner.ts'
import { CachingChangelogStore } from '../stores/caching-changelogging-store.ts'
import { InMemoryStore } from '../stores/in-memory-store.ts'
import type { KeyValueStore } from '../stores/key-value-store.ts'
import { TypedKeyValueStore } from '../stores/typed-key-value-store.ts'
import { StreamsError } from './streams-error.ts'
import { StreamTask } from './runtime/stream-task.ts'
import type { TaskStore } from './runtime/task-store.ts'
import type { Serde } from './serdes.ts'
import type { Topology } from './topology.ts'
import type { ReadOnlyWindowStore } from '../stores/window-store.ts'
import type { ReadOnlySessionStore } from '../stores/session-store.ts'
import { sessionStoreReader, windowStoreReader } from './dsl/windowed-queries.ts'
import { readOnlyGlobalView } from './runtime/global-state-store.ts'

export interface TestDriverOptions {
  readonly applicationId?: string
  /** Partitions of every source topic (one task each); default 1. */
  readonly partitions?: number
  /** Initial mocked wall-clock time, ms since the epoch; default 0. */
  readonly startTimeMs?: number
}

export interface TestRecord<K, V> {
  readonly key: K
  readonly value: V
  readonly timestamp: number
  readonly headers: Headers
  readonly partition: number | undefined
}

export class TestInputTopic<K, V> {
  readonly #driver: TopologyTestDriver
  readonly topic: string
  readonly #keySerde: Serde<K>
  readonly #valueSerde: Serde<V>

  constructor (driver: TopologyTestDriver, topic: string, keySerde: Serde<K>, valueSerde: Serde<V>) {
    this.#driver = driver
    this.topic = topic
    this.#keySerde = keySerde
    this.#valueSerde = valueSerde
  }

  /** Processes one record now. Timestamp default: the mocked wall-clock time. */
  pipeInput (key: K | null, value: V | null, timestamp?: number, headers: Headers = {}): void {
    const keyBytes = key === null || key === undefined ? null : this.#keySerde.serialize(key)
    const valueBytes = value === null || value === undefined ? null : this.#valueSerde.serialize(value)
    this.#driver.pipeRaw(this.topic, keyBytes, valueBytes, timestamp, headers)
  }

  pipeKeyValues (entries: Array<{ key: K | null, value: V | null, timestamp?: number }>): void {
    for (const e of entries) this.pipeInput(e.key, e.value, e.timestamp)
  }
}

export class TestOutputTopic<K, V> {
  readonly #driver: TopologyTestDriver
  readonly topic: string
  readonly #keySerde: Serde<K>
  readonly #valueSerde: Serde<V>

  constructor (driver: TopologyTestDriver, topic: string, keySerde: Serde<K>, valueSerde: Serde<V>) {
    this.#driver = driver
    this.topic = topic
    this.#keySerde = keySerde
    this.#valueSerde = valueSerde
  }

  /** Removes and returns every record written to the topic so far, in write order. */
  readRecordsToList (): TestRecord<K, V>[] {
    return this.#driver.takeOutput(this.topic).map(r => this.#decode(r))
  }

  readValuesToList (): V[] {
    return this.readRecordsToList().map(r => r.value)
  }

  readRecord (): TestRecord<K, V> | undefined {
    const all = this.#driver.takeOutput(this.topic, 1)
    const r = all[0]
    return r === undefined ? undefined : this.#decode(r)
  }

  #decode (r: ProducerRecord): TestRecord<K, V> {
    return {
      key: (r.key === null ? null : this.#keySerde.deserialize(r.key)) as K,
      value: (r.value === null ? null : this.#valueSerde.deserialize(r.value)) as V,
      timestamp: r.timestamp ?? 0,
      headers: r.headers ?? {},
      partition: r.partition
    }
  }

  isEmpty (): boolean { return this.#driver.outputSize(this.topic) === 0 }
  getQueueSize (): number { return this.#driver.outputSize(this.topic) }
}

export class TopologyTestDriver {
  readonly #partitions: number
  readonly #topology: Topology
  readonly #tasks: StreamTask[] = []
  /** Per task index: store name -> typed store. */
  readonly #stores: Array<Map<string, TypedKeyValueStore<unknown, unknown>>> = []
  readonly #taskByTopic = new Map<string, StreamTask[]>()
  readonly #nextOffset = new Map<string, bigint>()
  readonly #outputs = new Map<string, ProducerRecord[]>()
  /** Repartition topics (named for the application): piped back in, never captured. */
  readonly #internalTopics: ReadonlySet<string>
  /** Global stores (docs/engine.md "Global tables"), by name and by topic: a record piped to a
   *  global table's topic goes straight into its store, before the next record. */
  readonly #globalStores = new Map<string, { typed: TypedKeyValueStore<unknown, unknown>, caching: CachingChangelogStore, bytes: InMemoryStore }>()
  readonly #globalByTopic = new Map<string, CachingChangelogStore>()
  #nowMs: number
  #closed = false

  constructor (topology: Topology, options: TestDriverOptions = {}) {
    topology.validate()
    this.#topology = topology
    this.#partitions = options.partitions ?? 1
    this.#nowMs = options.startTimeMs ?? 0
    const applicationId = options.applicationId ?? 'test-driver'
    topology = topology.withApplicationId(applicationId)
    this.#internalTopics = new Set(topology.internalTopics().map(t => t.name))
    const globalViews = new Map<string, KeyValueStore<unknown, unknown>>()
    for (const spec of topology.globalStores()) {
      const bytes = new InMemoryStore(spec.definition.name)
      void bytes.open('')
      const caching = new CachingChangelogStore(bytes, { maxDirtyEntries: Number.POSITIVE_INFINITY, maxDirtyBytes: Number.POSITIVE_INFINITY })
      const typed = new TypedKeyValueStore<unknown, unknown>(caching, spec.definition.keySerde, spec.definition.valueSerde)
      this.#globalStores.set(spec.definition.name, { typed, caching, bytes })
      this.#globalByTopic.set(spec.topic, caching)
      globalViews.set(spec.definition.name, readOnlyGlobalView(spec, typed))
    }
    for (const sub of topology.subtopologies()) {
      const tasks: StreamTask[] = []
      for (let partition = 0; partition < this.#partitions; partition++) {
        const stores = new Map<string, TaskStore>()
        const typedStores = new Map<string, TypedKeyValueStore<unknown, unknown>>()
        for (const name of sub.stores) {
          const definition = topology.storeDefinition(name)!
          const bytes = new InMemoryStore(name)
          // In-memory stores open synchronously in effect; the promise is awaited by close().
          void bytes.open('')
          // Unbounded write cache: the driver never commits between records (see flush()).
          const caching = new CachingChangelogStore(bytes, { maxDirtyEntries: Number.POSITIVE_INFINITY, maxDirtyBytes: Number.POSITIVE_INFINITY })
          const typed = new TypedKeyValueStore<unknown, unknown>(caching, definition.keySerde, definition.valueSerde)
          typedStores.set(name, typed)
          stores.set(name, {
            definition,
            store: typed,
            flush: () => caching.flush(),
            applyFlushed: () => caching.applyFlushed(),
            discardDirty: () => caching.discardDirty(),
            isFull: () => false
          })
        }
        const task = new StreamTask({
          applicationId,
          id: { subtopology: sub.id, partition },
          topology,
          subtopology: sub,
          inputs: sub.sourceTopics.map(topic => ({ topic, partition })),
          stores,
          maxTaskIdleMs: 0,
          maxPendingRecords: Number.POSITIVE_INFINITY,
          clock: () => this.#nowMs,
          globalStores: globalViews
        })
        task.initialize()
        tasks.push(task)
        this.#tasks.push(task)
        this.#stores.push(typedStores)
      }
      for (const topic of sub.sourceTopics) this.#taskByTopic.set(topic, tasks)
    }
  }

  createInputTopic<K, V> (topic: string, keySerde: Serde<K>, valueSerde: Serde<V>): TestInputTopic<K, V> {
    if (this.#globalByTopic.has(topic)) return new TestInputTopic(this, topic, keySerde, valueSerde)
    if (!this.#taskByTopic.has(topic) || this.#internalTopics.has(topic)) throw new StreamsError('TOPOLOGY_INVALID', `topic "${topic}" is not a source of this topology (sources: ${[...this.#taskByTopic.keys()].join(', ')})`)
    return new TestInputTopic(this, topic, keySerde, valueSerde)
  }

  createOutputTopic<K, V> (topic: string, keySerde: Serde<K>, valueSerde: Serde<V>): TestOutputTopic<K, V> {
    return new TestOutputTopic(this, topic, keySerde, valueSerde)
  }

  /** The writable store of the task owning `partition` (default 0); reads see every write. */
  getKeyValueStore<K, V> (name: string, partition = 0): KeyValueStore<K, V> {
    const global = this.#globalStores.get(name)
    if (global !== undefined) return global.typed as unknown as KeyValueStore<K, V>
    const index = this.#tasks.findIndex((t, i) => t.id.partition === partition && this.#stores[i]!.has(name))
    if (index < 0) throw new StreamsError('STORE_NOT_FOUND', `no state store "${name}" in this topology`)
    return this.#stores[index]!.get(name)! as unknown as KeyValueStore<K, V>
  }

  /** A window store as interactive queries read it (task of `partition`, default 0). */
  getWindowStore<K, V> (name: string, partition = 0): ReadOnlyWindowStore<K, V> {
    return windowStoreReader<K, V>(name, this.#topology.storeDefinition(name), this.getKeyValueStore<Buffer, Buffer>(name, partition))
  }

  /** A session store as interactive queries read it (task of `partition`, default 0). */
  getSessionStore<K, V> (name: string, partition = 0): ReadOnlySessionStore<K, V> {
    return sessionStoreReader<K, V>(name, this.#topology.storeDefinition(name), this.getKeyValueStore<Buffer, Buffer>(name, partition))
  }

  /** Records the processors dropped on purpose (late records of windows), all tasks. */
  get droppedRecordsTotal (): number {
    return this.#tasks.reduce((n, task) => n + task.droppedRecords.total, 0)
  }

  /** Moves the mocked wall clock and runs due WALL_CLOCK_TIME punctuations. */
  advanceWallClockTime (ms: number): void {
    this.#nowMs += ms
    for (const task of this.#tasks) task.punctuateWallClock(this.#nowMs)
    this.#collectOutputs()
  }

  get wallClockTimeMs (): number { return this.#nowMs }

  /** @internal used by TestInputTopic */
  pipeRaw (topic: string, key: Buffer | null, value: Buffer | null, timestamp: number | undefined, headers: Headers): void {
    if (this.#closed) throw new StreamsError('LOG_CLOSED', 'the test driver is closed')
    const global = this.#globalByTopic.get(topic)
    if (global !== undefined) {
      // A table has no null keys; a null value deletes.
      if (key !== null) { if (value === null) global.delete(key); else global.put(key, value) }
      return
    }
    this.#process(topic, key, value, timestamp ?? this.#nowMs, headers)
    this.#collectOutputs()
  }

  #process (topic: string, key: Buffer | null, value: Buffer | null, timestamp: number, headers: Headers): void {
    const tasks = this.#taskByTopic.get(topic)!
    const partition = key === null ? 0 : partitionForKey(key, this.#partitions)
    const task = tasks[partition]!
    const offsetKey = `${topic}:${partition}`
    const offset = this.#nextOffset.get(offsetKey) ?? 0n
    this.#nextOffset.set(offsetKey, offset + 1n)
    const record: LogRecord = { topic, partition, offset, timestamp, key, value, headers }
    task.addRecords({ topic, partition }, [record])
    while (task.process(this.#nowMs));
  }

  /** @internal */
  takeOutput (topic: string, max = Number.POSITIVE_INFINITY): ProducerRecord[] {
    const queue = this.#outputs.get(topic) ?? []
    const taken = queue.splice(0, Math.min(max, queue.length))
    return taken
  }

  /** @internal */
  outputSize (topic: string): number {
    return this.#outputs.get(topic)?.length ?? 0
  }

  /** Closes processors and stores. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const task of this.#tasks) task.close()
    for (const stores of this.#stores) for (const s of stores.values()) await s.bytes.close()
    for (const g of this.#globalStores.values()) await g.bytes.close()
  }

  /** Captures the tasks' outputs; records of repartition topics are processed at once, in write
   *  order, until no task has any left. */
  #collectOutputs (): void {
    for (let more = true; more;) {
      more = false
      for (const task of this.#tasks) {
        for (const record of task.takeOutputs()) {
          if (this.#internalTopics.has(record.topic)) {
            this.#process(record.topic, record.key, record.value, record.timestamp ?? this.#nowMs, record.headers ?? {})
            more = true
            continue
          }
          const queue = this.#outputs.get(record.topic) ?? []
          queue.push(record)
          this.#outputs.set(record.topic, queue)
        }
      }
    }
  }
}
