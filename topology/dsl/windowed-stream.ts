// The windowed DSL (Kafka Streams' TimeWindowedKStream, SessionWindowedKStream and the windowed
// KTable they build): KGroupedStream.windowedBy(TimeWindows | SlidingWindows | SessionWindows),
// then aggregate / reduce / count into a window or session store. Semantics and deliberate
// differences: docs/engine.md "Windows".
//
// Lateness, as Kafka Streams: a task's stream time is the largest event time it has seen; a
// window closes at its end + grace (sessions: the session end + grace). A record whose window
// has closed is dropped from that window and counted (runtime/dropped-records.ts).
import type { Processor, ProcessorContext } from '../processor/processor.ts'
import type { Record } from '../processor/record.ts'
import type { KeyValueStore, StoreKind } from '../../stores/key-value-store.ts'
import { KeyValueWindowStore, type Window, type Windowed } from '../../stores/window-store.ts'
import { KeyValueSessionStore } from '../../stores/session-store.ts'
import { StreamsError } from '../streams-error.ts'
import { ForwardingCache } from '../runtime/record-cache.ts'
import { droppedRecordsSensor } from '../runtime/dropped-records.ts'
import { Serdes, type Serde } from '../serdes.ts'
import { KStream } from './kstream.ts'
import type { StreamsBuilder } from '../streams-builder.ts'
import { SessionWindows, SlidingWindows, TimeWindows } from './windows.ts'
import { timestampedSerde, type TimestampedValue } from './windowed-serdes.ts'
import { windowedStoreDefinition } from './windowed-store-definition.ts'
import { suppressProcessor, type Suppressed } from './suppress.ts'

/** Where a windowed aggregation keeps its windows (Kafka Streams' Materialized for window and
 *  session stores). */
export interface WindowedMaterialized<K, V> {
  readonly storeName: string
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
  /** Default 'rocksdb'. */
  readonly kind?: StoreKind
  /** Default true. */
  readonly changelog?: boolean
  /** How long windows stay in the store, in stream time after their start (sessions: after
   *  their end). Default and minimum: window size (or gap) + grace, as Kafka Streams. */
  readonly retentionMs?: number
}

type Bytes = KeyValueStore<Buffer, Buffer>

/** The string id of a windowed key (the record cache compares keys by it). */
function windowedId<K> (keySerde: Serde<K>): (w: Windowed<K>) => string {
  return w => `${w.window.start}:${w.window.end}:${keySerde.serialize(w.key).toString('latin1')}`
}

function isSkipped (record: Record<unknown, unknown>): boolean {
  // As Kafka Streams: aggregations skip records with a null key or value.
  return record.key === null || record.key === undefined || record.value === null || record.value === undefined
}

function retentionOf (what: string, minimum: number, materialized: WindowedMaterialized<unknown, unknown>): number {
  const retention = materialized.retentionMs ?? minimum
  if (!Number.isSafeInteger(retention) || retention < minimum) {
    throw new StreamsError('TOPOLOGY_INVALID', `store "${materialized.storeName}": retention (${retention} ms) must be at least the ${what} plus the grace period (${minimum} ms)`)
  }
  return retention
}

/** A windowed aggregation's results: the latest aggregate per Windowed<K> key. */
export class WindowedKTable<K, V> {
  readonly #builder: StreamsBuilder
  readonly nodeName: string
  readonly queryableStoreName: string
  /** Stream time after a window's end when it can no longer change: what suppress(untilWindowCloses)
   *  waits for (the grace; for sessions gap + grace). */
  readonly graceMs: number
  readonly keySerde: Serde<K>
  readonly valueSerde: Serde<V>

  constructor (builder: StreamsBuilder, nodeName: string, storeName: string, graceMs: number, keySerde: Serde<K>, valueSerde: Serde<V>) {
    this.#builder = builder
    this.nodeName = nodeName
    this.queryableStoreName = storeName
    this.graceMs = graceMs
    this.keySerde = keySerde
    this.valueSerde = valueSerde
  }

