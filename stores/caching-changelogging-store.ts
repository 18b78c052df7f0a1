// The writable bytes layer a task uses: a bounded write cache (the dirty map) in front of a
// BytesStore, whose contents become the changelog records of the next commit.
//
// Commit protocol (exactly-once; the runtime drives it):
//   1. entries = store.flush()          dirty writes, in write order, move to "pending"
//   2. the runtime sends `entries` to `<app>-<store>-changelog` in the same transaction as the
//      outputs and input offsets, and commits it
//   3. await store.applyFlushed()       pending entries go to the bytes store in one atomic batch
//   (abort instead of 3: store.discardDirty() drops pending and dirty writes alike)
// Until step 3 the bytes store holds exactly the state of the last committed transaction, which is
// what interactive queries read (committedView(), stores/committed-bytes-view.ts) and what a crash
// leaves on disk.
//
// Reads from the task see its own writes: dirty first, then pending, then the read cache, then the
// bytes store. The read cache (stores/store-read-cache.ts, a bounded LRU of committed values)
// keeps hot keys in memory, so a member's next record skips RocksDB; it is filled by reads, by
// prefetch() (one MultiGet for a fetched batch's keys) and by applyFlushed() (write-through),
// and always equals the bytes store for the keys it holds.
// Keys and values are kept by reference (not copied): callers hand over freshly serialized
// Buffers and must not mutate them afterwards.
//
// Decoded values (getDecoded, put's `decoded`): next to each value Buffer, dirty, pending or
// cached, the layer keeps the object the typed store decoded it to (or was handed with it), so
// reading back a value does not parse it again. Only typed stores whose serde declares
// immutableValues use it (stores/typed-key-value-store.ts).
//
// Memory: a stream thread hands all its stores one ThreadCache (stores/thread-cache.ts), one
// budget of estimated bytes (decoded objects included) for every store's read cache and write
// cache: the least recently used clean entries of any store are evicted when it is exceeded, and
// dirty entries past half of it make isFull() true (an early commit). A store built without one
// gets its own unbounded ThreadCache and only its per-store bounds below.
import { StreamsError } from '../topology/streams-error.ts'
import type { BytesStore } from './key-value-store.ts'
import { rangeLimit, type BytesRangeOptions } from './bytes-range.ts'
import { SortedIds } from './sorted-ids.ts'
import { cachingStoreBounds, type CachingChangelogStoreOptions } from './caching-store-options.ts'
import { committedBytesView, type ReadOnlyBytesView } from './committed-bytes-view.ts'
import { StoreReadCache } from './store-read-cache.ts'
import { estimatedEntryBytes, type CacheNode, type ThreadCache } from './thread-cache.ts'

/** One changelog record: `value: null` is a tombstone (delete). */
export interface ChangelogEntry {
  readonly key: Buffer
  readonly value: Buffer | null
}

/** A bytes store that can read many keys in one call (RocksDbStore's MultiGet). */
interface MultiGet {
  getMany (keys: Buffer[]): Array<Buffer | undefined>
}

interface Dirty {
  /** Undefined until flush() or a range read needs it (a write by id, putById): made from the
   *  map's id then, so a key rewritten before the commit never gets a Buffer per write. */
  key: Buffer | undefined
  readonly value: Buffer | null
  /** The value decoded (see getDecoded); undefined until someone decoded it. */
  decoded: unknown
  /** Estimated bytes (stores/thread-cache.ts). */
  size: number
}

export class CachingChangelogStore {
  readonly name: string
  readonly inner: BytesStore
  readonly maxDirtyEntries: number
  readonly maxDirtyBytes: number
  readonly maxCachedEntries: number
  readonly maxCachedBytes: number
  /** latin1 id of the key → latest write. Map order is write order: a rewritten key is deleted
   *  and re-set, so it moves to the end (its last write's position). */
  #dirty = new Map<string, Dirty>()
  /** The dirty map's ids in key order (range reads). */
  #dirtyIds = new SortedIds()
  #dirtyBytes = 0
  /** Estimated bytes of the dirty entries, and of the pending ones (counted in #threadCache). */
  #dirtyEstimate = 0
  #pendingEstimate = 0
  readonly #threadCache: ThreadCache
  /** Flushed, not yet applied (the changelog transaction is in flight). */
  #pending: ChangelogEntry[] | undefined
  #pendingById: Map<string, Dirty> | undefined
  #pendingIds: SortedIds | undefined
  /** Committed values of hot keys (stores/store-read-cache.ts). */
  readonly #readCache: StoreReadCache
  #closed = false
  readonly #committedView: ReadOnlyBytesView
  /** #idOf's last key and id. */
  #lastKey: Buffer | undefined
  #lastId = ''
  /** An id #entry found absent from the dirty map, until a write: the write after a read of the
   *  same key (an aggregation's get + put) skips a second lookup. */
  #notDirtyId: string | undefined

