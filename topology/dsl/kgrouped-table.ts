// KTable.groupBy(selector) → KGroupedTable → aggregate / reduce / count with a subtractor
// (Kafka Streams' KGroupedTable, KTableRepartitionMap, KTableAggregate, KTableReduce).
//
// Each update of the source table selects a (group key, value) for its new row and for its old
// one. They go through a repartition topic as Change{new, old} records (change.ts' format): one
// record when the row stays in its group, else the old value to the old group (to subtract) and
// the new value to the new group (to add), as Kafka Streams does since KIP-904. The aggregating
// task then subtracts the old value and adds the new one, so a row that moves from one group to
// another leaves the first as it joins the second. The table is always repartitioned (the group
// key is a new key), into `<applicationId>-<Grouped name or store name>-repartition`.
import type { Processor, ProcessorContext } from '../processor/processor.ts'
import type { Record } from '../processor/record.ts'
import type { KeyValueStore } from '../../stores/key-value-store.ts'
import { ForwardingCache } from '../runtime/record-cache.ts'
import { Serdes, type Serde } from '../serdes.ts'
import { KTable } from './ktable.ts'
import type { KeyValuePair, Materialized } from './options.ts'
import type { StreamsBuilder } from '../streams-builder.ts'
import { asChange, Change, changeSerde } from './change.ts'
import type { Grouped } from './grouped.ts'
import { addRepartition } from './repartition.ts'
import { storeValueGetter } from './value-getter.ts'

export class KGroupedTable<K, V> {
  readonly #builder: StreamsBuilder
  readonly #parent: string
  readonly #select: (key: unknown, value: unknown) => KeyValuePair<K, V>
  readonly #grouped: Grouped<K, V>

  /** @internal built by KTable.groupBy() */
  constructor (builder: StreamsBuilder, parentNode: string, select: (key: unknown, value: unknown) => KeyValuePair<K, V>, grouped: Grouped<K, V>) {
    this.#builder = builder
    this.#parent = parentNode
    this.#select = select
    this.#grouped = grouped
  }

  /** Folds each group's rows: `adder` for a row that enters the group (or its new value),
   *  `subtractor` for one that leaves it (or its old value). Emits the new aggregate, one per key
   *  per commit (the record cache, as KGroupedStream.aggregate). */
  aggregate<VA> (initializer: () => VA, adder: (key: K, value: V, aggregate: VA) => VA, subtractor: (key: K, value: V, aggregate: VA) => VA, materialized: Materialized<K, VA>): KTable<K, VA> {
    return this.#build<VA>('AGGREGATE', materialized, (key, change, old) => {
      const intermediate = change.oldValue !== null && old !== null ? subtractor(key, change.oldValue, old) : old
      return change.newValue !== null ? adder(key, change.newValue, intermediate ?? initializer()) : intermediate
    })
  }

  /** As aggregate(), the first value of a group being its aggregate. */
  reduce (adder: (aggregate: V, value: V) => V, subtractor: (aggregate: V, value: V) => V, materialized: Materialized<K, V>): KTable<K, V> {
    return this.#build<V>('REDUCE', materialized, (_key, change, old) => {
      const intermediate = change.oldValue !== null && old !== null ? subtractor(old, change.oldValue) : old
      if (change.newValue === null) return intermediate
      return intermediate === null ? change.newValue : adder(intermediate, change.newValue)
    })
  }

  /** Rows per group (a group whose rows all left stays at 0, as in Kafka Streams). */
  count (materialized: Materialized<K, number>): KTable<K, number> {
    return this.aggregate<number>(() => 0, (_k, _v, n) => n + 1, (_k, _v, n) => n - 1, { valueSerde: Serdes.json<number>({ immutableValues: true }), ...materialized })
  }

  #build<VA> (op: string, materialized: Materialized<K, VA>, combine: (key: K, change: Change<V>, old: VA | null) => VA | null): KTable<K, VA> {
    const builder = this.#builder
    const keySerde = this.#grouped.keySerde ?? materialized.keySerde ?? (Serdes.string() as unknown as Serde<K>)
    const valueSerde = this.#grouped.valueSerde ?? Serdes.json<V>()
    const keyId = (key: K): string => typeof key === 'string' ? key : keySerde.serialize(key).toString('latin1')
    const select = this.#select
    const selectName = builder.nextName('SELECT', 'KTABLE')
    builder.topology.addProcessor(selectName, () => {
      let ctx: ProcessorContext<K, Change<V>>
      const usable = (pair: KeyValuePair<K, V> | null): pair is KeyValuePair<K, V> =>
        pair !== null && pair.key !== null && pair.key !== undefined && pair.value !== null && pair.value !== undefined
      return {
        init (c) { ctx = c },
        process (record: Record<unknown, unknown>) {
          const change = asChange<unknown>(record.value)
          const next = change.newValue === null ? null : select(record.key, change.newValue)
          const prev = change.oldValue === null ? null : select(record.key, change.oldValue)
          if (usable(prev) && usable(next) && keyId(prev.key) === keyId(next.key)) {
            ctx.forward({ ...record, key: next.key, value: new Change(next.value, prev.value) })
            return
          }
          if (usable(prev)) ctx.forward({ ...record, key: prev.key, value: new Change<V>(null, prev.value) })
          if (usable(next)) ctx.forward({ ...record, key: next.key, value: new Change<V>(next.value, null) })
        }
      } satisfies Processor<unknown, unknown, K, Change<V>>
    }, this.#parent)
    const source = addRepartition(builder.topology, selectName, {
      baseName: this.#grouped.name ?? materialized.storeName,
      keySerde,
      valueSerde: changeSerde(valueSerde)
    })
    const name = builder.nextName(op, 'KTABLE')
    const storeName = materialized.storeName
    builder.topology.addProcessor(name, () => {
      let store: KeyValueStore<K, VA>
      let cache: ForwardingCache<K, Change<VA>>
      return {
        init (c) {
          store = c.getStateStore<K, VA>(storeName)
          cache = new ForwardingCache(c, keyId, (earlier, later) => new Change(later.newValue, earlier.oldValue))
        },
        process (record: Record<K, Change<V>>) {
          if (record.key === null || record.key === undefined) return
          const old = store.get(record.key) ?? null
          const next = combine(record.key, record.value, old) ?? null
          if (next === null) store.delete(record.key)
          else store.put(record.key, next)
          cache.put({ key: record.key, value: new Change(next, old), timestamp: record.timestamp, headers: record.headers })
        }
      } satisfies Processor<K, Change<V>, K, Change<VA>>
    }, source)
    builder.addStoreFor(materialized, keySerde, materialized.valueSerde ?? Serdes.json<VA>(), name)
    return new KTable<K, VA>(builder, name, storeName, storeValueGetter(storeName))
  }
}
