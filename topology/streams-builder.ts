// The DSL's entry, like Kafka Streams' StreamsBuilder: stream(), table() and globalTable() add
// sources to a low-level Topology and return the DSL's classes, each in its own file under dsl/:
// KStream (dsl/kstream.ts), KGroupedStream (dsl/kgrouped-stream.ts), KTable (dsl/ktable.ts),
// KGroupedTable, GlobalKTable and the windowed streams. Every operation adds nodes named
// `KSTREAM-<OP>-<10-digit index>` (`KTABLE-…` for table operations) unless a name is given;
// nextName() hands out the index. A stateful operation or a join after a key-changing operation
// (map, selectKey, flatMap, process) reads through a repartition topic (dsl/repartition.ts).
import type { ProcessorContext } from './processor/processor.ts'
import type { Record } from './processor/record.ts'
import type { KeyValueStore } from '../stores/key-value-store.ts'
import { Serdes, type Serde } from './serdes.ts'
import { Topology } from './topology.ts'
import { Change } from './dsl/change.ts'
import { globalTable, type GlobalKTable } from './dsl/global-table.ts'
import { KStream } from './dsl/kstream.ts'
import { KTable } from './dsl/ktable.ts'
import type { Consumed, Materialized } from './dsl/options.ts'

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
