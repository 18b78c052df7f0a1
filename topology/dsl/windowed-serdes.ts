// Serdes for windowed results: the Windowed<K> keys a windowed table's toStream() carries (for
// sinks), in Kafka Streams' wire formats, and the timestamped values the windowed stores hold.
import { StreamsError } from '../streams-error.ts'
import type { Windowed } from '../../stores/window-store.ts'
import type { Serde } from '../serdes.ts'

function writeLong (buf: Buffer, offset: number, value: number): void {
  buf.writeBigInt64BE(BigInt(value), offset)
}

function readLong (buf: Buffer, offset: number): number {
  return Number(buf.readBigInt64BE(offset))
}

export const WindowedSerdes = {
  /** Kafka Streams' TimeWindowedSerde: key bytes, then the window start (8 bytes, big-endian).
   *  The end is not written: it is start + `windowSizeMs`. */
  timeWindowed<K> (inner: Serde<K>, windowSizeMs: number): Serde<Windowed<K>> {
    return {
      serialize: w => {
        const key = inner.serialize(w.key)
        const out = Buffer.allocUnsafe(key.length + 8)
        key.copy(out, 0)
        writeLong(out, key.length, w.window.start)
        return out
      },
      deserialize: b => {
        if (b.length < 8) throw new StreamsError('SERDE_ERROR', `a time-windowed key needs at least 8 bytes, got ${b.length}`)
        const start = readLong(b, b.length - 8)
        return { key: inner.deserialize(b.subarray(0, b.length - 8)), window: { start, end: start + windowSizeMs } }
      }
    }
  },

  /** Kafka Streams' SessionWindowedSerde: key bytes, then the session end and start (8 bytes each). */
  sessionWindowed<K> (inner: Serde<K>): Serde<Windowed<K>> {
    return {
      serialize: w => {
        const key = inner.serialize(w.key)
        const out = Buffer.allocUnsafe(key.length + 16)
        key.copy(out, 0)
        writeLong(out, key.length, w.window.end)
        writeLong(out, key.length + 8, w.window.start)
        return out
      },
      deserialize: b => {
        if (b.length < 16) throw new StreamsError('SERDE_ERROR', `a session-windowed key needs at least 16 bytes, got ${b.length}`)
        const end = readLong(b, b.length - 16)
        const start = readLong(b, b.length - 8)
        return { key: inner.deserialize(b.subarray(0, b.length - 16)), window: { start, end } }
      }
    }
  }
} as const

/** A value with the timestamp of its result (Kafka Streams' ValueAndTimestamp). */
export interface TimestampedValue<V> {
  readonly value: V
  readonly timestamp: number
}

/** 8 bytes of timestamp, then the value's bytes (Kafka Streams' timestamped stores). */
export function timestampedSerde<V> (inner: Serde<V>): Serde<TimestampedValue<V>> {
  return {
    // A timestamped value is immutable when its value is (the window store then shares it
    // decoded with the caching layer: stores/window-store.ts).
    immutableValues: inner.immutableValues === true,
    serialize: v => {
      const value = inner.serialize(v.value)
      const out = Buffer.allocUnsafe(8 + value.length)
      writeLong(out, 0, v.timestamp)
      value.copy(out, 8)
      return out
    },
    deserialize: b => ({ timestamp: readLong(b, 0), value: inner.deserialize(b.subarray(8)) })
  }
}

/** Only the value of a timestamped value (interactive queries). */
export function valueOnlySerde<V> (inner: Serde<V>): Serde<V> {
  const timestamped = timestampedSerde(inner)
  return {
    serialize: () => { throw new Error('read-only serde') },
    deserialize: b => timestamped.deserialize(b).value
  }
}
