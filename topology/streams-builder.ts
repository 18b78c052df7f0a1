// The DSL, like Kafka Streams' StreamsBuilder/KStream/KTable: each operation adds nodes to a
// low-level Topology, named `KSTREAM-<OP>-<10-digit index>` unless a name is given.
// Not supported (rejected with a clear error): grouping after a key-changing operation, which
// would need a repartition topic — write to a topic keyed as needed and read it again instead.
import type { Processor, ProcessorContext, ProcessorSupplier } from './processor/processor.ts'
import type { Record } from './processor/record.ts'
import type { KeyValueStore, StoreKind } from '../stores/key-value-store.ts'
import { RewardsError } from '../lib/errors.ts'
import { ForwardingCache } from './runtime/record-cache.ts'
import { Serdes, type Serde } from './serdes.ts'
import { Topology, type TimestampExtractor, type TopicNameExtractor } from './topology.ts'
import { windowedBy, type SessionWindowedKStream, type TimeWindowedKStream } from './dsl/windowed-stream.ts'
import type { SessionWindows, SlidingWindows, TimeWindows } from './dsl/windows.ts'

export interface Consumed<K, V> {
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
  readonly timestampExtractor?: TimestampExtractor
  readonly name?: string
}

export interface Produced<K, V> {
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
  readonly name?: string
}

export interface Materialized<K, V> {
  readonly storeName: string
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
  /** Default 'rocksdb'. */
  readonly kind?: StoreKind
  /** Default true. */
  readonly changelog?: boolean
}

export interface KeyValuePair<K, V> { readonly key: K, readonly value: V }

export class StreamsBuilder {
  readonly topology = new Topology()
  #index = 0

  /** A unique node name, like Kafka Streams' generated names. */
  nextName (op: string): string {
    return `KSTREAM-${op}-${String(this.#index++).padStart(10, '0')}`
  }

  stream<K = string, V = unknown> (topics: string | string[], consumed: Consumed<K, V> = {}): KStream<K, V> {
    const name = consumed.name ?? this.nextName('SOURCE')
    this.topology.addSource(name, {
      topics: Array.isArray(topics) ? topics : [topics],
      keySerde: consumed.keySerde ?? (Serdes.string() as unknown as Serde<K>),
      valueSerde: consumed.valueSerde ?? Serdes.json<V>(),
      ...(consumed.timestampExtractor ? { timestampExtractor: consumed.timestampExtractor } : {})
    })
    return new KStream<K, V>(this, name, false)
  }

  /** A changelog stream materialized into a store: the latest value per key (null deletes). */
  table<K = string, V = unknown> (topic: string, consumed: Consumed<K, V>, materialized: Materialized<K, V>): KTable<K, V> {
    const keySerde = materialized.keySerde ?? consumed.keySerde ?? (Serdes.string() as unknown as Serde<K>)
    const valueSerde = materialized.valueSerde ?? consumed.valueSerde ?? Serdes.json<V>()
    const source = this.stream<K, V>(topic, { ...consumed, keySerde, valueSerde })
    const storeName = materialized.storeName
    const name = this.nextName('TABLE-SOURCE')
    this.topology.addProcessor(name, () => {
      let store: KeyValueStore<K, V>
      let ctx: ProcessorContext<K, V>
      return {
        init (c) { ctx = c; store = c.getStateStore<K, V>(storeName) },
        process (record: Record<K, V>) {
          if (record.key === null || record.key === undefined) return // a table has no null keys
          if (record.value === null || record.value === undefined) store.delete(record.key)
          else store.put(record.key, record.value)
          ctx.forward(record)
        }
      }
    }, source.nodeName)
    this.#addStore(materialized, keySerde, valueSerde, name)
    return new KTable<K, V>(this, name, storeName)
  }

  build (): Topology {
    this.topology.validate()
    return this.topology
  }

  /** @internal */
  addStoreFor<K, V> (materialized: Materialized<K, V>, keySerde: Serde<K>, valueSerde: Serde<V>, processor: string): void {
    this.#addStore(materialized, keySerde, valueSerde, processor)
  }