  constructor (inner: BytesStore, options: CachingChangelogStoreOptions = {}) {
    this.name = inner.name
    this.inner = inner
    const bounds = cachingStoreBounds(options)
    this.#threadCache = bounds.cache
    this.maxDirtyEntries = bounds.maxDirtyEntries
    this.maxDirtyBytes = bounds.maxDirtyBytes
    this.maxCachedEntries = bounds.maxCachedEntries
    this.maxCachedBytes = bounds.maxCachedBytes
    this.#readCache = new StoreReadCache(this.#threadCache, this.maxCachedEntries, this.maxCachedBytes)
    this.#committedView = committedBytesView(this, inner, this.#readCache)
  }

  get (key: Buffer): Buffer | undefined {
    return this.#entry(key, this.#idOf(key))?.value ?? undefined
  }

  /** The value decoded by `decode`, which runs at most once per stored value: the result is kept
   *  next to the bytes (the caller promises never to mutate it, and to use one `decode`). */
  getDecoded<V> (key: Buffer, decode: (bytes: Buffer) => V): V | undefined {
    return this.#getDecoded(key, this.#idOf(key), decode)
  }

  /** getDecoded() of the key whose bytes read as latin1 are `id` (Serde.latin1Id): the key's
   *  Buffer is only made if the bytes store must be read. */
  getDecodedById<V> (id: string, decode: (bytes: Buffer) => V): V | undefined {
    return this.#getDecoded(undefined, id, decode)
  }

