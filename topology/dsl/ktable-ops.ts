// KTable mapValues and filter (Kafka Streams' KTableMapValues, KTableFilter). Each update is a
// Change: both the new and the old value go through the operation, so downstream (a groupBy's
// subtractor, a join) sees what the derived table held before as well as after. A table derived
// without Materialized keeps no store: readers compute its rows from the parent's (value getter).
import type { Processor, ProcessorContext } from '../processor/processor.ts'
import type { Record } from '../processor/record.ts'
import type { KeyValueStore } from '../../stores/key-value-store.ts'
import { Serdes, type Serde } from '../serdes.ts'
import { KTable } from './ktable.ts'
import type { Materialized } from './options.ts'
import type { StreamsBuilder } from '../streams-builder.ts'
import { asChange, Change } from './change.ts'
import { derivedValueGetter, storeValueGetter } from './value-getter.ts'

/** Adds a KTable node computing each side of a Change with `fn` (null: no row). */
function addDerived<K, V, V2> (builder: StreamsBuilder, parent: KTable<K, V>, op: string, fn: (value: V, key: K) => V2 | null, materialized: Materialized<K, V2> | undefined, name: string | undefined, skipEmpty: boolean): KTable<K, V2> {
  const nodeName = name ?? builder.nextName(op, 'KTABLE')
  const storeName = materialized?.storeName
  builder.topology.addProcessor(nodeName, () => {
    let ctx: ProcessorContext<K, Change<V2>>
    let store: KeyValueStore<K, V2> | undefined
    return {
      init (c) { ctx = c; if (storeName !== undefined) store = c.getStateStore<K, V2>(storeName) },
      process (record: Record<K, unknown>) {
        const change = asChange<V>(record.value)
        const newValue = change.newValue === null ? null : fn(change.newValue, record.key)
        const oldValue = change.oldValue === null ? null : fn(change.oldValue, record.key)
        // With the old value known, "no row before, no row now" changes nothing downstream
        // (Kafka Streams skips it too when it sends old values).
        if (skipEmpty && newValue === null && oldValue === null && record.value instanceof Change) return
        if (store !== undefined) {
          if (newValue === null) store.delete(record.key)
          else store.put(record.key, newValue)
        }
        ctx.forward({ ...record, value: new Change(newValue, oldValue) })
      }
    } satisfies Processor<K, unknown, K, Change<V2>>
  }, parent.nodeName)
  if (materialized !== undefined) {
    builder.addStoreFor(materialized, materialized.keySerde ?? (Serdes.string() as unknown as Serde<K>), materialized.valueSerde ?? Serdes.json<V2>(), nodeName)
    return new KTable<K, V2>(builder, nodeName, materialized.storeName, storeValueGetter(materialized.storeName))
  }
  return new KTable<K, V2>(builder, nodeName, null, derivedValueGetter(parent.valueGetter, fn))
}

export function ktableMapValues<K, V, V2> (builder: StreamsBuilder, parent: KTable<K, V>, fn: (value: V, key: K) => V2, materialized?: Materialized<K, V2>, name?: string): KTable<K, V2> {
  return addDerived(builder, parent, 'MAPVALUES', (v, k) => fn(v, k) ?? null, materialized, name, false)
}

/** Rows failing the predicate leave the table: an update that makes a row fail forwards a
 *  tombstone for it (Kafka Streams' filter semantics on a KTable). */
export function ktableFilter<K, V> (builder: StreamsBuilder, parent: KTable<K, V>, predicate: (key: K, value: V) => boolean, materialized?: Materialized<K, V>, name?: string): KTable<K, V> {
  return addDerived(builder, parent, 'FILTER', (v, k) => predicate(k, v) ? v : null, materialized, name, true)
}
