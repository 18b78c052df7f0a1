// The four processors of a foreign-key join (docs/engine.md "Foreign-key table joins"; Kafka
// Streams' SubscriptionSendProcessorSupplier, SubscriptionReceiveProcessorSupplier +
// SubscriptionJoinProcessorSupplier, ForeignTableJoinProcessorSupplier and
// SubscriptionResolverJoinProcessorSupplier, KIP-213):
//   left side:  send     — each left update subscribes its row to its foreign key (and
//                          unsubscribes it from the key it left), or answers itself when no
//                          foreign key is involved;
//   right side: receive  — keeps the subscriptions (keyed foreign key + left key) and answers each
//                          with the foreign key's current right row;
//               foreign  — each right update answers every left row subscribed to its key;
//   left side:  resolve  — joins an answer with the left row's current value, unless the answer
//                          was computed for another version of the row (its hash differs): stale.
import type { Processor, ProcessorContext } from '../processor/processor.ts'
import type { Record } from '../processor/record.ts'
import type { KeyValueStore } from '../../stores/key-value-store.ts'
import type { Serde } from '../serdes.ts'
import { droppedRecordsSensor, type DroppedRecordsSensor } from '../runtime/dropped-records.ts'
import { asChange, Change } from './change.ts'
import { Instruction, sameHash, valueHash, type CombinedKey, type Subscription, type SubscriptionResponse } from './foreign-key-join-serdes.ts'
import type { TableJoiner } from './ktable-join.ts'
import type { KTableValueGetter } from './value-getter.ts'

export type ForeignKeyJoinKind = 'inner' | 'left'

/** Foreign keys are compared by their bytes, as Kafka Streams does. */
type ForeignKeyOf<K, V, KO> = (value: V, key: K) => KO | null

/** Every subscriber of one foreign key in one scan (the store's scans are bounded by a limit). */
const ALL_SUBSCRIBERS = 0x7fff_ffff

export function sendProcessor<K, V, KO> (options: {
  kind: ForeignKeyJoinKind
  foreignKeyOf: ForeignKeyOf<K, V, KO>
  foreignKeySerde: Serde<KO>
  valueSerde: Serde<V>
  subscriptionSink: string
  responseSink: string
}): () => Processor<K, unknown, unknown, unknown> {
  const { kind, foreignKeyOf, foreignKeySerde, valueSerde, subscriptionSink, responseSink } = options
  return () => {
    let ctx: ProcessorContext<unknown, unknown>
    return {
      init (c) { ctx = c },
      process (record: Record<K, unknown>) {
        if (record.key === null || record.key === undefined) return
        const key = record.key
        const change = asChange<V>(record.value)
        const newFk = change.newValue === null ? null : foreignKeyOf(change.newValue, key)
        const oldFk = change.oldValue === null ? null : foreignKeyOf(change.oldValue, key)
        const hash = valueHash(valueSerde, change.newValue)
        const subscribe = (foreignKey: KO, instruction: Instruction): void => {
          ctx.forward({ ...record, key: foreignKey, value: { hash, instruction, primaryKey: key } satisfies Subscription<K> }, subscriptionSink)
        }
        // No right row can be involved (no foreign key): the answer "no right row" goes straight
        // to the response topic, which keeps it in order with the right side's answers.
        const answerNoRightRow = (): void => {
          ctx.forward({ ...record, value: { hash, foreignValue: null } satisfies SubscriptionResponse<unknown> }, responseSink)
        }
        if (change.newValue === null) {
          if (oldFk !== null) subscribe(oldFk, Instruction.DELETE_KEY_AND_PROPAGATE)
          // A row without foreign key went, or one of unknown old value: its result (if any) goes.
          // A delete of a row known never to have been there changes nothing.
          else if (change.oldValue !== null || !(record.value instanceof Change)) answerNoRightRow()
          return
        }
        const moved = oldFk !== null && (newFk === null || !foreignKeySerde.serialize(oldFk).equals(foreignKeySerde.serialize(newFk)))
        if (moved) subscribe(oldFk, Instruction.DELETE_KEY_NO_PROPAGATE)
        if (newFk === null) {
          // Left join: the row joins "no right row". Inner: a result of the old value must go.
          if (kind === 'left' || change.oldValue !== null) answerNoRightRow()
          return
        }
        // An update must replace (or retract) the old value's result even when the new foreign
        // key has no row; only a brand-new row of an inner join waits for a right row.
        subscribe(newFk, kind === 'left' || change.oldValue !== null
          ? Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE
          : Instruction.PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE)
      }
    }
  }
}

