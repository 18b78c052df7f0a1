// Window stores (Kafka Streams' WindowStore): values per (key, window start), kept for a
// retention period of stream time. Built on an ordered key-value store of bytes (the layout is in
// stores/window-key-schema.ts), so a window store is backed, changelogged, checkpointed and
// restored exactly like a key-value store; what this file adds is the layout, the expiry and the
// purge of expired windows.
//
// Expiry, as Kafka Streams: the store's observed stream time is the largest window start put into
// it; a window is expired once its start <= observed − retention. Expired windows are never
// returned (fetches are clamped) and a put into one is ignored; they are deleted (with changelog
// tombstones) by an ordered scan of the time index from its start, at most once per
// `segmentIntervalMs` of stream time (Kafka Streams' default: max(retention / 2, 60 s)).
import type { Serde } from '../topology/serdes.ts'
import { CachingChangelogStore } from './caching-changelogging-store.ts'
import type { KeyValue } from './key-value-store.ts'
import { clampTime, dataKey, decodeData, decodeIndex, indexBound, indexKey, INDEX_END, MAX_TIME, MIN_TIME } from './window-key-schema.ts'

/** A time interval [start, end): windows end exclusive, sessions inclusive (as Kafka Streams). */
export interface Window {
  readonly start: number
  readonly end: number
}

/** The key of a windowed aggregation's results: the record key and its window. */
export interface Windowed<K> {
  readonly key: K
  readonly window: Window
}

export interface WindowValue<V> {
  readonly windowStart: number
  readonly value: V
}

/** What reads need from the bytes underneath: a typed KeyValueStore<Buffer, Buffer>, writable or
 *  read-only (ranges inclusive, in byte order). */
export interface OrderedBytes {
  get (key: Buffer): Buffer | undefined
  range (from: Buffer | undefined, to: Buffer | undefined, options?: { limit?: number, reverse?: boolean }): Array<KeyValue<Buffer, Buffer>>
  approximateNumEntries (): number
}

export interface WritableOrderedBytes extends OrderedBytes {
  put (key: Buffer, value: Buffer): void
  delete (key: Buffer): unknown
}

export interface ReadOnlyWindowStore<K, V> {
  readonly name: string
  /** The value of one window, undefined when absent or expired. */
  fetchWindow (key: K, windowStart: number): V | undefined
  /** The windows of `key` whose start lies in [timeFrom, timeTo], oldest first (one range scan). */
  fetch (key: K, timeFrom: number, timeTo: number): WindowValue<V>[]
  /** The windows of every key whose start lies in [timeFrom, timeTo], by start then key. */
  fetchAll (timeFrom: number, timeTo: number): Array<KeyValue<Windowed<K>, V>>
  /** Every live window. */
  all (): Array<KeyValue<Windowed<K>, V>>
  /** The observed stream time of the store holding `key` (the task's): the largest window start
   *  put into it, −Infinity when it holds none. A window [s, e) with grace g is closed once
   *  the task's stream time ≥ e + g; observed ≥ e + g proves it (stream time ≥ observed). */
  observedStreamTime (key: K): number
}

export interface WindowStore<K, V> extends ReadOnlyWindowStore<K, V> {
  /** `value` undefined deletes the window. Ignored when the window has already expired. */
  put (key: K, value: V | undefined, windowStart: number): void
  /** The largest window start put so far (−Infinity before the first put since opening). */
  readonly observedStreamTimeMs: number
}

export interface WindowStoreOptions<K, V> {
  readonly name: string
  readonly keySerde: Serde<K>
  readonly valueSerde: Serde<V>
  readonly retentionMs: number
  /** Size of the windows (to build Windowed keys: end = start + size). */
  readonly windowSizeMs: number
  /** Stream time between two purges of expired windows; default max(retention / 2, 60 000). */
  readonly segmentIntervalMs?: number
}

const EMPTY = Buffer.alloc(0)
const UNBOUNDED = { limit: Number.MAX_SAFE_INTEGER }

/** The caching layer under `bytes` when `bytes` is the typed bytes-to-bytes store a processor
 *  gets for a window store (context.getStateStore; its serdes are identities): reads and writes
 *  of window values can then share the decoded value with it (getDecoded, put with `decoded`), as
 *  TypedKeyValueStore does for a serde of immutableValues. Undefined for any other bytes store. */
