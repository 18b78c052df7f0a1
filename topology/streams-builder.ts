// The DSL, like Kafka Streams' StreamsBuilder/KStream/KTable: each operation adds nodes to a
// low-level Topology, named `KSTREAM-<OP>-<10-digit index>` (`KTABLE-…` for table operations)
// unless a name is given. A stateful operation or a join after a key-changing operation (map,
// selectKey, flatMap, process) reads through a repartition topic (dsl/repartition.ts). A KTable's
// nodes forward Change{new, old} values (dsl/change.ts); toStream() forwards the new values.
// Table operations beyond toStream live in dsl/ (ktable-ops.ts, kgrouped-table.ts, ktable-join.ts).
import { fixedKeyProcessor } from './dsl/fixed-key-processor.ts'
import type { Processor, ProcessorContext, ProcessorSupplier } from './processor/processor.ts'
import type { Record } from './processor/record.ts'
import type { KeyValueStore, StoreKind } from '../stores/key-value-store.ts'
import { StreamsError } from './streams-error.ts'
import { ForwardingCache } from './runtime/record-cache.ts'
import { Serdes, type Serde } from './serdes.ts'
import { Topology, type TimestampExtractor, type TopicNameExtractor } from './topology.ts'
import { asChange, Change } from './dsl/change.ts'
import type { Grouped, Joined, Repartitioned } from './dsl/grouped.ts'
import { KGroupedTable } from './dsl/kgrouped-table.ts'
import { ktableFilter, ktableMapValues } from './dsl/ktable-ops.ts'
import { ktableJoin, type TableJoiner } from './dsl/ktable-join.ts'
import { foreignKeyJoin, type ForeignKeyExtractor, type TableJoined } from './dsl/foreign-key-join.ts'
import { addRepartition } from './dsl/repartition.ts'
import { globalTable, GlobalKTable } from './dsl/global-table.ts'
import { addGlobalTableJoin, type GlobalKeySelector, type GlobalValueJoiner } from './dsl/global-table-join.ts'
import { storeValueGetter, type KTableValueGetter } from './dsl/value-getter.ts'
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
  nextName (op: string, prefix: 'KSTREAM' | 'KTABLE' = 'KSTREAM'): string {
    return `${prefix}-${op}-${String(this.#index++).padStart(10, '0')}`
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
          const old = store.get(record.key)
          if (record.value === null || record.value === undefined) store.delete(record.key)
          else store.put(record.key, record.value)
          ctx.forward({ ...record, value: new Change(record.value, old) as unknown as V })
        }
      }
    }, source.nodeName)
    this.#addStore(materialized, keySerde, valueSerde, name)
    return new KTable<K, V>(this, name, storeName)
  }

  /** A table of every partition of `topic` on every instance (dsl/global-table.ts). */
  globalTable<K = string, V = unknown> (topic: string, consumed: Consumed<K, V> = {}, materialized?: Materialized<K, V>): GlobalKTable<K, V> {
    return globalTable(this.topology, topic, () => this.nextName('STATE-STORE', 'KTABLE'), consumed, materialized)
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

  /** process() for a processor that changes values only (Kafka Streams' processValues): the
   *  stream keeps its key, so no repartition follows; forwarding another key than the processed
   *  record's throws TOPOLOGY_INVALID (dsl/fixed-key-processor.ts). */
  processValues<V2 = never> (supplier: ProcessorSupplier<K, V, K, V2>, options: { stores?: string[], name?: string } = {}): KStream<K, V2> {
    const nodeName = options.name ?? this.#builder.nextName('PROCESSVALUES')
    this.#builder.topology.addProcessor(nodeName, fixedKeyProcessor(nodeName, supplier), this.nodeName)
    for (const store of options.stores ?? []) this.#builder.topology.connectProcessorAndStateStores(nodeName, store)
    return new KStream<K, V2>(this.#builder, nodeName, this.#keyChanged)
  }

  to (topic: string | TopicNameExtractor<K, V>, produced: Produced<K, V> = {}): void {
    this.#builder.topology.addSink(produced.name ?? this.#builder.nextName('SINK'), topic, {
      keySerde: produced.keySerde ?? (Serdes.string() as unknown as Serde<K>),
      valueSerde: produced.valueSerde ?? Serdes.json<V>()
    }, this.nodeName)
  }

  /** Groups by the current key. After a key-changing operation the aggregation reads through a
   *  repartition topic named `<applicationId>-<grouped.name or store name>-repartition`. */
  groupByKey (grouped: Grouped<K, V> = {}): KGroupedStream<K, V> {
    return new KGroupedStream<K, V>(this.#builder, this.nodeName, this.#keyChanged ? grouped : null)
  }

  /** selectKey(selector) then groupByKey(grouped): always through a repartition topic. */
  groupBy<K2> (selector: (key: K, value: V) => K2, grouped: Grouped<K2, V> = {}): KGroupedStream<K2, V> {
    return this.selectKey(selector).groupByKey(grouped)
  }

  /** Writes the stream through a repartition topic `<applicationId>-<name>-repartition` (created
   *  at start, with `partitions` or the upstream count) and reads it back: records of a key then
   *  meet in one task downstream. */
  repartition (repartitioned: Repartitioned<K, V> = {}): KStream<K, V> {
    const source = addRepartition(this.#builder.topology, this.nodeName, {
      baseName: repartitioned.name ?? this.#builder.nextName('REPARTITION'),
      keySerde: repartitioned.keySerde ?? (Serdes.string() as unknown as Serde<K>),
      valueSerde: repartitioned.valueSerde ?? Serdes.json<V>(),
      ...(repartitioned.partitions === undefined ? {} : { partitions: repartitioned.partitions })
    })
    return new KStream<K, V>(this.#builder, source, false)
  }

  /** Inner stream-table join on the key: each stream record meets the table's current value. */
  join<VT, VR> (table: KTable<K, VT>, joiner: (value: V, tableValue: VT, key: K) => VR, joined?: string | Joined<K, V>): KStream<K, VR>
  /** Inner join with a global table on `keySelector(key, value)` (dsl/global-table-join.ts). */
  join<GK, GV, VR> (table: GlobalKTable<GK, GV>, keySelector: GlobalKeySelector<K, V, GK>, joiner: GlobalValueJoiner<K, V, GV, VR>, name?: string): KStream<K, VR>
  join<VT, VR> (table: KTable<K, VT> | GlobalKTable<unknown, VT>, joinerOrSelector: unknown, joinedOrJoiner?: unknown, name?: string): KStream<K, VR> {
    if (table instanceof GlobalKTable) return this.#globalJoin(table, joinerOrSelector as GlobalKeySelector<K, V, unknown>, joinedOrJoiner as GlobalValueJoiner<K, V, VT | undefined, VR>, false, name)
    return this.#join(table, joinerOrSelector as (value: V, tableValue: VT, key: K) => VR, false, 'JOIN', joinedOrJoiner as string | Joined<K, V> | undefined)
  }

  /** Left stream-table join: the joiner gets undefined when the table has no value for the key. */
  leftJoin<VT, VR> (table: KTable<K, VT>, joiner: (value: V, tableValue: VT | undefined, key: K) => VR, joined?: string | Joined<K, V>): KStream<K, VR>
  /** Left join with a global table: the joiner gets undefined on a miss (dsl/global-table-join.ts). */
  leftJoin<GK, GV, VR> (table: GlobalKTable<GK, GV>, keySelector: GlobalKeySelector<K, V, GK>, joiner: GlobalValueJoiner<K, V, GV | undefined, VR>, name?: string): KStream<K, VR>
  leftJoin<VT, VR> (table: KTable<K, VT> | GlobalKTable<unknown, VT>, joinerOrSelector: unknown, joinedOrJoiner?: unknown, name?: string): KStream<K, VR> {
    if (table instanceof GlobalKTable) return this.#globalJoin(table, joinerOrSelector as GlobalKeySelector<K, V, unknown>, joinedOrJoiner as GlobalValueJoiner<K, V, VT | undefined, VR>, true, name)
    return this.#join(table, joinerOrSelector as (value: V, tableValue: VT, key: K) => VR, true, 'LEFTJOIN', joinedOrJoiner as string | Joined<K, V> | undefined)
  }

  #globalJoin<GK, GV, VR> (table: GlobalKTable<GK, GV>, keySelector: GlobalKeySelector<K, V, GK>, joiner: GlobalValueJoiner<K, V, GV | undefined, VR>, left: boolean, name: string | undefined): KStream<K, VR> {
    // No repartition: every task holds the whole table. The key is kept, and so is a key change.
    const nodeName = addGlobalTableJoin(this.#builder.topology, this.nodeName, name ?? this.#builder.nextName(left ? 'LEFTJOIN' : 'JOIN'), table, keySelector, joiner, left)
    return new KStream<K, VR>(this.#builder, nodeName, this.#keyChanged)
  }

  #join<VT, VR> (table: KTable<K, VT>, joiner: (value: V, tableValue: VT, key: K) => VR, left: boolean, op: string, joinedOrName: string | Joined<K, V> | undefined): KStream<K, VR> {
    const joined: Joined<K, V> = typeof joinedOrName === 'string' ? { name: joinedOrName } : joinedOrName ?? {}
    const name = joined.name ?? this.#builder.nextName(op)
    // After a key change the stream goes through a repartition topic, co-partitioned with the
    // table's topic (it gets its partition count at start).
    const parent = !this.#keyChanged
      ? this.nodeName
      : addRepartition(this.#builder.topology, this.nodeName, {
        baseName: name,
        keySerde: joined.keySerde ?? (Serdes.string() as unknown as Serde<K>),
        valueSerde: joined.valueSerde ?? Serdes.json<V>()
      })
    const getter = table.valueGetter
    this.#builder.topology.addProcessor(name, () => {
      let ctx: ProcessorContext<K, VR>
      let get: (key: K) => VT | undefined
      return {
        init (c) { ctx = c; get = getter.init(c as ProcessorContext<unknown, unknown>) },
        process (record: Record<K, V>) {
          if (record.key === null || record.key === undefined) return
          const tableValue = get(record.key)
          if (tableValue === undefined && !left) return
          ctx.forward({ ...record, value: joiner(record.value, tableValue as VT, record.key) })
        }
      } satisfies Processor<K, V, K, VR>
    }, parent)
    this.#builder.topology.connectProcessorAndStateStores(name, ...getter.stores)
    return new KStream<K, VR>(this.#builder, name, false)
  }
}