export function receiveProcessor<K, KO, VO> (options: { storeName: string, rightGetter: KTableValueGetter<KO, VO> }): () => Processor<KO, Subscription<K>, K, SubscriptionResponse<VO>> {
  const { storeName, rightGetter } = options
  return () => {
    let ctx: ProcessorContext<K, SubscriptionResponse<VO>>
    let store: KeyValueStore<CombinedKey<KO, K>, Subscription<K>>
    let getRight: (key: KO) => VO | undefined
    return {
      init (c) {
        ctx = c
        store = c.getStateStore(storeName)
        getRight = rightGetter.init(c as ProcessorContext<unknown, unknown>)
      },
      process (record) {
        if (record.key === null || record.key === undefined) return
        const subscription = record.value
        const storeKey: CombinedKey<KO, K> = { foreignKey: record.key, primaryKey: subscription.primaryKey }
        const respond = (foreignValue: VO | null): void => {
          ctx.forward({ ...record, key: subscription.primaryKey, value: { hash: subscription.hash, foreignValue } })
        }
        if (subscription.instruction === Instruction.DELETE_KEY_NO_PROPAGATE || subscription.instruction === Instruction.DELETE_KEY_AND_PROPAGATE) {
          store.delete(storeKey)
          if (subscription.instruction === Instruction.DELETE_KEY_AND_PROPAGATE) respond(null)
          return
        }
        store.put(storeKey, subscription)
        const foreignValue = getRight(record.key) ?? null
        if (foreignValue !== null || subscription.instruction === Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE) respond(foreignValue)
      }
    }
  }
}

export function foreignTableProcessor<K, KO, VO> (options: { storeName: string }): () => Processor<KO, unknown, K, SubscriptionResponse<VO>> {
  const { storeName } = options
  return () => {
    let ctx: ProcessorContext<K, SubscriptionResponse<VO>>
    let store: KeyValueStore<CombinedKey<KO, K>, Subscription<K>>
    return {
      init (c) { ctx = c; store = c.getStateStore(storeName) },
      process (record) {
        if (record.key === null || record.key === undefined) return
        const change = asChange<VO>(record.value)
        // No row before and none now: no result can change.
        if (change.newValue === null && change.oldValue === null && record.value instanceof Change) return
        for (const { value: subscription } of store.prefixScan({ foreignKey: record.key, primaryKey: undefined }, { limit: ALL_SUBSCRIBERS })) {
          ctx.forward({ ...record, key: subscription.primaryKey, value: { hash: subscription.hash, foreignValue: change.newValue } })
        }
      }
    }
  }
}

/** Joins each answer with the left row's current value, keeps the result in `storeName` and
 *  forwards Change{new result, old result}; drops answers for another version of the row. */
export function resolverProcessor<K, V, VO, VR> (options: {
  kind: ForeignKeyJoinKind
  leftGetter: KTableValueGetter<K, V>
  valueSerde: Serde<V>
  joiner: TableJoiner<K, V, VO | undefined, VR>
  storeName: string
}): () => Processor<K, SubscriptionResponse<VO>, K, Change<VR>> {
  const { kind, leftGetter, valueSerde, joiner, storeName } = options
  return () => {
    let ctx: ProcessorContext<K, Change<VR>>
    let getLeft: (key: K) => V | undefined
    let store: KeyValueStore<K, VR>
    let dropped: DroppedRecordsSensor
    return {
      init (c) {
        ctx = c
        getLeft = leftGetter.init(c as ProcessorContext<unknown, unknown>)
        store = c.getStateStore(storeName)
        dropped = droppedRecordsSensor(c as ProcessorContext<unknown, unknown>)
      },
      process (record) {
        if (record.key === null || record.key === undefined) return
        const current = getLeft(record.key) ?? null
        // Stale: computed for a value the row no longer has; the answer for its current value
        // is on its way (or came first, out of order, and was used).
        if (!sameHash(record.value.hash, valueHash(valueSerde, current))) { dropped(); return }
        const foreignValue = record.value.foreignValue
        const result = current === null || (foreignValue === null && kind === 'inner')
          ? null
          : joiner(current, foreignValue ?? undefined, record.key) ?? null
        const old = store.get(record.key) ?? null
        if (result === null && old === null) return // no result before, none now
        if (result === null) store.delete(record.key)
        else store.put(record.key, result)
        ctx.forward({ ...record, value: new Change(result, old) })
      }
    }
  }
}
