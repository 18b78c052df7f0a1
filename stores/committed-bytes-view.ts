// The read-only face of a CachingChangelogStore for interactive queries: the committed state
// only, never the dirty or pending writes. Its functions are arrow closures made once per store,
// because callers keep one detached (ReadOnlyTypedKeyValueStore keeps getDecodedById).
import { StreamsError } from '../topology/streams-error.ts'
import type { BytesRangeOptions } from './bytes-range.ts'
import type { BytesStore } from './key-value-store.ts'
import type { StoreReadCache } from './store-read-cache.ts'

/** What interactive queries may read: the committed state only. */
export interface ReadOnlyBytesView {
  readonly name: string
  get (key: Buffer): Buffer | undefined
  range (from: Buffer | undefined, to: Buffer | undefined, options?: BytesRangeOptions): Array<[Buffer, Buffer]>
  approximateNumEntries (): number
  /** The committed value of the key whose bytes read as latin1 are `id`, decoded: the read
   *  cache's decoded object when it has one (never to be mutated: immutableValues serdes only),
   *  else `decode` of the bytes. For interactive queries of hot keys (docs/benchmarks.md "API
   *  balance query, fifth pass"): no key Buffer, no parse of what the processor decoded already. */
  getDecodedById?: <V>(id: string, decode: (bytes: Buffer) => V) => V | undefined
}

/** The view of `inner` and its read cache; every read throws STORE_CLOSED once `owner` is
 *  closed. */
export function committedBytesView (owner: { readonly closed: boolean }, inner: BytesStore, readCache: StoreReadCache): ReadOnlyBytesView {
  const assertOpen = (): void => {
    if (owner.closed) throw new StreamsError('STORE_CLOSED', `State store ${inner.name} is closed`)
  }
  return {
    name: inner.name,
    // A clean (read-cache) entry equals the bytes store: it is filled from it or written
    // through after a commit's batch is applied, and dropped on delete and restore. Reading it
    // first spares interactive queries a RocksDB read without ever showing uncommitted state.
    get: key => { assertOpen(); return readCache.peek(key.toString('latin1'))?.value ?? inner.get(key) },
    getDecodedById: <V>(id: string, decode: (bytes: Buffer) => V): V | undefined => {
      assertOpen()
      const cached = readCache.peek(id)
      if (cached !== undefined) return cached.decoded !== undefined ? cached.decoded as V : decode(cached.value)
      const value = inner.get(Buffer.from(id, 'latin1'))
      return value === undefined ? undefined : decode(value)
    },
    range: (from, to, options) => { assertOpen(); return inner.range(from, to, options) },
    approximateNumEntries: () => { assertOpen(); return inner.approximateNumEntries() }
  }
}