  /** The updates as a stream of Windowed<K> keys (session merges forward null for the sessions
   *  they replace). */
  toStream (name?: string): KStream<Windowed<K>, V> {
    const nodeName = name ?? this.#builder.nextName('TOSTREAM')
    this.#builder.topology.addProcessor(nodeName, () => {
      let ctx: ProcessorContext<Windowed<K>, V>
      return { init (c) { ctx = c }, process (r: Record<Windowed<K>, V>) { ctx.forward(r) } }
    }, this.nodeName)
    return new KStream<Windowed<K>, V>(this.#builder, nodeName, true)
  }

  /** Holds each window's updates back and emits only its final result once the window closes
   *  (Suppressed.untilWindowCloses): stream time past window end + grace. */
  suppress (suppressed: Suppressed, name?: string): WindowedKTable<K, V> {
    const nodeName = suppressed.name ?? name ?? this.#builder.nextName('SUPPRESS')
    const storeName = `${nodeName}-store`
    this.#builder.topology.addProcessor(nodeName, suppressProcessor<K, V>(storeName, this.graceMs, this.keySerde, this.valueSerde), this.nodeName)
    this.#builder.topology.addStateStore({ name: storeName, kind: 'rocksdb', keySerde: Serdes.bytes(), valueSerde: Serdes.bytes(), changelog: true }, nodeName)
    return new WindowedKTable<K, V>(this.#builder, nodeName, this.queryableStoreName, this.graceMs, this.keySerde, this.valueSerde)
  }
}

/** Time windows (tumbling, hopping) and sliding windows over a grouped stream. */
export class TimeWindowedKStream<K, V> {
  readonly #builder: StreamsBuilder
  /** The node an aggregation into a store reads from: the grouped stream's, or a repartition
   *  topic's source when the key changed upstream (KGroupedStream). */
  readonly #parent: WindowedSource<K>
  readonly #windows: TimeWindows | SlidingWindows

  constructor (builder: StreamsBuilder, parent: WindowedSource<K>, windows: TimeWindows | SlidingWindows) {
    this.#builder = builder
    this.#parent = parent
    this.#windows = windows
  }

  aggregate<VA> (initializer: () => VA, aggregator: (key: K, value: V, aggregate: VA) => VA, materialized: WindowedMaterialized<K, VA>): WindowedKTable<K, VA> {
    const keySerde = materialized.keySerde ?? (Serdes.string() as unknown as Serde<K>)
    const valueSerde = materialized.valueSerde ?? Serdes.json<VA>()
    const windows = this.#windows
    const name = this.#builder.nextName(windows.kind === 'sliding' ? 'SLIDINGWINDOWAGGREGATE' : 'WINDOWAGGREGATE')
    const sizeMs = windows.kind === 'sliding' ? windows.timeDifferenceMs : windows.sizeMs
    const retentionMs = retentionOf('window size', sizeMs + windows.graceMs, materialized as WindowedMaterialized<unknown, unknown>)
    const storeName = materialized.storeName
    const recordsStoreName = `${storeName}-records`
    const supplier = windows.kind === 'sliding'
      ? slidingAggregate(storeName, windows, retentionMs, keySerde, valueSerde, initializer, aggregator, recordsStoreName)
      : timeAggregate(storeName, windows, retentionMs, keySerde, valueSerde, initializer, aggregator)
    this.#builder.topology.addProcessor(name, supplier, this.#parent(storeName, keySerde))
    // A sliding window [start, start + difference] includes both ends: its Windowed end is start + difference.
    this.#builder.topology.addStateStore(windowedStoreDefinition(storeName, materialized.kind ?? 'rocksdb', materialized.changelog ?? true, {
      type: 'window', keySerde, valueSerde, retentionMs, windowSizeMs: sizeMs
    }), name)
    if (windows.kind === 'sliding') {
      // Sliding windows are recomputed from their records (docs/engine.md "Windows"): a second
      // window store keeps the values of each key's records by timestamp.
      this.#builder.topology.addStateStore(windowedStoreDefinition(recordsStoreName, materialized.kind ?? 'rocksdb', materialized.changelog ?? true, {
        type: 'window', keySerde, valueSerde: Serdes.json<unknown[]>(), retentionMs: slidingRecordsRetention(retentionMs, sizeMs), windowSizeMs: 1
      }), name)
    }
    return new WindowedKTable<K, VA>(this.#builder, name, storeName, windows.graceMs, keySerde, valueSerde)
  }

  reduce (reducer: (aggregate: V, value: V) => V, materialized: WindowedMaterialized<K, V>): WindowedKTable<K, V> {
    const NONE = Symbol('none')
    return this.aggregate<V>(() => NONE as unknown as V, (_k, v, agg) => (agg as unknown) === NONE ? v : reducer(agg, v), materialized)
  }

  count (materialized: WindowedMaterialized<K, number>): WindowedKTable<K, number> {
    return this.aggregate<number>(() => 0, (_k, _v, n) => n + 1, { valueSerde: Serdes.json<number>({ immutableValues: true }), ...materialized })
  }

}

