// The outer store layer, the only one that knows serdes: KeyValueStore<K, V> for processors over
// the caching/changelogging bytes layer, and a read-only store for interactive queries over the
// committed view that refuses to answer unless the store is READY.
import { StreamsError } from '../topology/streams-error.ts'
import type { Serde } from '../topology/serdes.ts'
import type { KeyValue, KeyValueStore, RangeOptions, ReadOnlyKeyValueStore } from './key-value-store.ts'
import { prefixUpperBound, type BytesRangeOptions } from './bytes-range.ts'
import type { CachingChangelogStore } from './caching-changelogging-store.ts'
import type { ReadOnlyBytesView } from './committed-bytes-view.ts'

/** RESTORING: the task is catching up from the changelog; READY: serving; CLOSED: gone from this
 *  instance (closed or migrated). */
export type StoreState = 'RESTORING' | 'READY' | 'CLOSED'

/** A read-only store as interactive queries get it: reads throw STORE_NOT_READY unless READY. */
export interface QueryableKeyValueStore<K, V> extends ReadOnlyKeyValueStore<K, V> {
  readonly state: StoreState
}

function decodeRows<K, V> (rows: Array<[Buffer, Buffer]>, keySerde: Serde<K>, valueSerde: Serde<V>): KeyValue<K, V>[] {
  const out = new Array<KeyValue<K, V>>(rows.length)
  for (let i = 0; i < rows.length; i++) {
    const [key, value] = rows[i] as [Buffer, Buffer]
    out[i] = { key: keySerde.deserialize(key), value: valueSerde.deserialize(value) }
  }
  return out
}

function checkKey (name: string, key: unknown): void {
  if (key === null || key === undefined) throw new TypeError(`store ${name}: key must not be null or undefined`)
}

/** Bytes options for a prefix scan: [prefix, next-prefix) with the caller's limit and order. */
function prefixRange (prefix: Buffer, options: RangeOptions | undefined): { to: Buffer | undefined, options: BytesRangeOptions } {
  const to = prefixUpperBound(prefix)
  const bytesOptions: { limit?: number, reverse?: boolean, toExclusive: boolean } = { toExclusive: true }
  if (options?.limit !== undefined) bytesOptions.limit = options.limit
  if (options?.reverse !== undefined) bytesOptions.reverse = options.reverse
  return { to, options: bytesOptions }
}

/** Range reads shared by the writable and the read-only typed stores. */
interface BytesReader {
  get (key: Buffer): Buffer | undefined
  range (from: Buffer | undefined, to: Buffer | undefined, options?: BytesRangeOptions): Array<[Buffer, Buffer]>
  approximateNumEntries (): number
}

function typedGet<K, V> (reader: BytesReader, name: string, keySerde: Serde<K>, valueSerde: Serde<V>, key: K): V | undefined {
  checkKey(name, key)
  const bytes = reader.get(keySerde.serialize(key))
  return bytes === undefined ? undefined : valueSerde.deserialize(bytes)
}

function typedRange<K, V> (reader: BytesReader, keySerde: Serde<K>, valueSerde: Serde<V>, from: K | undefined, to: K | undefined, options?: RangeOptions): KeyValue<K, V>[] {
  const fromBytes = from === undefined || from === null ? undefined : keySerde.serialize(from)
  const toBytes = to === undefined || to === null ? undefined : keySerde.serialize(to)
  return decodeRows(reader.range(fromBytes, toBytes, options), keySerde, valueSerde)
}

function typedPrefixScan<K, V> (reader: BytesReader, name: string, keySerde: Serde<K>, valueSerde: Serde<V>, prefix: K, options?: RangeOptions): KeyValue<K, V>[] {
  checkKey(name, prefix)
  const from = keySerde.serialize(prefix)
  const bounds = prefixRange(from, options)
  return decodeRows(reader.range(from, bounds.to, bounds.options), keySerde, valueSerde)
}

/** The store processors use (context.getStateStore). Reads see the task's uncommitted writes.
 *
 *  With a value serde of immutableValues, the caching layer keeps each value's decoded object
 *  next to its bytes (dirty, pending, then in the read cache): put() hands it over with the bytes,
 *  and a value read from the bytes store is parsed once while it stays cached. It goes wherever
 *  the bytes go, so it never outlives an abort that drops them. (The rewards processor read a
 *  balance and an activity head per record, each a JSON.parse of what it had written before;
 *  docs/benchmarks.md, "Rewards hot path".) */
export class TypedKeyValueStore<K, V> implements KeyValueStore<K, V> {
  readonly name: string
  readonly bytes: CachingChangelogStore
  readonly keySerde: Serde<K>
  readonly valueSerde: Serde<V>
  readonly #shareDecoded: boolean
  readonly #decode: (bytes: Buffer) => V
  /** The last primitive key serialized, and its bytes (see #serializeKey). */
  #lastKey: unknown
  #lastKeyBytes: Buffer | undefined

  constructor (bytes: CachingChangelogStore, keySerde: Serde<K>, valueSerde: Serde<V>) {
    this.name = bytes.name
    this.bytes = bytes
    this.keySerde = keySerde
    this.valueSerde = valueSerde
    this.#shareDecoded = valueSerde.immutableValues === true
    this.#decode = bytes => valueSerde.deserialize(bytes)
  }