  #addStore<K, V> (materialized: Materialized<K, V>, keySerde: Serde<K>, valueSerde: Serde<V>, processor: string): void {
    this.topology.addStateStore({
      name: materialized.storeName,
      kind: materialized.kind ?? 'rocksdb',
      keySerde,
      valueSerde,
      changelog: materialized.changelog ?? true
    }, processor)
  }
}

/** A processor that passes each record through `fn` (returning the records to forward). */
function statelessProcessor<KIn, VIn, KOut, VOut> (fn: (record: Record<KIn, VIn>) => Iterable<Record<KOut, VOut>>): ProcessorSupplier<KIn, VIn, KOut, VOut> {
  return () => {
    let ctx: ProcessorContext<KOut, VOut>
    return {
      init (c) { ctx = c },
      process (record) { for (const out of fn(record)) ctx.forward(out) }
    }
  }
}

export class KStream<K, V> {
  readonly #builder: StreamsBuilder
  /** The node whose output this stream is. */
  readonly nodeName: string
  /** A key-changing operation happened since the source: grouping would need a repartition. */
  readonly #keyChanged: boolean

  constructor (builder: StreamsBuilder, nodeName: string, keyChanged: boolean) {
    this.#builder = builder
    this.nodeName = nodeName
    this.#keyChanged = keyChanged
  }

  #add<K2, V2> (op: string, supplier: ProcessorSupplier<K, V, K2, V2>, keyChanged: boolean, name?: string): KStream<K2, V2> {
    const nodeName = name ?? this.#builder.nextName(op)
    this.#builder.topology.addProcessor(nodeName, supplier, this.nodeName)
    return new KStream<K2, V2>(this.#builder, nodeName, this.#keyChanged || keyChanged)
  }

  filter (predicate: (key: K, value: V) => boolean, name?: string): KStream<K, V> {
    return this.#add('FILTER', statelessProcessor<K, V, K, V>(r => predicate(r.key, r.value) ? [r] : []), false, name)
  }

  filterNot (predicate: (key: K, value: V) => boolean, name?: string): KStream<K, V> {
    return this.filter((k, v) => !predicate(k, v), name)
  }

  map<K2, V2> (fn: (key: K, value: V) => KeyValuePair<K2, V2>, name?: string): KStream<K2, V2> {
    return this.#add('MAP', statelessProcessor<K, V, K2, V2>(r => { const kv = fn(r.key, r.value); return [{ ...r, key: kv.key, value: kv.value }] }), true, name)
  }

  mapValues<V2> (fn: (value: V, key: K) => V2, name?: string): KStream<K, V2> {
    return this.#add('MAPVALUES', statelessProcessor<K, V, K, V2>(r => [{ ...r, value: fn(r.value, r.key) }]), false, name)
  }

  selectKey<K2> (fn: (key: K, value: V) => K2, name?: string): KStream<K2, V> {
    return this.#add('KEY-SELECT', statelessProcessor<K, V, K2, V>(r => [{ ...r, key: fn(r.key, r.value) }]), true, name)
  }

  flatMap<K2, V2> (fn: (key: K, value: V) => Iterable<KeyValuePair<K2, V2>>, name?: string): KStream<K2, V2> {
    return this.#add('FLATMAP', statelessProcessor<K, V, K2, V2>(function * (r) { for (const kv of fn(r.key, r.value)) yield { ...r, key: kv.key, value: kv.value } }), true, name)
  }

  flatMapValues<V2> (fn: (value: V, key: K) => Iterable<V2>, name?: string): KStream<K, V2> {
    return this.#add('FLATMAPVALUES', statelessProcessor<K, V, K, V2>(function * (r) { for (const v of fn(r.value, r.key)) yield { ...r, value: v } }), false, name)
  }

  peek (action: (key: K, value: V) => void, name?: string): KStream<K, V> {
    return this.#add('PEEK', statelessProcessor<K, V, K, V>(r => { action(r.key, r.value); return [r] }), false, name)
  }

