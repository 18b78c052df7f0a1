// The read cache of the caching layer: hits after a read, LRU eviction within its bounds,
// write-through at applyFlushed, prefetch in one multi-get, never stale after a delete or restore.
import t from 'tap'
import { CachingChangelogStore } from '../../stores/caching-changelogging-store.ts'
import { InMemoryStore } from '../../stores/in-memory-store.ts'
import { RocksDbStore } from '../../stores/rocksdb-store.ts'
import { ThreadCache } from '../../stores/thread-cache.ts'
import { BYTES_STORES, b, openBytesStore } from './helpers.ts'

for (const { kind, create } of BYTES_STORES) {
  t.test(`${kind}: read cache`, async t => {
    const bytes = await openBytesStore(t, create)
    await bytes.write(['a', 'b', 'c', 'd'].map(k => ({ key: b(k), value: b(`v${k}`) })))
    const cache = new CachingChangelogStore(bytes, { maxCachedEntries: 2 })

    t.equal(cache.get(b('a'))?.toString(), 'va')
    t.equal(cache.get(b('a'))?.toString(), 'va')
    t.match(cache.cacheStats, { entries: 1, hits: 1, misses: 1 }, 'second read is a hit')
    cache.get(b('b'))
    cache.get(b('a')) // a is now the most recent
    cache.get(b('c')) // evicts b, the least recently used
    t.match(cache.cacheStats, { entries: 2 })
    const missesBefore = cache.cacheStats.misses
    cache.get(b('a'))
    t.equal(cache.cacheStats.misses, missesBefore, 'a stayed cached')
    cache.get(b('b'))
    t.equal(cache.cacheStats.misses, missesBefore + 1, 'b was evicted')
    t.equal(cache.get(b('zz')), undefined, 'misses are not cached as values')

    // Write-through and deletes.
    cache.put(b('a'), b('new'))
    cache.delete(b('b'))
    cache.flush()
    await cache.applyFlushed()
    t.equal(cache.get(b('a'))?.toString(), 'new', 'cached value updated at applyFlushed')
    t.equal(cache.get(b('b')), undefined, 'deleted key no longer cached')
    t.equal(bytes.get(b('b')), undefined)

    // Abort keeps the cache (it only ever holds committed values).
    cache.put(b('a'), b('aborted'))
    cache.discardDirty()
    t.equal(cache.get(b('a'))?.toString(), 'new')

    // Restore invalidates.
    await cache.restoreBatch([{ key: b('a'), value: b('restored') }])
    t.equal(cache.get(b('a'))?.toString(), 'restored', 'restore is not hidden by a stale cached value')

    // Byte bound.
    const small = new CachingChangelogStore(bytes, { maxCachedBytes: 5 })
    small.get(b('c'))
    small.get(b('d'))
    t.match(small.cacheStats, { entries: 1, bytes: 3 }, 'evicted down to the byte bound')
  })
}

t.test('a key written through again updates its cached entry in place, bounds and budget kept', async t => {
  for (const own of [true, false]) {
    const shared = new ThreadCache({ maxBytes: Number.POSITIVE_INFINITY })
    const inner = new InMemoryStore('s')
    await inner.open('')
    const cache = new CachingChangelogStore(inner, own ? { maxCachedEntries: 2 } : { cache: shared })
    const commit = async (k: string, v: string): Promise<void> => { cache.put(b(k), b(v)); cache.flush(); await cache.applyFlushed() }
    await commit('a', 'v1')
    await commit('b', 'v1')
    const before = own ? cache.cacheStats.bytes : shared.stats.cleanBytes
    await commit('a', 'v22') // one byte more
    t.equal(cache.get(b('a'))?.toString(), 'v22', 'the new value is read')
    t.equal(cache.committedView().get(b('a'))?.toString(), 'v22', 'queries see it too')
    t.equal(cache.cacheStats.entries, 2)
    if (own) {
      t.equal(cache.cacheStats.bytes, before + 1, 'the store\'s bytes follow the value')
      await commit('c', 'v1') // a was written last: b is the least recently used
      const misses = cache.cacheStats.misses
      cache.get(b('a'))
      t.equal(cache.cacheStats.misses, misses, 'a stayed cached')
      cache.get(b('b'))
      t.equal(cache.cacheStats.misses, misses + 1, 'b was evicted')
    } else {
      t.equal(shared.stats.cleanEntries, 2, 'one node per key in the budget')
      t.equal(shared.stats.cleanBytes, before + 1, 'the budget follows the value')
    }
  }
})

t.test('rocksdb: prefetch uses one multi-get and fills the cache', async t => {
  const bytes = await openBytesStore(t, name => new RocksDbStore(name)) as RocksDbStore
  await bytes.write(Array.from({ length: 100 }, (_, i) => ({ key: b(`k${i}`), value: b(`v${i}`) })))
  let multiGets = 0
  const getMany = bytes.getMany.bind(bytes)
  bytes.getMany = keys => { multiGets++; return getMany(keys) }
  const cache = new CachingChangelogStore(bytes)
  cache.put(b('k5'), b('dirty'))
  cache.prefetch([...Array.from({ length: 10 }, (_, i) => b(`k${i}`)), b('k1'), b('missing')])
  t.equal(multiGets, 1)
  t.equal(cache.cacheStats.entries, 9, 'found keys cached, dirty and missing ones not')
  const misses = cache.cacheStats.misses
  for (let i = 0; i < 10; i++) t.equal(cache.get(b(`k${i}`))?.toString(), i === 5 ? 'dirty' : `v${i}`)
  t.equal(cache.cacheStats.misses, misses, 'every read served from memory')
})