function cachingUnder (bytes: object): CachingChangelogStore | undefined {
  const typed = bytes as { bytes?: unknown, keySerde?: Serde<unknown>, valueSerde?: Serde<unknown> }
  if (!(typed.bytes instanceof CachingChangelogStore) || typed.keySerde === undefined || typed.valueSerde === undefined) return undefined
  const probe = Buffer.alloc(1)
  return typed.keySerde.serialize(probe) === probe && typed.valueSerde.serialize(probe) === probe ? typed.bytes : undefined
}

export function defaultSegmentInterval (retentionMs: number): number {
  return Math.max(Math.floor(retentionMs / 2), 60_000)
}

/** Reads shared by the writable store and the interactive-query view. */
export class WindowStoreReader<K, V> implements ReadOnlyWindowStore<K, V> {
  readonly name: string
  protected readonly bytes: OrderedBytes
  protected readonly options: WindowStoreOptions<K, V>

  constructor (bytes: OrderedBytes, options: WindowStoreOptions<K, V>) {
    this.name = options.name
    this.bytes = bytes
    this.options = options
  }

  /** Start of the oldest window still alive. */
  protected liveFrom (): number {
    const observed = this.observedTime()
    return observed === Number.NEGATIVE_INFINITY ? MIN_TIME : observed - this.options.retentionMs + 1
  }

  /** The read-only view has no puts: the largest start in the time index is the observed time. */
  protected observedTime (): number {
    const last = this.bytes.range(indexBound(MIN_TIME), INDEX_END, { limit: 1, reverse: true })[0]
    return last === undefined ? Number.NEGATIVE_INFINITY : decodeIndex(last.key, 1).times[0] as number
  }

  observedStreamTime (_key: K): number {
    return this.observedTime()
  }

  fetchWindow (key: K, windowStart: number): V | undefined {
    if (windowStart < this.liveFrom()) return undefined
    const bytes = this.bytes.get(dataKey(this.options.keySerde.serialize(key), windowStart))
    return bytes === undefined ? undefined : this.options.valueSerde.deserialize(bytes)
  }

  fetch (key: K, timeFrom: number, timeTo: number): WindowValue<V>[] {
    const from = Math.max(clampTime(timeFrom), this.liveFrom())
    const to = clampTime(timeTo)
    if (from > to) return []
    const keyBytes = this.options.keySerde.serialize(key)
    return this.bytes.range(dataKey(keyBytes, from), dataKey(keyBytes, to), UNBOUNDED).map(({ key: k, value }) => ({
      windowStart: decodeData(k, 1).times[0] as number,
      value: this.options.valueSerde.deserialize(value)
    }))
  }

  fetchAll (timeFrom: number, timeTo: number): Array<KeyValue<Windowed<K>, V>> {
    const from = Math.max(clampTime(timeFrom), this.liveFrom())
    const to = clampTime(timeTo)
    if (from > to) return []
    const out: Array<KeyValue<Windowed<K>, V>> = []
    // Index keys at time `to` are longer than indexBound(to): the bound is the start of `to + 1`.
    for (const { key: index } of this.bytes.range(indexBound(from), indexBound(to + 1), UNBOUNDED)) {
      const { key, times } = decodeIndex(index, 1)
      const start = times[0] as number
      const value = this.bytes.get(dataKey(key, start))
      if (value === undefined) continue
      out.push({ key: this.#windowed(key, start), value: this.options.valueSerde.deserialize(value) })
    }
    return out
  }

  all (): Array<KeyValue<Windowed<K>, V>> {
    return this.fetchAll(MIN_TIME, MAX_TIME - 1)
  }

  #windowed (key: Buffer, start: number): Windowed<K> {
    return { key: this.options.keySerde.deserialize(key), window: { start, end: start + this.options.windowSizeMs } }
  }
}

/** A store's clocks: observed stream time and how far the purge got (since opening). They belong
 *  to the bytes store, not to one view of it: processors that share a store (the two sides of a
 *  stream-stream join) see one observed time, as they share one store in Kafka Streams. */
export interface StoreClock {
  observed: number
  purgedBefore: number
}

const CLOCKS = new WeakMap<object, StoreClock>()

export function storeClock (bytes: object): StoreClock {
  let clock = CLOCKS.get(bytes)
  if (clock === undefined) {
    clock = { observed: Number.NEGATIVE_INFINITY, purgedBefore: Number.NEGATIVE_INFINITY }
    CLOCKS.set(bytes, clock)
  }
  return clock
}

/** The window store a processor writes. */
export class KeyValueWindowStore<K, V> extends WindowStoreReader<K, V> implements WindowStore<K, V> {
  readonly #writable: WritableOrderedBytes
  readonly #segmentIntervalMs: number
  readonly #clock: StoreClock
  /** Set when values are shared decoded with the caching layer (immutableValues serde). */
  readonly #caching: CachingChangelogStore | undefined
  readonly #decode: (bytes: Buffer) => V
  /** The last primitive key serialized, and its bytes (a fetchWindow then put of one key). */
  #lastKey: unknown
  #lastKeyBytes: Buffer | undefined