/** Records stay as long as a window that can still change may hold them. */
function slidingRecordsRetention (retentionMs: number, differenceMs: number): number {
  return retentionMs + differenceMs + 1
}

function timeAggregate<K, V, VA> (storeName: string, windows: TimeWindows, retentionMs: number, keySerde: Serde<K>, valueSerde: Serde<VA>, initializer: () => VA, aggregator: (key: K, value: V, aggregate: VA) => VA): () => Processor<K, V, Windowed<K>, VA> {
  return () => {
    let ctx: ProcessorContext<Windowed<K>, VA>
    let store: KeyValueWindowStore<K, TimestampedValue<VA>>
    let cache: ForwardingCache<Windowed<K>, VA>
    let dropped: (n?: number) => void
    return {
      init (c) {
        ctx = c
        store = new KeyValueWindowStore(c.getStateStore<Buffer, Buffer>(storeName) as Bytes, { name: storeName, keySerde, valueSerde: timestampedSerde(valueSerde), retentionMs, windowSizeMs: windows.sizeMs })
        cache = new ForwardingCache(c, windowedId(keySerde))
        dropped = droppedRecordsSensor(c as ProcessorContext<unknown, unknown>)
      },
      process (record) {
        if (isSkipped(record)) return
        const closeTime = ctx.currentStreamTimeMs() - windows.graceMs
        for (const window of windows.windowsFor(record.timestamp)) {
          if (window.end <= closeTime) { dropped(); continue }
          const old = store.fetchWindow(record.key, window.start)
          const value = aggregator(record.key, record.value, old === undefined ? initializer() : old.value)
          const timestamp = old === undefined ? record.timestamp : Math.max(old.timestamp, record.timestamp)
          store.put(record.key, { value, timestamp }, window.start, old !== undefined)
          cache.put({ key: { key: record.key, window }, value, timestamp, headers: record.headers })
        }
      }
    }
  }
}

/** Kafka Streams' sliding windows: the windows are [t − d, t] for each record time t (its left
 *  window) and [t + 1, t + 1 + d] when records follow t within d (its right window); a record at
 *  t changes every such window that contains it, and creates its own. Each changed window is
 *  recomputed from the records it holds (kept per key and time), so the results equal Kafka
 *  Streams' on any order of records within the grace period. */
