// Session stores (Kafka Streams' SessionStore): one aggregate per (key, session), a session being
// [start, end] with both ends inclusive (the first and last record times). Same foundation as the
// window stores (stores/window-store.ts): an ordered key-value store of bytes with the layout of
// stores/window-key-schema.ts, sessions ordered by end within a key, a time index by end for the
// purge. Expiry as Kafka Streams: observed stream time = largest session end put; a session is
// expired once its end <= observed − retention.
import type { Serde } from '../topology/serdes.ts'
import type { KeyValue } from './key-value-store.ts'
import { clampTime, dataKey, decodeData, decodeIndex, indexBound, indexKey, INDEX_END, MAX_TIME, MIN_TIME } from './window-key-schema.ts'
import { defaultSegmentInterval, storeClock, type StoreClock, type OrderedBytes, type Windowed, type WritableOrderedBytes } from './window-store.ts'

export interface ReadOnlySessionStore<K, V> {
  readonly name: string
  /** Sessions of `key` with end >= earliestSessionEnd and start <= latestSessionStart, by end. */
  findSessions (key: K, earliestSessionEnd: number, latestSessionStart: number): Array<KeyValue<Windowed<K>, V>>
  /** Every live session of `key`, by end. */
  fetch (key: K): Array<KeyValue<Windowed<K>, V>>
  /** The aggregate of exactly this session. */
  fetchSession (key: K, sessionStart: number, sessionEnd: number): V | undefined
}

export interface SessionStore<K, V> extends ReadOnlySessionStore<K, V> {
  /** Stores a session's aggregate (ignored when the session has already expired). */
  put (session: Windowed<K>, value: V): void
  remove (session: Windowed<K>): void
  readonly observedStreamTimeMs: number
}

export interface SessionStoreOptions<K, V> {
  readonly name: string
  readonly keySerde: Serde<K>
  readonly valueSerde: Serde<V>
  readonly retentionMs: number
  readonly segmentIntervalMs?: number
}

const EMPTY = Buffer.alloc(0)
const UNBOUNDED = { limit: Number.MAX_SAFE_INTEGER }

export class SessionStoreReader<K, V> implements ReadOnlySessionStore<K, V> {
  readonly name: string
  protected readonly bytes: OrderedBytes
  protected readonly options: SessionStoreOptions<K, V>

  constructor (bytes: OrderedBytes, options: SessionStoreOptions<K, V>) {
    this.name = options.name
    this.bytes = bytes
    this.options = options
  }

  protected observedTime (): number {
    const last = this.bytes.range(indexBound(MIN_TIME), INDEX_END, { limit: 1, reverse: true })[0]
    return last === undefined ? Number.NEGATIVE_INFINITY : decodeIndex(last.key, 2).times[0] as number
  }

  /** Smallest session end still alive. */
  protected liveFrom (): number {
    const observed = this.observedTime()
    return observed === Number.NEGATIVE_INFINITY ? MIN_TIME : observed - this.options.retentionMs + 1
  }

  findSessions (key: K, earliestSessionEnd: number, latestSessionStart: number): Array<KeyValue<Windowed<K>, V>> {
    const from = Math.max(clampTime(earliestSessionEnd), this.liveFrom())
    const keyBytes = this.options.keySerde.serialize(key)
    const out: Array<KeyValue<Windowed<K>, V>> = []
    for (const { key: data, value } of this.bytes.range(dataKey(keyBytes, from, MIN_TIME), dataKey(keyBytes, MAX_TIME, MAX_TIME), UNBOUNDED)) {
      const [end, start] = decodeData(data, 2).times as [number, number]
      if (start > latestSessionStart) continue
      out.push({ key: { key, window: { start, end } }, value: this.options.valueSerde.deserialize(value) })
    }
    return out
  }

  fetch (key: K): Array<KeyValue<Windowed<K>, V>> {
    return this.findSessions(key, MIN_TIME, MAX_TIME)
  }

  fetchSession (key: K, sessionStart: number, sessionEnd: number): V | undefined {
    if (sessionEnd < this.liveFrom()) return undefined
    const bytes = this.bytes.get(dataKey(this.options.keySerde.serialize(key), sessionEnd, sessionStart))
    return bytes === undefined ? undefined : this.options.valueSerde.deserialize(bytes)
  }
}

export class KeyValueSessionStore<K, V> extends SessionStoreReader<K, V> implements SessionStore<K, V> {
  readonly #writable: WritableOrderedBytes
  readonly #segmentIntervalMs: number
  readonly #clock: StoreClock

  constructor (bytes: WritableOrderedBytes, options: SessionStoreOptions<K, V>) {
    super(bytes, options)
    this.#writable = bytes
    if (!(options.retentionMs >= 0)) throw new RangeError(`session store ${options.name}: retention must not be negative`)
    this.#segmentIntervalMs = options.segmentIntervalMs ?? defaultSegmentInterval(options.retentionMs)
    this.#clock = storeClock(bytes)
  }

  get observedStreamTimeMs (): number {
    return this.#clock.observed
  }

  protected override observedTime (): number {
    return this.#clock.observed
  }

  put (session: Windowed<K>, value: V): void {
    const { start, end } = session.window
    if (end > this.#clock.observed) this.#clock.observed = end
    if (end < this.liveFrom()) return
    const keyBytes = this.options.keySerde.serialize(session.key)
    this.#writable.put(dataKey(keyBytes, end, start), this.options.valueSerde.serialize(value))
    this.#writable.put(indexKey(keyBytes, end, start), EMPTY)
    this.#maybePurge()
  }

  remove (session: Windowed<K>): void {
    const { start, end } = session.window
    const keyBytes = this.options.keySerde.serialize(session.key)
    this.#writable.delete(dataKey(keyBytes, end, start))
    this.#writable.delete(indexKey(keyBytes, end, start))
  }

  #maybePurge (): void {
    const liveFrom = this.liveFrom()
    const clock = this.#clock
    if (liveFrom - clock.purgedBefore < this.#segmentIntervalMs && clock.purgedBefore !== Number.NEGATIVE_INFINITY) return
    for (const { key: index } of this.#writable.range(indexBound(MIN_TIME), indexBound(liveFrom), UNBOUNDED)) {
      const { key, times } = decodeIndex(index, 2)
      this.#writable.delete(dataKey(key, times[0] as number, times[1] as number))
      this.#writable.delete(index)
    }
    clock.purgedBefore = liveFrom
  }
}