  constructor (bytes: WritableOrderedBytes, options: WindowStoreOptions<K, V>) {
    super(bytes, options)
    this.#writable = bytes
    this.#caching = options.valueSerde.immutableValues === true ? cachingUnder(bytes) : undefined
    this.#decode = b => options.valueSerde.deserialize(b)
    if (!(options.retentionMs >= 0)) throw new RangeError(`window store ${options.name}: retention must not be negative`)
    this.#segmentIntervalMs = options.segmentIntervalMs ?? defaultSegmentInterval(options.retentionMs)
    this.#clock = storeClock(bytes)
  }

  get observedStreamTimeMs (): number {
    return this.#clock.observed
  }

  protected override observedTime (): number {
    return this.#clock.observed
  }

  override fetchWindow (key: K, windowStart: number): V | undefined {
    if (windowStart < this.liveFrom()) return undefined
    const data = dataKey(this.#keyBytes(key), windowStart)
    if (this.#caching !== undefined) return this.#caching.getDecoded(data, this.#decode)
    const bytes = this.bytes.get(data)
    return bytes === undefined ? undefined : this.options.valueSerde.deserialize(bytes)
  }

  /** `indexed`: the caller has just read this window's value from this store (fetchWindow), so
   *  its time-index entry exists (data and index are written and deleted together) and is not
   *  written again: one store write and one changelog record fewer per update of a window. */
  put (key: K, value: V | undefined, windowStart: number, indexed = false): void {
    if (windowStart > this.#clock.observed) this.#clock.observed = windowStart
    if (windowStart < this.liveFrom()) return
    const keyBytes = this.#keyBytes(key)
    const data = dataKey(keyBytes, windowStart)
    if (value === undefined || value === null) {
      this.#writable.delete(data)
      this.#writable.delete(indexKey(keyBytes, windowStart))
    } else {
      const bytes = this.options.valueSerde.serialize(value)
      if (this.#caching !== undefined) this.#caching.put(data, bytes, value)
      else this.#writable.put(data, bytes)
      if (!indexed) this.#writable.put(indexKey(keyBytes, windowStart), EMPTY)
    }
    this.#maybePurge()
  }

  #keyBytes (key: K): Buffer {
    if (key === this.#lastKey && this.#lastKeyBytes !== undefined) return this.#lastKeyBytes
    const bytes = this.options.keySerde.serialize(key)
    if (typeof key === 'string' || typeof key === 'number') {
      this.#lastKey = key
      this.#lastKeyBytes = bytes
    }
    return bytes
  }

  /** Deletes the expired windows: one ordered scan of the time index up to the live bound. */
  #maybePurge (): void {
    const liveFrom = this.liveFrom()
    const clock = this.#clock
    if (liveFrom - clock.purgedBefore < this.#segmentIntervalMs && clock.purgedBefore !== Number.NEGATIVE_INFINITY) return
    const expired = this.#writable.range(indexBound(MIN_TIME), indexBound(liveFrom), UNBOUNDED)
    for (const { key: index } of expired) {
      const { key, times } = decodeIndex(index, 1)
      this.#writable.delete(dataKey(key, times[0] as number))
      this.#writable.delete(index)
    }
    clock.purgedBefore = liveFrom
  }
}