function slidingAggregate<K, V, VA> (storeName: string, windows: SlidingWindows, retentionMs: number, keySerde: Serde<K>, valueSerde: Serde<VA>, initializer: () => VA, aggregator: (key: K, value: V, aggregate: VA) => VA, recordsStoreName: string): () => Processor<K, V, Windowed<K>, VA> {
  const d = windows.timeDifferenceMs
  return () => {
    let ctx: ProcessorContext<Windowed<K>, VA>
    let store: KeyValueWindowStore<K, TimestampedValue<VA>>
    let records: KeyValueWindowStore<K, V[]>
    let cache: ForwardingCache<Windowed<K>, VA>
    let dropped: (n?: number) => void
    return {
      init (c) {
        ctx = c
        store = new KeyValueWindowStore(c.getStateStore<Buffer, Buffer>(storeName) as Bytes, { name: storeName, keySerde, valueSerde: timestampedSerde(valueSerde), retentionMs, windowSizeMs: d })
        records = new KeyValueWindowStore(c.getStateStore<Buffer, Buffer>(recordsStoreName) as Bytes, { name: recordsStoreName, keySerde, valueSerde: Serdes.json<V[]>(), retentionMs: slidingRecordsRetention(retentionMs, d), windowSizeMs: 1 })
        cache = new ForwardingCache(c, windowedId(keySerde))
        dropped = droppedRecordsSensor(c as ProcessorContext<unknown, unknown>)
      },
      process (record) {
        if (isSkipped(record)) return
        const t = record.timestamp
        const key = record.key
        const closeTime = ctx.currentStreamTimeMs() - windows.graceMs
        // As Kafka Streams: a record is dropped once even its right window has closed.
        if (t + 1 + d <= closeTime) { dropped(); return }
        const here = records.fetchWindow(key, t) ?? []
        records.put(key, [...here, record.value], t)
        // Every record time near t: the windows that contain t start or end at one of them.
        const near = records.fetch(key, t - 2 * d - 1, t + d + 1)
        const times = near.map(r => r.windowStart)
        const starts = new Set<number>()
        starts.add(t - d) // t's left window
        for (const r of times) {
          if (r > t && r <= t + d) starts.add(r - d) // left windows of later records contain t
          if (r < t && r + 1 + d >= t) starts.add(r + 1) // right windows of earlier records contain t
        }
        if (times.some(r => r > t && r <= t + 1 + d)) starts.add(t + 1) // t's own right window
        // As Kafka Streams, no window starts before 0: the early records share [0, d].
        for (const start of [...new Set([...starts].map(s => Math.max(0, s)))].sort((a, b) => a - b)) {
          const end = start + d
          if (end <= closeTime) continue // closed: Kafka Streams no longer updates it
          let value = initializer()
          let timestamp = Number.NEGATIVE_INFINITY
          let any = false
          for (const r of near) {
            if (r.windowStart < start || r.windowStart > end) continue
            for (const v of r.value) value = aggregator(key, v, value)
            timestamp = Math.max(timestamp, r.windowStart)
            any = true
          }
          if (!any) continue
          const window: Window = { start, end }
          store.put(key, { value, timestamp }, start)
          cache.put({ key: { key, window }, value, timestamp, headers: record.headers })
        }
      }
    }
  }
}

/** Session windows over a grouped stream. */
export class SessionWindowedKStream<K, V> {
  readonly #builder: StreamsBuilder
  /** The node an aggregation into a store reads from: the grouped stream's, or a repartition
   *  topic's source when the key changed upstream (KGroupedStream). */
  readonly #parent: WindowedSource<K>
  readonly #windows: SessionWindows

  constructor (builder: StreamsBuilder, parent: WindowedSource<K>, windows: SessionWindows) {
    this.#builder = builder
    this.#parent = parent
    this.#windows = windows
  }

