// One cache budget for all the stores of a stream thread, as Kafka Streams' ThreadCache
// (`statestore.cache.max.bytes`): the read caches and the write caches (dirty and pending
// entries) of every task's CachingChangelogStore count against one number of bytes, instead of a
// bound per store and task (6 stores × 12 tasks each with its own 16 MiB read cache and 10 MiB
// dirty map took the rewards processor to 1.5–2.4 GiB RSS; docs/benchmarks.md "Memory").
//
// - Clean (read-cache) entries of all stores sit in one LRU list (least recently used first):
//   whenever the total is over the budget, the oldest clean entries go, whichever store holds them
//   (Kafka Streams evicts round-robin over the stores; one LRU keeps the hot keys of a busy store
//   and drops the written-once keys of another, such as the rewards processor's dedupe entries).
// - Dirty entries cannot leave memory before their commit: the bytes store holds only committed
//   state (interactive queries read it, a crash leaves it). Where Kafka Streams' eviction of a
//   dirty entry flushes its store early into the open transaction, here the thread commits early:
//   once the dirty bytes pass half the budget, every store with dirty entries reports isFull(), the
//   task requests a commit, and the commit flushes them (changelog records in the commit's
//   transaction, applied to the bytes store after it), the same protocol as every other commit
//   (docs/engine.md "Commit protocol"). Pending entries (flushed, commit in flight) count too.
// - Sizes are estimates of what an entry really takes in the process, measured (RSS per entry,
//   200k balances read through RocksDbStore.getMany into a Map; docs/engine.md "State store
//   cache"): a 15-byte key and a 172-byte value took 614 bytes (about 430 beyond the key and value
//   bytes: the Map slot, the latin1 id, the Buffer objects and their backing store), and 1,053 with
//   the value's decoded object (immutableValues serdes; about 2.5× the value's bytes).

/** Estimated bytes an entry takes beyond its key and value bytes. */
export const ENTRY_OVERHEAD_BYTES = 430
/** Estimated bytes of a decoded value (JSON object) per byte of its serialized form, plus a
 *  constant. */
export const DECODED_BYTES_PER_VALUE_BYTE = 2
export const DECODED_OVERHEAD_BYTES = 96

/** The estimate of an entry: key and value bytes, their overhead, the decoded value if kept. */
export function estimatedEntryBytes (keyBytes: number, valueBytes: number, decoded: boolean): number {
  return keyBytes + valueBytes + ENTRY_OVERHEAD_BYTES + (decoded ? DECODED_BYTES_PER_VALUE_BYTE * valueBytes + DECODED_OVERHEAD_BYTES : 0)
}

/** A clean entry in the shared LRU list. */
export interface CacheNode {
  readonly id: string
  /** Replaced in place when a commit writes the key through again (caching-changelogging-store.ts). */
  value: Buffer
  decoded: unknown
  /** Estimated bytes (estimatedEntryBytes). */
  size: number
  readonly owner: CacheOwner
  prev: CacheNode | undefined
  next: CacheNode | undefined
  /** In the list (false once evicted or removed). */
  linked: boolean
}

/** The store holding a node: told when the budget evicts it. */
export interface CacheOwner {
  evicted (node: CacheNode): void
}

export interface ThreadCacheOptions {
  /** The budget, estimated bytes, for every store of the thread (default 64 MiB). */
  readonly maxBytes?: number
}

export const DEFAULT_CACHE_MAX_BYTES = 64 * 1024 * 1024

export class ThreadCache {
  readonly maxBytes: number
  /** Dirty bytes above this ask for a commit (half the budget). */
  readonly dirtyCommitBytes: number
  #head: CacheNode | undefined
  #tail: CacheNode | undefined
  #cleanEntries = 0
  #cleanBytes = 0
  #dirtyBytes = 0
  #pendingBytes = 0
  #evictions = 0

  constructor (options: ThreadCacheOptions = {}) {
    this.maxBytes = options.maxBytes ?? DEFAULT_CACHE_MAX_BYTES
    if (!(this.maxBytes >= 0)) throw new RangeError('cache maxBytes must not be negative')
    this.dirtyCommitBytes = this.maxBytes / 2
  }

  /** Estimated bytes of everything held: clean, dirty and pending entries. */
  get sizeBytes (): number {
    return this.#cleanBytes + this.#dirtyBytes + this.#pendingBytes
  }

  get stats (): { cleanEntries: number, cleanBytes: number, dirtyBytes: number, pendingBytes: number, evictions: number } {
    return { cleanEntries: this.#cleanEntries, cleanBytes: this.#cleanBytes, dirtyBytes: this.#dirtyBytes, pendingBytes: this.#pendingBytes, evictions: this.#evictions }
  }

  /** The dirty entries of the thread's stores are over their share: commit them. */
  get dirtyOverBudget (): boolean {
    return this.#dirtyBytes > this.dirtyCommitBytes
  }

  /** A new clean entry, most recently used; may evict others (never `node` itself unless the
   *  budget cannot hold it at all). */
  add (node: CacheNode): void {
    this.#append(node)
    this.#cleanEntries++
    this.#cleanBytes += node.size
    this.#evict()
  }

  /** A hit: the node becomes the most recently used, once the budget is half used (approximate
   *  LRU, as the caching store's own list: below half nothing is evicted soon, and the list moves,
   *  pointer writes into nodes spread over the heap, were ~5% of the task path's CPU in
   *  bench/engine-task-cpu.ts; docs/benchmarks.md "Engine against the raw client, another pass"). */
  touch (node: CacheNode): void {
    if (!node.linked || this.#tail === node || this.#cleanBytes + this.#dirtyBytes + this.#pendingBytes <= this.maxBytes / 2) return
    this.#unlink(node)
    this.#append(node)
  }

  /** Links the node at the most recently used end. */
  #append (node: CacheNode): void {
    node.prev = this.#tail
    node.next = undefined
    if (this.#tail !== undefined) this.#tail.next = node
    else this.#head = node
    this.#tail = node
    node.linked = true
  }

  /** The node's estimate changed (its value was decoded). */
  resize (node: CacheNode, size: number): void {
    if (!node.linked) { node.size = size; return }
    this.#cleanBytes += size - node.size
    node.size = size
    this.#evict()
  }

  /** The owner dropped the node (delete, restore, its own bound, close). */
  remove (node: CacheNode): void {
    if (!node.linked) return
    this.#unlink(node)
    this.#cleanEntries--
    this.#cleanBytes -= node.size
  }

  /** Dirty bytes written (negative: dropped). */
  addDirty (bytes: number): void {
    this.#dirtyBytes += bytes
    if (bytes > 0) this.#evict()
  }

  /** A flush: `bytes` of dirty entries become pending (the commit is in flight). */
  dirtyToPending (bytes: number): void {
    this.#dirtyBytes -= bytes
    this.#pendingBytes += bytes
  }

  /** Pending entries applied or discarded. */
  removePending (bytes: number): void {
    this.#pendingBytes -= bytes
  }

  /** Evicts least recently used clean entries, of any store, until the budget holds. */
  #evict (): void {
    while (this.#cleanBytes + this.#dirtyBytes + this.#pendingBytes > this.maxBytes) {
      const oldest = this.#head
      if (oldest === undefined) return
      this.remove(oldest)
      this.#evictions++
      oldest.owner.evicted(oldest)
    }
  }

  #unlink (node: CacheNode): void {
    if (node.prev !== undefined) node.prev.next = node.next
    else this.#head = node.next
    if (node.next !== undefined) node.next.prev = node.prev
    else this.#tail = node.prev
    node.prev = undefined
    node.next = undefined
    node.linked = false
  }
}
