// The outer-join store of left and outer stream-stream joins (Kafka Streams' "outer shared join
// store", KIP-633 / KAFKA-10847): records of an outer side that have met nothing yet are held
// here, and emitted with the other side missing only once their join window has closed (window
// end + grace behind stream time), so a record that a later peer joins yields no spurious
// unmatched result. A peer that joins a held record deletes it.
//
// One changelogged key-value store of bytes shared by both sides; layout
// time(timestamp) | side (0 left, 1 right) | key bytes → the values of that side held for the
// (key, timestamp), so the closed records are one ordered scan from the start (as suppress does).
import type { KeyValueStore } from '../../stores/key-value-store.ts'
import { writeTime, readTime, MIN_TIME, MAX_TIME, TIME_BYTES } from '../../stores/window-key-schema.ts'
import type { Serde } from '../serdes.ts'

export type JoinSide = 'left' | 'right'

export interface HeldRecord<K> {
  readonly side: JoinSide
  readonly key: K
  readonly timestamp: number
  /** The side's values, serialized by that side's list serde. */
  readonly values: Buffer
}

const UNBOUNDED = { limit: Number.MAX_SAFE_INTEGER }

function clampTime (t: number): number {
  return Math.max(MIN_TIME, Math.min(MAX_TIME, t))
}

export class OuterJoinStore<K> {
  readonly #bytes: KeyValueStore<Buffer, Buffer>
  readonly #keySerde: Serde<K>

  constructor (bytes: KeyValueStore<Buffer, Buffer>, keySerde: Serde<K>) {
    this.#bytes = bytes
    this.#keySerde = keySerde
  }

  #storeKey (side: JoinSide, key: K, timestamp: number): Buffer {
    const keyBytes = this.#keySerde.serialize(key)
    const out = Buffer.allocUnsafe(TIME_BYTES + 1 + keyBytes.length)
    writeTime(out, 0, clampTime(timestamp))
    out[TIME_BYTES] = side === 'left' ? 0 : 1
    keyBytes.copy(out, TIME_BYTES + 1)
    return out
  }

  get (side: JoinSide, key: K, timestamp: number): Buffer | undefined {
    return this.#bytes.get(this.#storeKey(side, key, timestamp)) ?? undefined
  }

  put (side: JoinSide, key: K, timestamp: number, values: Buffer): void {
    this.#bytes.put(this.#storeKey(side, key, timestamp), values)
  }

  delete (side: JoinSide, key: K, timestamp: number): void {
    this.#bytes.delete(this.#storeKey(side, key, timestamp))
  }

  /** Held records with a timestamp below `beforeTime`, oldest first. */
  heldBefore (beforeTime: number): Array<HeldRecord<K> & { readonly storeKey: Buffer }> {
    const upper = Buffer.allocUnsafe(TIME_BYTES)
    writeTime(upper, 0, clampTime(beforeTime))
    const out: Array<HeldRecord<K> & { readonly storeKey: Buffer }> = []
    for (const entry of this.#bytes.range(undefined, upper, UNBOUNDED)) {
      if (entry.key.length <= TIME_BYTES) continue
      if (entry.key.compare(upper) >= 0) continue // the range's upper bound may be inclusive
      out.push({
        storeKey: entry.key,
        timestamp: readTime(entry.key, 0),
        side: entry.key[TIME_BYTES] === 0 ? 'left' : 'right',
        key: this.#keySerde.deserialize(entry.key.subarray(TIME_BYTES + 1)),
        values: entry.value
      })
    }
    return out
  }

  deleteStoreKey (storeKey: Buffer): void {
    this.#bytes.delete(storeKey)
  }
}
