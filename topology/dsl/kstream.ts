// KStream (Kafka Streams' KStream): a stream of records and its operations, each adding nodes to
// the builder's Topology (docs/engine.md "DSL"). A key-changing operation (map, selectKey,
// flatMap, process) marks the stream so that grouping or a table join after it reads through a
// repartition topic (repartition.ts).
import { fixedKeyProcessor } from './fixed-key-processor.ts'
import type { Processor, ProcessorContext, ProcessorSupplier } from '../processor/processor.ts'
import type { Record } from '../processor/record.ts'
import { Serdes, type Serde } from '../serdes.ts'
import type { TopicNameExtractor } from '../topology.ts'
import type { Grouped, Joined, Repartitioned } from './grouped.ts'
import { addRepartition } from './repartition.ts'
import { GlobalKTable } from './global-table.ts'
import { addGlobalTableJoin, type GlobalKeySelector, type GlobalValueJoiner } from './global-table-join.ts'
import { KGroupedStream } from './kgrouped-stream.ts'
import type { KTable } from './ktable.ts'
import type { KeyValuePair, Produced } from './options.ts'
import { oneToOneProcessor, statelessProcessor } from './stateless-processor.ts'
import type { StreamsBuilder } from '../streams-builder.ts'

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
    return this.#add('FILTER', oneToOneProcessor<K, V, K, V>(r => predicate(r.key, r.value) ? r : undefined), false, name)
  }

  filterNot (predicate: (key: K, value: V) => boolean, name?: string): KStream<K, V> {
    return this.filter((k, v) => !predicate(k, v), name)
  }

  map<K2, V2> (fn: (key: K, value: V) => KeyValuePair<K2, V2>, name?: string): KStream<K2, V2> {
    return this.#add('MAP', oneToOneProcessor<K, V, K2, V2>(r => { const kv = fn(r.key, r.value); return { key: kv.key, value: kv.value, timestamp: r.timestamp, headers: r.headers } }), true, name)
  }

  mapValues<V2> (fn: (value: V, key: K) => V2, name?: string): KStream<K, V2> {
    return this.#add('MAPVALUES', oneToOneProcessor<K, V, K, V2>(r => ({ key: r.key, value: fn(r.value, r.key), timestamp: r.timestamp, headers: r.headers })), false, name)
  }

  selectKey<K2> (fn: (key: K, value: V) => K2, name?: string): KStream<K2, V> {
    return this.#add('KEY-SELECT', oneToOneProcessor<K, V, K2, V>(r => ({ key: fn(r.key, r.value), value: r.value, timestamp: r.timestamp, headers: r.headers })), true, name)
  }

  flatMap<K2, V2> (fn: (key: K, value: V) => Iterable<KeyValuePair<K2, V2>>, name?: string): KStream<K2, V2> {
    return this.#add('FLATMAP', statelessProcessor<K, V, K2, V2>(function * (r) { for (const kv of fn(r.key, r.value)) yield { ...r, key: kv.key, value: kv.value } }), true, name)
  }

  flatMapValues<V2> (fn: (value: V, key: K) => Iterable<V2>, name?: string): KStream<K, V2> {
    return this.#add('FLATMAPVALUES', statelessProcessor<K, V, K, V2>(function * (r) { for (const v of fn(r.value, r.key)) yield { ...r, value: v } }), false, name)
  }

  peek (action: (key: K, value: V) => void, name?: string): KStream<K, V> {
    return this.#add('PEEK', oneToOneProcessor<K, V, K, V>(r => { action(r.key, r.value); return r }), false, name)
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
      this.#builder.topology.addProcessor(name, oneToOneProcessor<K, V, K, V>(r => r), splitter)
      return new KStream<K, V>(this.#builder, name, this.#keyChanged)
    })
  }

  /** Alias of split(), after Kafka Streams' older branch(). */
  branch (...predicates: Array<(key: K, value: V) => boolean>): KStream<K, V>[] {
    return this.split(...predicates)
  }

  merge (other: KStream<K, V>, name?: string): KStream<K, V> {
    const nodeName = name ?? this.#builder.nextName('MERGE')
    this.#builder.topology.addProcessor(nodeName, oneToOneProcessor<K, V, K, V>(r => r), this.nodeName, other.nodeName)
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
