// KStream-GlobalKTable joins (Kafka Streams' KStreamGlobalKTableJoin): each stream record looks
// the global table up by `keySelector(key, value)`, in whatever task it is, since every instance
// holds the whole table (docs/engine.md "Global tables"). The output keeps the stream's key.
// Inner: a record whose lookup key is null/undefined or misses is dropped; left: the joiner gets
// undefined. Lookups see the global store as the updater has applied it so far: a table update
// and a stream record are not ordered by timestamp (as in Kafka Streams).
import type { Processor, ProcessorContext } from '../processor/processor.ts'
import type { Record } from '../processor/record.ts'
import type { ReadOnlyKeyValueStore } from '../../stores/key-value-store.ts'
import type { Topology } from '../topology.ts'
import type { GlobalKTable } from './global-table.ts'

export type GlobalKeySelector<K, V, GK> = (key: K, value: V) => GK | null | undefined
export type GlobalValueJoiner<K, V, GV, VR> = (value: V, globalValue: GV, key: K) => VR

/** Adds the join processor under `parent`, named `name`; returns its name. */
export function addGlobalTableJoin<K, V, GK, GV, VR> (
  topology: Topology,
  parent: string,
  name: string,
  table: GlobalKTable<GK, GV>,
  keySelector: GlobalKeySelector<K, V, GK>,
  joiner: GlobalValueJoiner<K, V, GV | undefined, VR>,
  left: boolean
): string {
  const storeName = table.storeName
  topology.addProcessor(name, () => {
    let ctx: ProcessorContext<K, VR>
    let store: ReadOnlyKeyValueStore<GK, GV>
    return {
      init (c) { ctx = c; store = c.getStateStore<GK, GV>(storeName) },
      process (record: Record<K, V>) {
        const lookup = keySelector(record.key, record.value)
        const globalValue = lookup === null || lookup === undefined ? undefined : store.get(lookup)
        if (globalValue === undefined && !left) return
        ctx.forward({ ...record, value: joiner(record.value, globalValue, record.key) })
      }
    } satisfies Processor<K, V, K, VR>
  }, parent)
  return name
}
