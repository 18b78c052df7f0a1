// KTable.suppress(Suppressed.untilWindowCloses(...)) for windowed tables (Kafka Streams'
// KTableSuppressProcessor with final-results semantics): each window's updates are held in a
// buffer and only its final result is forwarded, once stream time as this processor observes it
// reaches the window's end + grace (when the window aggregation stops accepting records for it).
//
// The buffer is a changelogged key-value store (as Kafka Streams' suppression buffer is), so a
// crash neither loses a buffered result nor emits one twice: an emit and the buffer's delete go
// in the same commit. Layout: time(windowEnd) | windowed key bytes → timestamp (8 bytes) | value,
// so eviction is one ordered scan from the start. A null update (a session merged away) removes
// the window from the buffer: final results never carry tombstones.
import type { Processor, ProcessorContext } from '../processor/processor.ts'
import type { KeyValueStore } from '../../stores/key-value-store.ts'
import type { Windowed } from '../../stores/window-store.ts'
import { writeTime, MIN_TIME, MAX_TIME } from '../../stores/window-key-schema.ts'
import type { Serde } from '../serdes.ts'
import { WindowedSerdes, timestampedSerde } from './windowed-serdes.ts'

export interface BufferConfig {
  /** Only unbounded buffers are built (the buffer lives in a store on disk, not in memory). */
  readonly unbounded: true
}

export const BufferConfig = {
  unbounded (): BufferConfig { return { unbounded: true } }
} as const

export interface Suppressed {
  readonly kind: 'untilWindowCloses'
  readonly bufferConfig: BufferConfig
  readonly name?: string
}

export const Suppressed = {
  /** One final result per window, when the window closes (end + grace passed in stream time). */
  untilWindowCloses (bufferConfig: BufferConfig = BufferConfig.unbounded()): Suppressed {
    return { kind: 'untilWindowCloses', bufferConfig }
  },
  /** The same, with a name: the buffer store is `<name>-store` (stable across versions). */
  withName (suppressed: Suppressed, name: string): Suppressed {
    return { ...suppressed, name }
  }
} as const

const UNBOUNDED = { limit: Number.MAX_SAFE_INTEGER }

function timeBound (t: number): Buffer {
  const out = Buffer.allocUnsafe(8)
  writeTime(out, 0, Math.max(MIN_TIME, Math.min(MAX_TIME, t)))
  return out
}

export function suppressProcessor<K, V> (storeName: string, graceMs: number, keySerde: Serde<K>, valueSerde: Serde<V>): () => Processor<Windowed<K>, V, Windowed<K>, V> {
  // Both ends of the window travel in the key (session windows cannot rebuild their end).
  const windowedSerde = WindowedSerdes.sessionWindowed(keySerde)
  const valueBytes = timestampedSerde(valueSerde)
  return () => {
    let ctx: ProcessorContext<Windowed<K>, V>
    let buffer: KeyValueStore<Buffer, Buffer>
    // Stream time as this processor observes it: the largest timestamp of the updates it received
    // (Kafka Streams' KTableSuppressProcessor), not the task's. The record cache forwards a
    // commit's updates after the task's stream time moved past all of them: judged by the task's,
    // a session buffered earlier would be evicted as final before the tombstone that merges it
    // away, further down the same flush, arrives.
    let observed = Number.NEGATIVE_INFINITY
    return {
      init (c) {
        ctx = c
        buffer = c.getStateStore<Buffer, Buffer>(storeName)
      },
      process (record) {
        const windowed = windowedSerde.serialize(record.key)
        const key = Buffer.allocUnsafe(8 + windowed.length)
        writeTime(key, 0, record.key.window.end)
        windowed.copy(key, 8)
        if (record.value === null || record.value === undefined) buffer.delete(key)
        else buffer.put(key, valueBytes.serialize({ value: record.value, timestamp: record.timestamp }))
        // Evict every window whose end + grace the stream time has reached, oldest end first.
        if (record.timestamp > observed) observed = record.timestamp
        const closed = buffer.range(undefined, timeBound(observed - graceMs + 1), UNBOUNDED)
        for (const entry of closed) {
          if (entry.key.length === 8) continue
          const { value, timestamp } = valueBytes.deserialize(entry.value)
          buffer.delete(entry.key)
          ctx.forward({ key: windowedSerde.deserialize(entry.key.subarray(8)), value, timestamp, headers: record.headers })
        }
      }
    }
  }
}
