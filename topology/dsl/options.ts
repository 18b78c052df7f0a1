// What the DSL's sources, sinks and stores are told (Kafka Streams' Consumed, Produced and
// Materialized), and the key-value pair map()/flatMap()/groupBy() return. Grouping and
// repartitioning options are in grouped.ts.
import type { StoreKind } from '../../stores/key-value-store.ts'
import type { Serde } from '../serdes.ts'
import type { TimestampExtractor } from '../topology.ts'

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
