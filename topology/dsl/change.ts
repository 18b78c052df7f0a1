// What a KTable's nodes forward to each other: the key's new value and the value it replaces
// (Kafka Streams' Change). The old value is what lets a KTable groupBy subtract a row from the
// group it leaves, a filter skip a tombstone for a row that was never there, and a join retract
// the result it emitted before. toStream() forwards only the new value. null is "no row" on
// either side (a delete, or a key seen for the first time).
import { StreamsError } from '../streams-error.ts'
import type { Serde } from '../serdes.ts'

export class Change<V> {
  readonly newValue: V | null
  readonly oldValue: V | null
  constructor (newValue: V | null | undefined, oldValue: V | null | undefined) {
    this.newValue = newValue ?? null
    this.oldValue = oldValue ?? null
  }
}

/** A KTable node's forwarded value as a Change. A node built outside the DSL's KTable operations
 *  may forward plain values: its old value is then unknown (null). */
export function asChange<V> (value: unknown): Change<V> {
  return value instanceof Change ? value as Change<V> : new Change<V>(value as V | null, null)
}

const HAS_NEW = 1
const HAS_OLD = 2
const FORMAT = 1

/** Change{old,new} on an internal topic (the repartition topic of a KTable groupBy):
 *  [format 1][flags: 1 new present, 2 old present][new length, uint32 BE][new bytes][old bytes].
 *  Not Kafka Streams' byte layout: only this engine reads its internal topics. */
export function changeSerde<V> (inner: Serde<V>): Serde<Change<V>> {
  return {
    serialize (change) {
      const n = change.newValue === null ? null : inner.serialize(change.newValue)
      const o = change.oldValue === null ? null : inner.serialize(change.oldValue)
      const head = Buffer.alloc(6)
      head.writeUInt8(FORMAT, 0)
      head.writeUInt8((n === null ? 0 : HAS_NEW) | (o === null ? 0 : HAS_OLD), 1)
      head.writeUInt32BE(n?.length ?? 0, 2)
      return Buffer.concat([head, n ?? Buffer.alloc(0), o ?? Buffer.alloc(0)])
    },
    deserialize (bytes) {
      if (bytes.length < 6 || bytes.readUInt8(0) !== FORMAT) throw new StreamsError('SERDE_ERROR', `not a Change record (format ${bytes.length > 0 ? bytes.readUInt8(0) : 'none'}, ${bytes.length} bytes)`)
      const flags = bytes.readUInt8(1)
      const newLength = bytes.readUInt32BE(2)
      if (6 + newLength > bytes.length) throw new StreamsError('SERDE_ERROR', `Change record too short: new value of ${newLength} bytes in ${bytes.length}`)
      const n = (flags & HAS_NEW) !== 0 ? inner.deserialize(bytes.subarray(6, 6 + newLength)) : null
      const o = (flags & HAS_OLD) !== 0 ? inner.deserialize(bytes.subarray(6 + newLength)) : null
      return new Change(n, o)
    }
  }
}
