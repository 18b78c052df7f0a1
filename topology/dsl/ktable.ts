// KTable (Kafka Streams' KTable): a changelog stream's latest value per key. Its nodes forward
// Change{new, old} values (change.ts); toStream() forwards the new values. The operations
// themselves live next to it: ktable-ops.ts (mapValues, filter), kgrouped-table.ts (groupBy),
// ktable-join.ts and foreign-key-join.ts (joins); this class is their entry.
import { StreamsError } from '../streams-error.ts'
import { asChange } from './change.ts'
import type { Grouped } from './grouped.ts'
import { KGroupedTable } from './kgrouped-table.ts'
import { ktableFilter, ktableMapValues } from './ktable-ops.ts'
import { ktableJoin, type TableJoiner } from './ktable-join.ts'
import { foreignKeyJoin, type ForeignKeyExtractor, type TableJoined } from './foreign-key-join.ts'
import { KStream } from './kstream.ts'
import type { KeyValuePair, Materialized } from './options.ts'
import { oneToOneProcessor } from './stateless-processor.ts'
import { storeValueGetter, type KTableValueGetter } from './value-getter.ts'
import type { StreamsBuilder } from '../streams-builder.ts'

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
    this.#builder.topology.addProcessor(nodeName, oneToOneProcessor<K, unknown, K, V>(r => ({ key: r.key, value: asChange<V>(r.value).newValue as V, timestamp: r.timestamp, headers: r.headers })), this.nodeName)
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