export class KGroupedStream<K, V> {
  readonly #builder: StreamsBuilder
  readonly #parent: string
  /** Non-null: the key changed upstream, the aggregation reads through a repartition topic. */
  readonly #repartition: Grouped<K, V> | null

  constructor (builder: StreamsBuilder, parent: string, repartition: Grouped<K, V> | null = null) {
    this.#builder = builder
    this.#parent = parent
    this.#repartition = repartition
  }

  /** The node an aggregation into `storeName` reads from: the parent, or after a key change the
   *  source of a repartition topic named after the Grouped name or the store. */
  #sourceFor (storeName: string, keySerde: Serde<K>): string {
    const grouped = this.#repartition
    if (grouped === null) return this.#parent
    return addRepartition(this.#builder.topology, this.#parent, {
      baseName: grouped.name ?? storeName,
      keySerde: grouped.keySerde ?? keySerde,
      valueSerde: grouped.valueSerde ?? Serdes.json<V>()
    })
  }

  /** Folds each key's records into a value kept in the store; emits the new values, one per key
   *  per commit (the record cache, topology/runtime/record-cache.ts; every one when
   *  StreamsConfig.tableRecordCache is false, and after each input in the test driver). */
  aggregate<VA> (initializer: () => VA, aggregator: (key: K, value: V, aggregate: VA) => VA, materialized: Materialized<K, VA>): KTable<K, VA> {
    const name = this.#builder.nextName('AGGREGATE')
    const storeName = materialized.storeName
    const keySerde = materialized.keySerde ?? (Serdes.string() as unknown as Serde<K>)
    const keyId = (key: K): string => typeof key === 'string' ? key : keySerde.serialize(key).toString('latin1')
    const source = this.#sourceFor(storeName, keySerde)
    this.#builder.topology.addProcessor(name, () => {
      let store: KeyValueStore<K, VA>
      let cache: ForwardingCache<K, Change<VA>>
      return {
        init (c) {
          store = c.getStateStore<K, VA>(storeName)
          cache = new ForwardingCache(c, keyId, (earlier, later) => new Change(later.newValue, earlier.oldValue))
        },
        process (record: Record<K, V>) {
          // As Kafka Streams: records with a null key or value are skipped by aggregations.
          if (record.key === null || record.key === undefined || record.value === null || record.value === undefined) return
          const old = store.get(record.key)
          const next = aggregator(record.key, record.value, old ?? initializer())
          store.put(record.key, next)
          cache.put({ key: record.key, value: new Change(next, old), timestamp: record.timestamp, headers: record.headers })
        }
      } satisfies Processor<K, V, K, Change<VA>>
    }, source)
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
    return windowedBy<K, V>(this.#builder, (storeName, keySerde) => this.#sourceFor(storeName, keySerde), windows)
  }
}