  /** Routes each record to the first branch whose predicate matches (records matching none are
   *  dropped), like Kafka Streams' split().branch(). */
  split (...predicates: Array<(key: K, value: V) => boolean>): KStream<K, V>[] {
    const splitter = this.#builder.nextName('BRANCH')
    const branchNames = predicates.map(() => this.#builder.nextName('BRANCH-CHILD'))
    this.#builder.topology.addProcessor(splitter, () => {
      let ctx: ProcessorContext<K, V>
      return {
        init (c) { ctx = c },
        process (record: Record<K, V>) {
          const i = predicates.findIndex(p => p(record.key, record.value))
          if (i >= 0) ctx.forward(record, branchNames[i])
        }
      }
    }, this.nodeName)
    return branchNames.map(name => {
      this.#builder.topology.addProcessor(name, statelessProcessor<K, V, K, V>(r => [r]), splitter)
      return new KStream<K, V>(this.#builder, name, this.#keyChanged)
    })
  }

  /** Alias of split(), after Kafka Streams' older branch(). */
  branch (...predicates: Array<(key: K, value: V) => boolean>): KStream<K, V>[] {
    return this.split(...predicates)
  }

  merge (other: KStream<K, V>, name?: string): KStream<K, V> {
    const nodeName = name ?? this.#builder.nextName('MERGE')
    this.#builder.topology.addProcessor(nodeName, statelessProcessor<K, V, K, V>(r => [r]), this.nodeName, other.nodeName)
    return new KStream<K, V>(this.#builder, nodeName, this.#keyChanged || other.#keyChanged)
  }

  /** A user processor with access to the named stores (declared with builder.topology.addStateStore
   *  or by an earlier materialization). */
  process<K2 = never, V2 = never> (supplier: ProcessorSupplier<K, V, K2, V2>, options: { stores?: string[], name?: string } = {}): KStream<K2, V2> {
    const nodeName = options.name ?? this.#builder.nextName('PROCESSOR')
    this.#builder.topology.addProcessor(nodeName, supplier, this.nodeName)
    for (const store of options.stores ?? []) this.#builder.topology.connectProcessorAndStateStores(nodeName, store)
    return new KStream<K2, V2>(this.#builder, nodeName, true)
  }

  to (topic: string | TopicNameExtractor<K, V>, produced: Produced<K, V> = {}): void {
    this.#builder.topology.addSink(produced.name ?? this.#builder.nextName('SINK'), topic, {
      keySerde: produced.keySerde ?? (Serdes.string() as unknown as Serde<K>),
      valueSerde: produced.valueSerde ?? Serdes.json<V>()
    }, this.nodeName)
  }

  groupByKey (): KGroupedStream<K, V> {
    if (this.#keyChanged) {
      throw new RewardsError('TOPOLOGY_INVALID', `groupByKey() after a key-changing operation (map, selectKey, flatMap, process) needs a repartition topic, which is not supported: write the stream .to() a topic keyed as needed and stream() it again`)
    }
    return new KGroupedStream<K, V>(this.#builder, this.nodeName)
  }

  /** Inner stream-table join on the key: each stream record meets the table's current value. */
  join<VT, VR> (table: KTable<K, VT>, joiner: (value: V, tableValue: VT, key: K) => VR, name?: string): KStream<K, VR> {
    return this.#join(table, joiner, false, name ?? this.#builder.nextName('JOIN'))
  }

  /** Left stream-table join: the joiner gets undefined when the table has no value for the key. */
  leftJoin<VT, VR> (table: KTable<K, VT>, joiner: (value: V, tableValue: VT | undefined, key: K) => VR, name?: string): KStream<K, VR> {
    return this.#join(table, joiner as (value: V, tableValue: VT, key: K) => VR, true, name ?? this.#builder.nextName('LEFTJOIN'))
  }

  #join<VT, VR> (table: KTable<K, VT>, joiner: (value: V, tableValue: VT, key: K) => VR, left: boolean, name: string): KStream<K, VR> {
    const storeName = table.queryableStoreName
    this.#builder.topology.addProcessor(name, () => {
      let ctx: ProcessorContext<K, VR>
      let store: KeyValueStore<K, VT>
      return {
        init (c) { ctx = c; store = c.getStateStore<K, VT>(storeName) },
        process (record: Record<K, V>) {
          if (record.key === null || record.key === undefined) return
          const tableValue = store.get(record.key)
          if (tableValue === undefined && !left) return
          ctx.forward({ ...record, value: joiner(record.value, tableValue as VT, record.key) })
        }
      } satisfies Processor<K, V, K, VR>
    }, this.nodeName)
    this.#builder.topology.connectProcessorAndStateStores(name, storeName)
    return new KStream<K, VR>(this.#builder, name, this.#keyChanged)
  }
}

