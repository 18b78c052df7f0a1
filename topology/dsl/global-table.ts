// StreamsBuilder.globalTable() (Kafka Streams' GlobalKTable): a table holding every partition of
// its topic on every instance, so a stream joins it by any key it computes, with no
// co-partitioning and no repartition topic (docs/engine.md "Global tables"). The store is filled
// by the global updater (runtime/global-state-updater.ts), never by a task; the topic is its
// changelog, so the store has none of its own.
import type { Consumed, Materialized } from './options.ts'
import { Serdes, type Serde } from '../serdes.ts'
import type { Topology } from '../topology.ts'

export class GlobalKTable<K, V> {
  /** The global store holding the table (read by joins and interactive queries). */
  readonly storeName: string
  /** The store's name when it was given with Materialized (Kafka Streams queries only those; here
   *  a generated name can be queried too), else null. */
  readonly queryableStoreName: string | null
  readonly topic: string
  readonly keySerde: Serde<K>
  readonly valueSerde: Serde<V>

  constructor (options: { storeName: string, queryable: boolean, topic: string, keySerde: Serde<K>, valueSerde: Serde<V> }) {
    this.storeName = options.storeName
    this.queryableStoreName = options.queryable ? options.storeName : null
    this.topic = options.topic
    this.keySerde = options.keySerde
    this.valueSerde = options.valueSerde
  }
}

/** Declares the global store of `topic`. The serdes read the topic and the store alike (the
 *  records are stored as they are in the topic): Materialized's, else Consumed's, else string
 *  keys and JSON values. Materialized.changelog is ignored: the topic is the changelog. */
export function globalTable<K, V> (topology: Topology, topic: string, generatedName: () => string, consumed: Consumed<K, V> = {}, materialized?: Materialized<K, V>): GlobalKTable<K, V> {
  const keySerde = materialized?.keySerde ?? consumed.keySerde ?? (Serdes.string() as unknown as Serde<K>)
  const valueSerde = materialized?.valueSerde ?? consumed.valueSerde ?? Serdes.json<V>()
  const storeName = materialized?.storeName ?? generatedName()
  topology.addGlobalStore({
    topic,
    definition: { name: storeName, kind: materialized?.kind ?? 'rocksdb', keySerde, valueSerde, changelog: false }
  })
  return new GlobalKTable<K, V>({ storeName, queryable: materialized !== undefined, topic, keySerde, valueSerde })
}
