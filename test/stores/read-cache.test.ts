// The read cache of the caching layer: hits after a read, LRU eviction within its bounds,
// write-through at applyFlushed, prefetch in one multi-get, never stale after a delete or restore.
import t from 'tap'
import { CachingChangelogStore } from '../../stores/caching-changelogging-store.ts'
import { RocksDbStore } from '../../stores/rocksdb-store.ts'
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