  get (key: K): V | undefined {
    checkKey(this.name, key)
    const id = this.#shareDecoded ? this.keySerde.latin1Id?.(key) : undefined
    if (id !== undefined) return this.bytes.getDecodedById(id, this.#decode)
    const keyBytes = this.#serializeKey(key)
    if (!this.#shareDecoded) {
      const bytes = this.bytes.get(keyBytes)
      return bytes === undefined ? undefined : this.valueSerde.deserialize(bytes)
    }
    return this.bytes.getDecoded(keyBytes, this.#decode)
  }

  put (key: K, value: V): void {
    checkKey(this.name, key)
    if (value === undefined || value === null) throw new TypeError(`store ${this.name}: put(key, ${String(value)}) is not allowed; use delete()`)
    const id = this.keySerde.latin1Id?.(key)
    // The id's latin1 bytes are the key's serialized bytes (Serde.latin1Id).
    if (id !== undefined) this.bytes.putById(id, this.valueSerde.serialize(value), this.#shareDecoded ? value : undefined)
    else this.bytes.put(this.#serializeKey(key), this.valueSerde.serialize(value), this.#shareDecoded ? value : undefined)
  }

  /** The key's bytes; a primitive key read then written (an aggregation's get + put) is
   *  serialized once: the same Buffer goes to both (the bytes layer never mutates keys). */
  #serializeKey (key: K): Buffer {
    if (key === this.#lastKey && this.#lastKeyBytes !== undefined) return this.#lastKeyBytes
    const bytes = this.keySerde.serialize(key)
    if (typeof key === 'string' || typeof key === 'number') {
      this.#lastKey = key
      this.#lastKeyBytes = bytes
    }
    return bytes
  }

  putIfAbsent (key: K, value: V): V | undefined {
    const existing = this.get(key)
    if (existing === undefined) this.put(key, value)
    return existing
  }

  delete (key: K): V | undefined {
    checkKey(this.name, key)
    const keyBytes = this.keySerde.serialize(key)
    const old = this.bytes.get(keyBytes)
    this.bytes.delete(keyBytes)
    return old === undefined ? undefined : this.valueSerde.deserialize(old)
  }

  range (from: K | undefined, to: K | undefined, options?: RangeOptions): KeyValue<K, V>[] {
    return typedRange(this.bytes, this.keySerde, this.valueSerde, from, to, options)
  }

  prefixScan (prefix: K, options?: RangeOptions): KeyValue<K, V>[] {
    return typedPrefixScan(this.bytes, this.name, this.keySerde, this.valueSerde, prefix, options)
  }

  approximateNumEntries (): number {
    return this.bytes.approximateNumEntries()
  }

  /** The interactive-query face of this store (committed state only), starting RESTORING. */
  queryable (): ReadOnlyTypedKeyValueStore<K, V> {
    return new ReadOnlyTypedKeyValueStore(this.bytes.committedView(), this.keySerde, this.valueSerde)
  }
}

/** Interactive queries: committed state only, and only while READY (STORE_NOT_READY otherwise,
 *  which the API turns into 503 + Retry-After). The runtime moves the state with setState(). */
export class ReadOnlyTypedKeyValueStore<K, V> implements QueryableKeyValueStore<K, V> {
  readonly name: string
  readonly #view: ReadOnlyBytesView
  readonly #keySerde: Serde<K>
  readonly #valueSerde: Serde<V>
  readonly #decodedById: ReadOnlyBytesView['getDecodedById']
  readonly #decode: (bytes: Buffer) => V
  #state: StoreState

  constructor (view: ReadOnlyBytesView, keySerde: Serde<K>, valueSerde: Serde<V>, state: StoreState = 'RESTORING') {
    this.name = view.name
    this.#view = view
    this.#keySerde = keySerde
    this.#valueSerde = valueSerde
    this.#state = state
    // Immutable values: the read cache's decoded object is shared with queries (as with the
    // processors), a hot key's query parses nothing.
    this.#decodedById = valueSerde.immutableValues === true ? view.getDecodedById : undefined
    this.#decode = bytes => valueSerde.deserialize(bytes)
  }

  get state (): StoreState {
    return this.#state
  }

  setState (state: StoreState): void {
    this.#state = state
  }

  get (key: K): V | undefined {
    this.#assertReady()
    if (this.#decodedById !== undefined) {
      checkKey(this.name, key)
      const id = this.#keySerde.latin1Id?.(key)
      if (id !== undefined) return this.#decodedById(id, this.#decode)
    }
    return typedGet(this.#view, this.name, this.#keySerde, this.#valueSerde, key)
  }

  range (from: K | undefined, to: K | undefined, options?: RangeOptions): KeyValue<K, V>[] {
    this.#assertReady()
    return typedRange(this.#view, this.#keySerde, this.#valueSerde, from, to, options)
  }

  prefixScan (prefix: K, options?: RangeOptions): KeyValue<K, V>[] {
    this.#assertReady()
    return typedPrefixScan(this.#view, this.name, this.#keySerde, this.#valueSerde, prefix, options)
  }

  approximateNumEntries (): number {
    this.#assertReady()
    return this.#view.approximateNumEntries()
  }

  #assertReady (): void {
    if (this.#state !== 'READY') {
      throw new StreamsError('STORE_NOT_READY', `State store ${this.name} is ${this.#state === 'RESTORING' ? 'restoring' : 'not assigned here'}`, {
        details: { store: this.name, state: this.#state }
      })
    }
  }
}
