// Options of the operations that may write a repartition topic (Kafka Streams' Grouped and
// Repartitioned). A name makes the topic's name, and its nodes' names, stable across versions of
// the topology: `<applicationId>-<name>-repartition`.
import type { Serde } from '../serdes.ts'

export interface Grouped<K, V> {
  /** Names the repartition topic `<applicationId>-<name>-repartition`; default the store's name. */
  readonly name?: string
  /** Serdes of the repartition topic; default the store's key serde (else string) and JSON. */
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
}

export interface Repartitioned<K, V> {
  /** Names the topic `<applicationId>-<name>-repartition`; default a generated KSTREAM-REPARTITION name. */
  readonly name?: string
  /** Partition count; default: that of the sub-topology writing it (or of the topics a join
   *  downstream must be co-partitioned with). */
  readonly partitions?: number
  /** Default string keys and JSON values, as the DSL's other defaults. */
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
}

/** Options of a stream-table join (Kafka Streams' Joined): the join's node name, and the serdes
 *  of the stream's repartition topic `<applicationId>-<name>-repartition` when the stream's key
 *  changed before the join (default string keys, JSON values). */
export interface Joined<K, V> {
  readonly name?: string
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
}
