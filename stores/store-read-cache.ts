// A store's read cache: a bounded LRU of committed values (latin1 id → CacheNode) in front of its
// bytes store, each entry also in the stream thread's shared budget (stores/thread-cache.ts). It
// always equals the bytes store for the keys it holds: the caching store fills it from reads,
// prefetches and the write-through after a commit's batch, and drops keys on delete and restore.
// Kept apart from CachingChangelogStore so that layer only holds the write cache and the commit
// protocol; its methods are small and called from one site each, so the per-record read stays a
// monomorphic call V8 inlines.
import { estimatedEntryBytes, type CacheNode, type CacheOwner, type ThreadCache } from './thread-cache.ts'

export class StoreReadCache {
  /** Bounds of this store's own LRU (entries, bytes of keys and values). */
  readonly maxEntries: number
  readonly maxBytes: number
  readonly #threadCache: ThreadCache
  readonly #owner: CacheOwner
  /** latin1 id → committed value, in LRU order (oldest first). */
  #clean = new Map<string, CacheNode>()
  #bytes = 0
  #hits = 0
  #misses = 0

  constructor (threadCache: ThreadCache, maxEntries: number, maxBytes: number) {
    this.#threadCache = threadCache
    this.maxEntries = maxEntries
    this.maxBytes = maxBytes
    this.#owner = {
      evicted: node => {
        if (this.#clean.get(node.id) !== node) return
        this.#clean.delete(node.id)
        this.#bytes -= node.id.length + node.value.length
      }
    }
  }

  get size (): number {
    return this.#clean.size
  }

  get stats (): { entries: number, bytes: number, hits: number, misses: number } {
    return { entries: this.#clean.size, bytes: this.#bytes, hits: this.#hits, misses: this.#misses }
  }

  /** The cached value of `id` without counting or reordering (interactive queries). */
  peek (id: string): CacheNode | undefined {
    return this.#clean.get(id)
  }

  has (id: string): boolean {
    return this.#clean.has(id)
  }

  /** A task's read: counted as a hit or a miss; a hit becomes the most recently used. */
  lookup (id: string): CacheNode | undefined {
    const cached = this.#clean.get(id)
    if (cached === undefined) {
      this.#misses++
      return undefined
    }
    this.#hits++
    // Most recently used goes last in the store's own LRU, but only once the cache is half full
    // (below that nothing is evicted soon, and the Map delete + set is most of a hit's cost:
    // approximate LRU); in the shared budget's list always (a few pointer moves).
    if (this.#clean.size > this.maxEntries / 2 || this.#bytes > this.maxBytes / 2) {
      this.#clean.delete(id)
      this.#clean.set(id, cached)
    }
    this.#threadCache.touch(cached)
    return cached
  }

  /** Caches a committed value; returns its cache entry (undefined when the cache is off). */
  cache (id: string, value: Buffer, decoded: unknown): CacheNode | undefined {
    if (this.maxEntries === 0) return undefined
    const old = this.#clean.get(id)
    if (old !== undefined && old.linked) {
      // A key written again (every commit's write-through of a hot key): its entry is updated in
      // place, not removed and made again (a Map delete and set, an object and two list moves per
      // key per commit showed in the engine's profile, docs/benchmarks.md "Engine CPU per record").
      this.#bytes += value.length - old.value.length
      old.value = value
      old.decoded = decoded
      if (this.maxEntries !== Number.POSITIVE_INFINITY || this.maxBytes !== Number.POSITIVE_INFINITY) {
        this.#clean.delete(id) // most recently used last, for this store's own bounds
        this.#clean.set(id, old)
      }
      this.#threadCache.touch(old)
      this.#threadCache.resize(old, estimatedEntryBytes(id.length, value.length, decoded !== undefined))
      this.#evictOwn()
      return this.#clean.get(id) === old ? old : undefined
    }
    this.uncache(id)
    const entry: CacheNode = { id, value, decoded, size: estimatedEntryBytes(id.length, value.length, decoded !== undefined), owner: this.#owner, prev: undefined, next: undefined, linked: false }
    this.#clean.set(id, entry)
    this.#bytes += id.length + value.length
    this.#evictOwn()
    // The shared budget: may evict any store's least recently used entries (this one's last).
    if (this.#clean.get(id) === entry) this.#threadCache.add(entry)
    return entry
  }

  uncache (id: string): void {
    const old = this.#clean.get(id)
    if (old === undefined) return
    this.#clean.delete(id)
    this.#bytes -= id.length + old.value.length
    this.#threadCache.remove(old)
  }

  /** Drops every entry, from the shared budget too (the store is closing). */
  clear (): void {
    for (const node of this.#clean.values()) this.#threadCache.remove(node)
    this.#clean = new Map()
    this.#bytes = 0
  }

  /** This store's own bounds: evicts its least recently used (Map iteration starts at the oldest
   *  insertion). */
  #evictOwn (): void {
    while (this.#clean.size > this.maxEntries || this.#bytes > this.maxBytes) {
      const oldest = this.#clean.keys().next()
      if (oldest.done === true) break
      this.uncache(oldest.value)
    }
  }
}
