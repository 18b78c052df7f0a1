// KGroupedStream (Kafka Streams' KGroupedStream): a stream grouped by key, whose aggregations
// (aggregate, reduce, count, windowedBy) materialize a table. After a key change the aggregation
// reads through a repartition topic named after the Grouped name or the store (repartition.ts).
import type { Processor } from '../processor/processor.ts'
import type { Record } from '../processor/record.ts'
import type { KeyValueStore } from '../../stores/key-value-store.ts'
import { Serdes, type Serde } from '../serdes.ts'
import type { Change } from './change.ts'
import { ChangeCache } from './change-cache.ts'
import type { Grouped } from './grouped.ts'
import { KTable } from './ktable.ts'
import type { Materialized } from './options.ts'
import { addRepartition } from './repartition.ts'
import { windowedBy, type SessionWindowedKStream, type TimeWindowedKStream } from './windowed-stream.ts'
import type { SessionWindows, SlidingWindows, TimeWindows } from './windows.ts'
import type { StreamsBuilder } from '../streams-builder.ts'

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
      let cache: ChangeCache<K, VA>
      return {
        init (c) {
          store = c.getStateStore<K, VA>(storeName)
          cache = new ChangeCache(c, keyId)
        },
        process (record: Record<K, V>) {
          // As Kafka Streams: records with a null key or value are skipped by aggregations.
          if (record.key === null || record.key === undefined || record.value === null || record.value === undefined) return
          const old = store.get(record.key)
          const next = aggregator(record.key, record.value, old ?? initializer())
          store.put(record.key, next)
          cache.put(record.key, next, old, record.timestamp, record.headers)
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
