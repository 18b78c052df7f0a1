// KTable-KTable join, leftJoin and outerJoin on the key (Kafka Streams' KTableKTableInnerJoin,
// -LeftJoin, -OuterJoin, -RightJoin and KTableKTableJoinMerger). An update of either side looks
// the key up in the other side (its value getter: its store, or its parent's store through the
// operations deriving it) and forwards Change{new result, old result}: the result with the
// updated row's new value and with its old value. A result that disappears is forwarded as a
// tombstone; an update that neither had nor has a result forwards nothing. Both sides' stores
// join the processors, so both sides' source topics are in one sub-topology and must be
// co-partitioned (checked at start). The result's timestamp is the update's (Kafka Streams takes
// the larger of both rows' timestamps; this engine's stores keep no timestamps).
import type { Processor, ProcessorContext } from '../processor/processor.ts'
import type { Record } from '../processor/record.ts'
import type { KeyValueStore } from '../../stores/key-value-store.ts'
import { Serdes, type Serde } from '../serdes.ts'
import { KTable } from './ktable.ts'
import type { Materialized } from './options.ts'
import type { StreamsBuilder } from '../streams-builder.ts'
import { asChange, Change } from './change.ts'
import { storeValueGetter, type KTableValueGetter } from './value-getter.ts'

export type TableJoinKind = 'inner' | 'left' | 'outer'

/** The joiner gets `undefined` for the side without a row (left: the right side; outer: either). */
export type TableJoiner<K, V, VO, VR> = (value: V, otherValue: VO, key: K) => VR

export function ktableJoin<K, V, VO, VR> (builder: StreamsBuilder, left: KTable<K, V>, right: KTable<K, VO>, joiner: TableJoiner<K, V | undefined, VO | undefined, VR>, kind: TableJoinKind, materialized: Materialized<K, VR> | undefined, name: string | undefined): KTable<K, VR> {
  // The result for a pair of rows (null: no row); null: no result.
  const result = (l: V | null, r: VO | null, key: K): VR | null => {
    if (kind === 'inner' && (l === null || r === null)) return null
    if (kind === 'left' && l === null) return null
    if (l === null && r === null) return null
    return joiner(l ?? undefined, r ?? undefined, key) ?? null
  }
  const op = kind === 'inner' ? 'JOIN' : kind === 'left' ? 'LEFTJOIN' : 'OUTERJOIN'
  const thisName = name === undefined ? builder.nextName(`${op}THIS`, 'KTABLE') : `${name}-join-this`
  const otherName = name === undefined ? builder.nextName(`${op}OTHER`, 'KTABLE') : `${name}-join-other`
  const mergeName = name ?? builder.nextName('MERGE', 'KTABLE')

  addSide<K, V, VO, VR>(builder, thisName, left.nodeName, right.valueGetter, (mine, other, key) => result(mine, other, key),
    // Inner and left: an update of the left side needs a right row only for the inner join.
    other => kind === 'inner' && other === null)
  addSide<K, VO, V, VR>(builder, otherName, right.nodeName, left.valueGetter, (mine, other, key) => result(other, mine, key),
    // An update of the right side has a result only with a left row, except for the outer join.
    other => kind !== 'outer' && other === null)

  const storeName = materialized?.storeName
  builder.topology.addProcessor(mergeName, () => {
    let ctx: ProcessorContext<K, Change<VR>>
    let store: KeyValueStore<K, VR> | undefined
    return {
      init (c) { ctx = c; if (storeName !== undefined) store = c.getStateStore<K, VR>(storeName) },
      process (record: Record<K, Change<VR>>) {
        if (store !== undefined) {
          if (record.value.newValue === null) store.delete(record.key)
          else store.put(record.key, record.value.newValue)
        }
        ctx.forward(record)
      }
    } satisfies Processor<K, Change<VR>, K, Change<VR>>
  }, thisName, otherName)

  if (materialized !== undefined) {
    builder.addStoreFor(materialized, materialized.keySerde ?? (Serdes.string() as unknown as Serde<K>), materialized.valueSerde ?? Serdes.json<VR>(), mergeName)
    return new KTable<K, VR>(builder, mergeName, materialized.storeName, storeValueGetter(materialized.storeName))
  }
  const getter: KTableValueGetter<K, VR> = {
    stores: [...left.valueGetter.stores, ...right.valueGetter.stores],
    init (context) {
      const getLeft = left.valueGetter.init(context)
      const getRight = right.valueGetter.init(context)
      return key => result(getLeft(key) ?? null, getRight(key) ?? null, key) ?? undefined
    }
  }
  return new KTable<K, VR>(builder, mergeName, null, getter)
}

/** One side's processor: each update of `parent` meets the other side's current row. */
function addSide<K, VMine, VOther, VR> (builder: StreamsBuilder, name: string, parent: string, otherGetter: KTableValueGetter<K, VOther>,
  compute: (mine: VMine | null, other: VOther | null, key: K) => VR | null, skip: (other: VOther | null) => boolean): void {
  builder.topology.addProcessor(name, () => {
    let ctx: ProcessorContext<K, Change<VR>>
    let getOther: (key: K) => VOther | undefined
    return {
      init (c) { ctx = c; getOther = otherGetter.init(c as ProcessorContext<unknown, unknown>) },
      process (record: Record<K, unknown>) {
        if (record.key === null || record.key === undefined) return
        const change = asChange<VMine>(record.value)
        const other = getOther(record.key) ?? null
        if (skip(other)) return
        const newResult = compute(change.newValue, other, record.key)
        const oldResult = compute(change.oldValue, other, record.key)
        // Neither a result before nor one now: nothing to tell downstream (old value known).
        if (newResult === null && oldResult === null && record.value instanceof Change) return
        ctx.forward({ ...record, value: new Change(newResult, oldResult) })
      }
    } satisfies Processor<K, unknown, K, Change<VR>>
  }, parent)
  builder.topology.connectProcessorAndStateStores(name, ...otherGetter.stores)
}