  /** `merger(key, a, b)` combines the aggregates of two sessions a record joins together. */
  aggregate<VA> (initializer: () => VA, aggregator: (key: K, value: V, aggregate: VA) => VA, merger: (key: K, aggregate1: VA, aggregate2: VA) => VA, materialized: WindowedMaterialized<K, VA>): WindowedKTable<K, VA> {
    const keySerde = materialized.keySerde ?? (Serdes.string() as unknown as Serde<K>)
    const valueSerde = materialized.valueSerde ?? Serdes.json<VA>()
    const windows = this.#windows
    const gap = windows.inactivityGapMs
    const retentionMs = retentionOf('inactivity gap', gap + windows.graceMs, materialized as WindowedMaterialized<unknown, unknown>)
    const storeName = materialized.storeName
    const name = this.#builder.nextName('SESSION-WINDOWAGGREGATE')
    const source = this.#parent(storeName, keySerde)
    this.#builder.topology.addProcessor(name, (): Processor<K, V, Windowed<K>, VA> => {
      let ctx: ProcessorContext<Windowed<K>, VA>
      let store: KeyValueSessionStore<K, TimestampedValue<VA>>
      let cache: ForwardingCache<Windowed<K>, VA>
      let dropped: (n?: number) => void
      return {
        init (c) {
          ctx = c
          store = new KeyValueSessionStore(c.getStateStore<Buffer, Buffer>(storeName) as Bytes, { name: storeName, keySerde, valueSerde: timestampedSerde(valueSerde), retentionMs })
          cache = new ForwardingCache(c, windowedId(keySerde))
          dropped = droppedRecordsSensor(c as ProcessorContext<unknown, unknown>)
        },
        process (record) {
          if (isSkipped(record)) return
          const t = record.timestamp
          const key = record.key
          const closeTime = ctx.currentStreamTimeMs() - windows.graceMs
          // As Kafka Streams' KStreamSessionWindowAggregate: every session within the gap of t
          // merges with it into one.
          const overlapping = store.findSessions(key, t - gap, t + gap)
          let start = t
          let end = t
          let value = initializer()
          let timestamp = t
          for (const s of overlapping) {
            value = merger(key, value, s.value.value)
            start = Math.min(start, s.key.window.start)
            end = Math.max(end, s.key.window.end)
            timestamp = Math.max(timestamp, s.value.timestamp)
          }
          if (end < closeTime) { dropped(); return }
          for (const s of overlapping) {
            if (s.key.window.start === start && s.key.window.end === end) continue
            store.remove(s.key)
            cache.put({ key: s.key, value: null as unknown as VA, timestamp, headers: record.headers })
          }
          value = aggregator(key, record.value, value)
          const session: Windowed<K> = { key, window: { start, end } }
          store.put(session, { value, timestamp })
          cache.put({ key: session, value, timestamp, headers: record.headers })
        }
      }
    }, source)
    this.#builder.topology.addStateStore(windowedStoreDefinition(storeName, materialized.kind ?? 'rocksdb', materialized.changelog ?? true, {
      type: 'session', keySerde, valueSerde, retentionMs, windowSizeMs: 0
    }), name)
    // A session can still grow (and merge) until stream time passes its end + gap + grace: that
    // is when suppression may emit it (Kafka Streams' GraphGraceSearchUtil does the same).
    return new WindowedKTable<K, VA>(this.#builder, name, storeName, windows.graceMs + gap, keySerde, valueSerde)
  }

  reduce (reducer: (aggregate: V, value: V) => V, materialized: WindowedMaterialized<K, V>): WindowedKTable<K, V> {
    const NONE = Symbol('none')
    const combine = (a: V, b: V): V => (a as unknown) === NONE ? b : (b as unknown) === NONE ? a : reducer(a, b)
    return this.aggregate<V>(() => NONE as unknown as V, (_k, v, agg) => combine(agg, v), (_k, a, b) => combine(a, b), materialized)
  }

  count (materialized: WindowedMaterialized<K, number>): WindowedKTable<K, number> {
    return this.aggregate<number>(() => 0, (_k, _v, n) => n + 1, (_k, a, b) => a + b, { valueSerde: Serdes.json<number>({ immutableValues: true }), ...materialized })
  }
}

/** KGroupedStream.windowedBy(): the stream kind for each window kind. */
/** Resolves the node an aggregation into `storeName` reads from. */
export type WindowedSource<K> = (storeName: string, keySerde: Serde<K>) => string

export function windowedBy<K, V> (builder: StreamsBuilder, parent: WindowedSource<K>, windows: TimeWindows | SlidingWindows | SessionWindows): TimeWindowedKStream<K, V> | SessionWindowedKStream<K, V> {
  if (windows instanceof SessionWindows) return new SessionWindowedKStream<K, V>(builder, parent, windows)
  if (windows instanceof TimeWindows || windows instanceof SlidingWindows) return new TimeWindowedKStream<K, V>(builder, parent, windows)
  throw new StreamsError('TOPOLOGY_INVALID', 'windowedBy() takes TimeWindows, SlidingWindows or SessionWindows')
}
