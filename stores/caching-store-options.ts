// CachingChangelogStore's options and the bounds they resolve to (defaults depend on whether the
// store shares its stream thread's cache budget).
import { ThreadCache } from './thread-cache.ts'

export interface CachingChangelogStoreOptions {
  /** The stream thread's shared budget (stores/thread-cache.ts). With one, the per-store byte
   *  bounds and the read cache's entry bound default to none (the budget bounds them). */
  readonly cache?: ThreadCache
  /** isFull() once the dirty map holds more entries than this (default 10 000). */
  readonly maxDirtyEntries?: number
  /** isFull() once the dirty keys and values take more bytes than this (default 10 MiB without
   *  a shared cache, none with one). */
  readonly maxDirtyBytes?: number
  /** Read cache bound, entries (default 10 000 without a shared cache, none with one; 0
   *  disables the read cache). */
  readonly maxCachedEntries?: number
  /** Read cache bound, bytes of keys and values (default 16 MiB without a shared cache, none
   *  with one). */
  readonly maxCachedBytes?: number
}

const DEFAULT_MAX_DIRTY_ENTRIES = 10_000
const DEFAULT_MAX_DIRTY_BYTES = 10 * 1024 * 1024
const DEFAULT_MAX_CACHED_ENTRIES = 10_000
const DEFAULT_MAX_CACHED_BYTES = 16 * 1024 * 1024

export interface CachingStoreBounds {
  /** The shared budget, or the store's own unbounded one. */
  readonly cache: ThreadCache
  readonly maxDirtyEntries: number
  readonly maxDirtyBytes: number
  readonly maxCachedEntries: number
  readonly maxCachedBytes: number
}

/** The options with their defaults; throws RangeError on a bound out of range. */
export function cachingStoreBounds (options: CachingChangelogStoreOptions): CachingStoreBounds {
  const shared = options.cache !== undefined
  const bounds: CachingStoreBounds = {
    cache: options.cache ?? new ThreadCache({ maxBytes: Number.POSITIVE_INFINITY }),
    maxDirtyEntries: options.maxDirtyEntries ?? DEFAULT_MAX_DIRTY_ENTRIES,
    maxDirtyBytes: options.maxDirtyBytes ?? (shared ? Number.POSITIVE_INFINITY : DEFAULT_MAX_DIRTY_BYTES),
    maxCachedEntries: options.maxCachedEntries ?? (shared ? Number.POSITIVE_INFINITY : DEFAULT_MAX_CACHED_ENTRIES),
    maxCachedBytes: options.maxCachedBytes ?? (shared ? Number.POSITIVE_INFINITY : DEFAULT_MAX_CACHED_BYTES)
  }
  if (!(bounds.maxDirtyEntries > 0) || !(bounds.maxDirtyBytes > 0)) throw new RangeError('dirty bounds must be positive')
  if (!(bounds.maxCachedEntries >= 0) || !(bounds.maxCachedBytes >= 0)) throw new RangeError('read cache bounds must not be negative')
  return bounds
}
