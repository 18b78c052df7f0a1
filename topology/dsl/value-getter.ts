// How an operation reads a KTable's current value of a key (Kafka Streams' KTableValueGetter): a
// materialized table reads its store; a table derived without a store of its own (mapValues,
// filter, a join) applies its operation to what its parents' getters return. The processor using
// a getter must be connected to the getter's stores (they put it in the table's sub-topology).
import type { ProcessorContext } from '../processor/processor.ts'
import type { KeyValueStore } from '../../stores/key-value-store.ts'

export interface KTableValueGetter<K, V> {
  /** The stores the getter reads. */
  readonly stores: readonly string[]
  /** Called from the processor's init(); the function answers undefined for no row. */
  init (context: ProcessorContext<unknown, unknown>): (key: K) => V | undefined
}

export function storeValueGetter<K, V> (storeName: string): KTableValueGetter<K, V> {
  return {
    stores: [storeName],
    init (context) {
      const store: KeyValueStore<K, V> = context.getStateStore<K, V>(storeName)
      return key => store.get(key)
    }
  }
}

/** A getter that maps the parent's row (null/undefined from `fn`: no row). */
export function derivedValueGetter<K, V, V2> (parent: KTableValueGetter<K, V>, fn: (value: V, key: K) => V2 | null | undefined): KTableValueGetter<K, V2> {
  return {
    stores: parent.stores,
    init (context) {
      const get = parent.init(context)
      return key => {
        const value = get(key)
        if (value === undefined || value === null) return undefined
        return fn(value, key) ?? undefined
      }
    }
  }
}