export class KGroupedStream<K, V> {
  readonly #builder: StreamsBuilder
  readonly #parent: string

  constructor (builder: StreamsBuilder, parent: string) {
    this.#builder = builder
    this.#parent = parent
  }

  /** Folds each key's records into a value kept in the store; emits the new values, one per key
   *  per commit (the record cache, topology/runtime/record-cache.ts; every one when
   *  StreamsConfig.tableRecordCache is false, and after each input in the test driver). */
  aggregate<VA> (initializer: () => VA, aggregator: (key: K, value: V, aggregate: VA) => VA, materialized: Materialized<K, VA>): KTable<K, VA> {
    const name = this.#builder.nextName('AGGREGATE')
    const storeName = materialized.storeName
    const keySerde = materialized.keySerde ?? (Serdes.string() as unknown as Serde<K>)
    const keyId = (key: K): string => typeof key === 'string' ? key : keySerde.serialize(key).toString('latin1')
    this.#builder.topology.addProcessor(name, () => {
      let store: KeyValueStore<K, VA>
      let cache: ForwardingCache<K, VA>
      return {
        init (c) { store = c.getStateStore<K, VA>(storeName); cache = new ForwardingCache(c, keyId) },
        process (record: Record<K, V>) {
          // As Kafka Streams: records with a null key or value are skipped by aggregations.
          if (record.key === null || record.key === undefined || record.value === null || record.value === undefined) return
          const next = aggregator(record.key, record.value, store.get(record.key) ?? initializer())
          store.put(record.key, next)
          cache.put({ key: record.key, value: next, timestamp: record.timestamp, headers: record.headers })
        }
      } satisfies Processor<K, V, K, VA>
    }, this.#parent)
    this.#builder.addStoreFor(materialized, keySerde, materialized.valueSerde ?? Serdes.json<VA>(), name)
    return new KTable<K, VA>(this.#builder, name, storeName)
  }

  reduce (reducer: (aggregate: V, value: V) => V, materialized: Materialized<K, V>): KTable<K, V> {
    const NONE = Symbol('none')
    return this.aggregate<V>(() => NONE as unknown as V, (_k, v, agg) => (agg as unknown) === NONE ? v : reducer(agg, v), materialized)
  }

  /** Counts per key (a JSON number in the store). */
  count (materialized: Materialized<K, number>): KTable<K, number> {
    // A number is immutable: the store may hand back the value it decoded (no parse per read).
    return this.aggregate<number>(() => 0, (_k, _v, n) => n + 1, { valueSerde: Serdes.json<number>({ immutableValues: true }), ...materialized })
  }

  /** Windowed aggregations (topology/dsl/windowed-stream.ts, docs/engine.md "Windows"). */
  windowedBy (windows: SessionWindows): SessionWindowedKStream<K, V>
  windowedBy (windows: TimeWindows | SlidingWindows): TimeWindowedKStream<K, V>
  windowedBy (windows: TimeWindows | SlidingWindows | SessionWindows): TimeWindowedKStream<K, V> | SessionWindowedKStream<K, V> {
    return windowedBy<K, V>(this.#builder, this.#parent, windows)
  }
}

export class KTable<K, V> {
  readonly #builder: StreamsBuilder
  readonly nodeName: string
  /** The store holding the table (queryable through interactive queries). */
  readonly queryableStoreName: string

  constructor (builder: StreamsBuilder, nodeName: string, storeName: string) {
    this.#builder = builder
    this.nodeName = nodeName
    this.queryableStoreName = storeName
  }

  /** The table's updates as a stream. */
  toStream (): KStream<K, V> {
    const name = this.#builder.nextName('TOSTREAM')
    this.#builder.topology.addProcessor(name, statelessProcessor<K, V, K, V>(r => [r]), this.nodeName)
    return new KStream<K, V>(this.#builder, name, false)
  }
}