export class KTable<K, V> {
  readonly #builder: StreamsBuilder
  readonly nodeName: string
  /** The store holding the table (queryable through interactive queries); null when the table
   *  is derived without Materialized (mapValues, filter, a join): readers compute its rows. */
  readonly queryableStoreName: string | null
  /** @internal how joins read the table's current row of a key. */
  readonly valueGetter: KTableValueGetter<K, V>

  constructor (builder: StreamsBuilder, nodeName: string, storeName: string | null, valueGetter?: KTableValueGetter<K, V>) {
    this.#builder = builder
    this.nodeName = nodeName
    this.queryableStoreName = storeName
    if (valueGetter === undefined && storeName === null) throw new StreamsError('TOPOLOGY_INVALID', `KTable "${nodeName}" has neither a store nor a value getter`)
    this.valueGetter = valueGetter ?? storeValueGetter<K, V>(storeName!)
  }

  /** The table's updates as a stream: each new value, null for a deleted row (a tombstone). */
  toStream (name?: string): KStream<K, V> {
    const nodeName = name ?? this.#builder.nextName('TOSTREAM')
    this.#builder.topology.addProcessor(nodeName, statelessProcessor<K, unknown, K, V>(r => [{ ...r, value: asChange<V>(r.value).newValue as V }]), this.nodeName)
    return new KStream<K, V>(this.#builder, nodeName, false)
  }

  /** Each row's value through `fn`; stored only with `materialized`. */
  mapValues<V2> (fn: (value: V, key: K) => V2, materialized?: Materialized<K, V2>, name?: string): KTable<K, V2> {
    return ktableMapValues(this.#builder, this, fn, materialized, name)
  }

  /** Keeps the rows matching `predicate`: a row that stops matching is deleted downstream. */
  filter (predicate: (key: K, value: V) => boolean, materialized?: Materialized<K, V>, name?: string): KTable<K, V> {
    return ktableFilter(this.#builder, this, predicate, materialized, name)
  }

  filterNot (predicate: (key: K, value: V) => boolean, materialized?: Materialized<K, V>, name?: string): KTable<K, V> {
    return ktableFilter(this.#builder, this, (k, v) => !predicate(k, v), materialized, name)
  }

  /** Re-keys the rows for an aggregation with a subtractor (always through a repartition topic). */
  groupBy<K2, V2> (selector: (key: K, value: V) => KeyValuePair<K2, V2>, grouped: Grouped<K2, V2> = {}): KGroupedTable<K2, V2> {
    return new KGroupedTable<K2, V2>(this.#builder, this.nodeName, selector as (key: unknown, value: unknown) => KeyValuePair<K2, V2>, grouped)
  }

  /** Inner join on the key with another table (co-partitioned): a row exists while both sides have one. */
  join<VO, VR> (other: KTable<K, VO>, joiner: TableJoiner<K, V, VO, VR>, materialized?: Materialized<K, VR>, name?: string): KTable<K, VR> {
    return ktableJoin(this.#builder, this, other, joiner as TableJoiner<K, V | undefined, VO | undefined, VR>, 'inner', materialized, name)
  }

  /** Left join: a row for every row of this table; the joiner gets undefined for no other row. */
  leftJoin<VO, VR> (other: KTable<K, VO>, joiner: TableJoiner<K, V, VO | undefined, VR>, materialized?: Materialized<K, VR>, name?: string): KTable<K, VR> {
    return ktableJoin(this.#builder, this, other, joiner as TableJoiner<K, V | undefined, VO | undefined, VR>, 'left', materialized, name)
  }

  /** Foreign-key join (Kafka Streams' join(other, foreignKeyExtractor, joiner, …);
   *  dsl/foreign-key-join.ts): each row joins the other table's row of the key that
   *  `foreignKeyExtractor` finds in its value; a result exists while that row does. The tables
   *  need not be co-partitioned (the join has internal topics). */
  joinOnForeignKey<KO, VO, VR> (other: KTable<KO, VO>, foreignKeyExtractor: ForeignKeyExtractor<K, V, KO>, joiner: TableJoiner<K, V, VO, VR>, tableJoined?: TableJoined<K, V, KO, VO>, materialized?: Materialized<K, VR>): KTable<K, VR> {
    return foreignKeyJoin(this.#builder, this, other, foreignKeyExtractor, joiner as TableJoiner<K, V, VO | undefined, VR>, 'inner', tableJoined, materialized)
  }

  /** Foreign-key left join: a result for every row; the joiner gets undefined when the foreign
   *  key has no row (or the extractor returned none). */
  leftJoinOnForeignKey<KO, VO, VR> (other: KTable<KO, VO>, foreignKeyExtractor: ForeignKeyExtractor<K, V, KO>, joiner: TableJoiner<K, V, VO | undefined, VR>, tableJoined?: TableJoined<K, V, KO, VO>, materialized?: Materialized<K, VR>): KTable<K, VR> {
    return foreignKeyJoin(this.#builder, this, other, foreignKeyExtractor, joiner, 'left', tableJoined, materialized)
  }

  /** Outer join: a row while either side has one; the joiner gets undefined for the missing side. */
  outerJoin<VO, VR> (other: KTable<K, VO>, joiner: TableJoiner<K, V | undefined, VO | undefined, VR>, materialized?: Materialized<K, VR>, name?: string): KTable<K, VR> {
    return ktableJoin(this.#builder, this, other, joiner, 'outer', materialized, name)
  }
}