  #getDecoded<V> (key: Buffer | undefined, id: string, decode: (bytes: Buffer) => V): V | undefined {
    const entry = this.#entry(key, id)
    if (entry === undefined || entry.value === null) return undefined
    if (entry.decoded === undefined) {
      entry.decoded = decode(entry.value)
      // The estimate grows by the decoded object (a pending entry's is settled at its apply).
      // id.length is the key's byte length (one latin1 char per byte).
      const size = estimatedEntryBytes(id.length, entry.value.length, true)
      if ('owner' in entry) this.#threadCache.resize(entry, size)
      else if (this.#dirty.get(id) === entry) {
        const dirtySize = id.length + size // as #write counts it: the key Buffer and its id
        this.#dirtyEstimate += dirtySize - entry.size
        this.#threadCache.addDirty(dirtySize - entry.size)
        entry.size = dirtySize
      }
    }
    return entry.decoded as V
  }

  /** The latin1 id of a key Buffer; the last one is remembered, as a typed store's get + put of
   *  one key hand the same Buffer twice (keys are never mutated once handed over). */
  #idOf (key: Buffer): string {
    if (key === this.#lastKey) return this.#lastId
    const id = key.toString('latin1')
    this.#lastKey = key
    this.#lastId = id
    return id
  }

  /** `key` undefined: made from `id` if the bytes store must be read. */
  #entry (key: Buffer | undefined, id: string): Dirty | CacheNode | undefined {
    this.#assertOpen()
    const dirty = this.#dirty.get(id)
    if (dirty !== undefined) return dirty
    this.#notDirtyId = id
    const pending = this.#pendingById?.get(id)
    if (pending !== undefined) return pending
    const cached = this.#readCache.lookup(id)
    if (cached !== undefined) return cached
    const keyBytes = key ?? Buffer.from(id, 'latin1')
    const value = this.inner.get(keyBytes)
    if (value === undefined) return undefined
    return this.#readCache.cache(id, value, undefined) ?? { key: keyBytes, value, decoded: undefined, size: 0 }
  }

  /** Loads the committed values of `keys` into the read cache in one multi-get (when the bytes
   *  store has one), so the records of a fetched batch find their state in memory. Keys with
   *  unapplied writes or already cached are skipped; the cache bound still applies. */
  prefetch (keys: ReadonlyArray<Buffer>): void {
    this.#assertOpen()
    if (this.maxCachedEntries === 0) return
    const ids: string[] = []
    const wanted: Buffer[] = []
    const seen = new Set<string>()
    for (const key of keys) {
      const id = key.toString('latin1')
      if (seen.has(id) || this.#dirty.has(id) || this.#pendingById?.has(id) === true || this.#readCache.has(id)) continue
      seen.add(id)
      ids.push(id)
      wanted.push(key)
    }
    if (wanted.length === 0) return
    const inner = this.inner as BytesStore & Partial<MultiGet>
    const values = typeof inner.getMany === 'function' ? inner.getMany(wanted) : wanted.map(key => inner.get(key))
    for (let i = 0; i < ids.length; i++) {
      const value = values[i]
      if (value !== undefined) this.#readCache.cache(ids[i] as string, value, undefined)
    }
  }

  /** The budget this store's entries count against. */
  get threadCache (): ThreadCache {
    return this.#threadCache
  }

  /** Read cache statistics (for a hit-ratio metric). */
  get cacheStats (): { entries: number, bytes: number, hits: number, misses: number } {
    return this.#readCache.stats
  }

  /** `decoded`: what `value` decodes to, for getDecoded (omit unless it is never mutated).
   *  `id`: key.toString('latin1'), when the caller has it (Serde.latin1Id). */
  put (key: Buffer, value: Buffer, decoded?: unknown, id?: string): void {
    if (!Buffer.isBuffer(value)) throw new TypeError(`store ${this.name}: put needs a Buffer value; use delete()`)
    if (!Buffer.isBuffer(key)) throw new TypeError(`store ${this.name}: keys must be Buffers`)
    this.#write(key, id ?? this.#idOf(key), value, decoded)
  }

  /** put() of the key whose bytes read as latin1 are `id` (Serde.latin1Id), without its Buffer:
   *  it is made when the write is flushed (or read by range). */
  putById (id: string, value: Buffer, decoded?: unknown): void {
    if (!Buffer.isBuffer(value)) throw new TypeError(`store ${this.name}: put needs a Buffer value; use delete()`)
    this.#write(undefined, id, value, decoded)
  }

  delete (key: Buffer): void {
    if (!Buffer.isBuffer(key)) throw new TypeError(`store ${this.name}: keys must be Buffers`)
    this.#write(key, this.#idOf(key), null, undefined)
  }

  /** [from, to] (inclusive unless toExclusive) as the task sees it: dirty and pending writes
   *  merged over the bytes store, deletes hidden. */
  range (from: Buffer | undefined, to: Buffer | undefined, options?: BytesRangeOptions): Array<[Buffer, Buffer]> {
    this.#assertOpen()
    const limit = rangeLimit(options)
    if (limit === 0) return []
    const reverse = options?.reverse === true
    const toExclusive = options?.toExclusive === true
    // Overlay: latest unapplied write per key within the bounds, found through the ordered ids
    // (only the writes within the bounds are visited).
    const overlay = new Map<string, Dirty>()
    const fromId = from?.toString('latin1')
    const toId = to?.toString('latin1')
    if (this.#pendingById !== undefined && this.#pendingIds !== undefined) {
      for (const id of this.#pendingIds.between(fromId, toId, toExclusive)) overlay.set(id, this.#pendingById.get(id) as Dirty)
    }
    for (const id of this.#dirtyIds.between(fromId, toId, toExclusive)) overlay.set(id, this.#dirty.get(id) as Dirty)
    if (overlay.size === 0) return this.inner.range(from, to, options)
    // At most overlay.size of the inner rows can be shadowed, so limit + overlay.size rows
    // from the bytes store are enough to fill `limit` after merging.
    const baseOptions: BytesRangeOptions = { limit: limit + overlay.size, reverse, toExclusive }
    const base = this.inner.range(from, to, baseOptions)
    const merged: Array<[Buffer, Buffer]> = []
    for (const row of base) if (!overlay.has(row[0].toString('latin1'))) merged.push(row)
    for (const [id, entry] of overlay) if (entry.value !== null) merged.push([entry.key ??= Buffer.from(id, 'latin1'), entry.value])
    merged.sort(reverse ? (a, b) => Buffer.compare(b[0], a[0]) : (a, b) => Buffer.compare(a[0], b[0]))
    if (merged.length > limit) merged.length = limit
    return merged
  }

  /** The bytes store's estimate; unapplied writes are not counted. */
  approximateNumEntries (): number {
    this.#assertOpen()
    return this.inner.approximateNumEntries()
  }

  /** Time to commit: the dirty map passed its entry or byte bound. The bound is soft (a record
   *  being processed can always write); the runtime commits when this turns true. */
  isFull (): boolean {
    return this.#dirty.size > this.maxDirtyEntries || this.#dirtyBytes > this.maxDirtyBytes ||
      (this.#dirty.size > 0 && this.#threadCache.dirtyOverBudget)
  }

  get dirtyEntries (): number {
    return this.#dirty.size
  }

  get dirtyBytes (): number {
    return this.#dirtyBytes
  }

  /** True between flush() and applyFlushed()/discardDirty(). */
  get hasPending (): boolean {
    return this.#pending !== undefined
  }

  /** Step 1 of a commit: the writes since the last commit, one per key (its last write), in the
   *  order of those last writes; deletes as `value: null`. They stay visible to the task's reads
   *  but are not applied to the bytes store until applyFlushed(). Throws if a previous flush was
   *  neither applied nor discarded. */
  flush (): ChangelogEntry[] {
    this.#assertOpen()
    if (this.#pending !== undefined) throw new Error(`store ${this.name}: flush() while a previous flush is neither applied nor discarded`)
    const entries = new Array<ChangelogEntry>(this.#dirty.size)
    let i = 0
    for (const [id, entry] of this.#dirty) {
      entry.key ??= Buffer.from(id, 'latin1')
      entries[i++] = entry as ChangelogEntry
    }
    this.#pending = entries
    this.#pendingById = this.#dirty
    this.#pendingIds = this.#dirtyIds
    this.#dirty = new Map()
    this.#dirtyIds = new SortedIds()
    this.#dirtyBytes = 0
    this.#threadCache.dirtyToPending(this.#dirtyEstimate)
    this.#pendingEstimate = this.#dirtyEstimate
    this.#dirtyEstimate = 0
    return entries
  }

  /** Step 3 of a commit, after the changelog records are committed: one atomic batch. */
  async applyFlushed (): Promise<void> {
    this.#assertOpen()
    const pending = this.#pending
    if (pending === undefined) return
    // id → entry, in the same order as `pending` (the flushed dirty map): the ids are not
    // computed again below.
    const byId = this.#pendingById!
    await this.inner.write(pending)
    // Only now: if the write threw, the entries stay pending (the caller will discard or retry).
    if (this.#pending === pending) {
      this.#pending = undefined
      this.#pendingById = undefined
      this.#pendingIds = undefined
      this.#threadCache.removePending(this.#pendingEstimate)
      this.#pendingEstimate = 0
    }
    // Write-through: the read cache must keep equalling the bytes store, and the keys just
    // written are the likeliest to be read next.
    for (const [id, entry] of byId) {
      if (entry.value === null) this.#readCache.uncache(id)
      else if (this.maxCachedEntries > 0) this.#readCache.cache(id, entry.value, entry.decoded)
    }
  }

  /** Abort: drops every write not yet applied (dirty and pending). The bytes store is left at the
   *  last committed state. */
  discardDirty (): void {
    this.#dirty = new Map()
    this.#dirtyIds = new SortedIds()
    this.#dirtyBytes = 0
    this.#threadCache.addDirty(-this.#dirtyEstimate)
    this.#threadCache.removePending(this.#pendingEstimate)
    this.#dirtyEstimate = 0
    this.#pendingEstimate = 0
    this.#pending = undefined
    this.#pendingById = undefined
    this.#pendingIds = undefined
  }

  /** Restore: changelog records straight into the bytes store (one atomic batch). Only while
   *  nothing is dirty: restore happens before processing starts. */
  async restoreBatch (entries: ReadonlyArray<ChangelogEntry>): Promise<void> {
    this.#assertOpen()
    if (this.#dirty.size > 0 || this.#pending !== undefined) {
      throw new Error(`store ${this.name}: restoreBatch() with unapplied writes`)
    }
    await this.inner.write(entries)
    if (this.#readCache.size > 0) for (const { key } of entries) this.#readCache.uncache(key.toString('latin1'))
  }

  /** Read-only view of the bytes store alone: committed state, for interactive queries. */
  committedView (): ReadOnlyBytesView {
    return this.#committedView
  }

  /** Drops unapplied writes and closes the bytes store. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.discardDirty()
    this.#readCache.clear()
    await this.inner.close()
  }

  get closed (): boolean {
    return this.#closed
  }

  /** `key` undefined: made from `id` at the flush. id.length is the key's byte length. */
  #write (key: Buffer | undefined, id: string, value: Buffer | null, decoded: unknown): void {
    this.#assertOpen()
    const previous = id === this.#notDirtyId ? undefined : this.#dirty.get(id)
    this.#notDirtyId = undefined
    if (previous !== undefined) {
      this.#dirtyBytes -= id.length + (previous.value?.length ?? 0)
      this.#dirtyEstimate -= previous.size
      this.#threadCache.addDirty(-previous.size)
      this.#dirty.delete(id)
    } else {
      this.#dirtyIds.add(id)
    }
    // The key Buffer and its latin1 id: both held.
    const size = id.length + estimatedEntryBytes(id.length, value?.length ?? 0, decoded !== undefined)
    this.#dirty.set(id, { key, value, decoded, size })
    this.#dirtyBytes += id.length + (value?.length ?? 0)
    this.#dirtyEstimate += size
    this.#threadCache.addDirty(size)
  }

  #assertOpen (): void {
    if (this.#closed) throw new StreamsError('STORE_CLOSED', `State store ${this.name} is closed`)
  }
}
