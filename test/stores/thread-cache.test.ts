// The stream thread's shared cache budget (stores/thread-cache.ts) over several caching stores:
// one LRU of clean entries across stores, dirty entries never evicted but committed early (isFull)
// past half the budget, and the accounting of estimates through put, flush, apply, discard, decode
// and close.
import t from 'tap'
import { CachingChangelogStore } from '../../stores/caching-changelogging-store.ts'
import { InMemoryStore } from '../../stores/in-memory-store.ts'
import { ENTRY_OVERHEAD_BYTES, ThreadCache, estimatedEntryBytes } from '../../stores/thread-cache.ts'
import { b, s } from './helpers.ts'

async function filled (name: string, keys: string[]): Promise<InMemoryStore> {
  const bytes = new InMemoryStore(name)
  await bytes.open('')
  await bytes.write(keys.map(k => ({ key: b(k), value: b(`v-${k}`) })))
  return bytes
}

/** Estimate of a clean entry `k` → `v-k` (both stores use 2-byte keys: all the same size). */
const ENTRY = estimatedEntryBytes(2, 4, false)

t.test('one LRU across stores: the least recently used entry of any store is evicted', async t => {
  const cache = new ThreadCache({ maxBytes: 3 * ENTRY })
  const a = new CachingChangelogStore(await filled('a', ['a1', 'a2', 'a3']), { cache })
  const z = new CachingChangelogStore(await filled('z', ['z1', 'z2']), { cache })
  a.get(b('a1'))
  a.get(b('a2'))
  z.get(b('z1'))
  t.same(cache.stats, { cleanEntries: 3, cleanBytes: 3 * ENTRY, dirtyBytes: 0, pendingBytes: 0, evictions: 0 })
  a.get(b('a1')) // a1 is now the most recent: a2 is the oldest
  z.get(b('z2')) // over budget: evicts a2, from the other store
  t.equal(cache.stats.evictions, 1)
  t.equal(cache.sizeBytes, 3 * ENTRY, 'back within the budget')
  t.match(a.cacheStats, { entries: 1 }, 'store a lost a2')
  t.match(z.cacheStats, { entries: 2 })
  const missesA = a.cacheStats.misses
  t.equal(s(a.get(b('a1'))!), 'v-a1')
  t.equal(a.cacheStats.misses, missesA, 'a1 stayed cached')
  t.equal(s(a.get(b('a2'))!), 'v-a2', 'an evicted key reads from the bytes store')
  t.equal(a.cacheStats.misses, missesA + 1, 'a2 was evicted')
  t.equal(cache.sizeBytes, 3 * ENTRY, 'reading a2 back evicted the next oldest')
  t.equal(cache.stats.evictions, 2)

  // A closed store's entries leave the budget.
  await z.close()
  t.equal(cache.stats.cleanEntries, a.cacheStats.entries)
  t.equal(cache.stats.cleanBytes, a.cacheStats.entries * ENTRY)
  await a.close()
  t.same(cache.stats, { cleanEntries: 0, cleanBytes: 0, dirtyBytes: 0, pendingBytes: 0, evictions: 2 })
})

t.test('dirty entries are never evicted: past half the budget the stores ask for a commit', async t => {
  const dirtyEntry = 2 + estimatedEntryBytes(2, 4, false) // the key Buffer and its id
  const cache = new ThreadCache({ maxBytes: 8 * dirtyEntry })
  const aBytes = await filled('a', [])
  const a = new CachingChangelogStore(aBytes, { cache })
  const z = new CachingChangelogStore(await filled('z', ['z1', 'z2', 'z3', 'z4', 'z5']), { cache })
  for (const k of ['z1', 'z2', 'z3', 'z4']) z.get(b(k))
  t.equal(cache.stats.cleanEntries, 4)
  for (let i = 0; i < 4; i++) a.put(b(`a${i}`), b(`w-a${i}`))
  t.equal(cache.stats.dirtyBytes, 4 * dirtyEntry)
  t.notOk(a.isFull(), 'at half the budget: not yet')
  t.ok(cache.sizeBytes <= cache.maxBytes, 'clean entries made room for the dirty ones')
  a.put(b('a4'), b('w-a4'))
  t.ok(cache.dirtyOverBudget)
  t.ok(a.isFull(), 'past half: the store with dirty entries asks for a commit')
  t.notOk(z.isFull(), 'a store with nothing dirty does not')
  t.ok(cache.stats.cleanEntries < 4, 'clean entries of the other store were evicted')
  // More reads churn the clean entries; the dirty ones all stay readable.
  for (const k of ['z1', 'z2', 'z3', 'z4', 'z5']) z.get(b(k))
  for (let i = 0; i <= 4; i++) t.equal(s(a.get(b(`a${i}`))!), `w-a${i}`)
  t.equal(aBytes.get(b('a0')), undefined, 'nothing reached the bytes store before the commit')

  // The commit: flushed entries are pending (still in memory, still counted) until applied.
  const flushed = a.flush()
  t.same(flushed.map(e => s(e.key)), ['a0', 'a1', 'a2', 'a3', 'a4'], 'every dirty entry is in the commit, in write order')
  t.notOk(a.isFull())
  t.equal(cache.stats.dirtyBytes, 0)
  t.equal(cache.stats.pendingBytes, 5 * dirtyEntry)
  t.equal(s(a.get(b('a2'))!), 'w-a2', 'pending entries are read while the commit runs')
  await a.applyFlushed()
  t.equal(cache.stats.pendingBytes, 0)
  for (let i = 0; i <= 4; i++) t.equal(s(aBytes.get(b(`a${i}`))!), `w-a${i}`, 'applied after the commit')
  t.ok(cache.sizeBytes <= cache.maxBytes, 'write-through entries fit the budget')
  for (let i = 0; i <= 4; i++) t.equal(s(a.get(b(`a${i}`))!), `w-a${i}`)

  // An abort gives the dirty and pending bytes back.
  a.put(b('a9'), b('x'))
  z.put(b('z9'), b('x'))
  z.flush()
  a.discardDirty()
  z.discardDirty()
  t.equal(cache.stats.dirtyBytes, 0)
  t.equal(cache.stats.pendingBytes, 0)
  t.equal(aBytes.get(b('a9')), undefined)
})

t.test('rewrites, decoded values and deletes keep the estimate exact', async t => {
  const cache = new ThreadCache({ maxBytes: 1 << 20 })
  const store = new CachingChangelogStore(await filled('a', ['k1']), { cache })
  store.put(b('k2'), b('{"n":1}'))
  store.put(b('k2'), b('{"n":22}'), { n: 22 }) // a rewrite replaces the first estimate
  t.equal(cache.stats.dirtyBytes, 2 + estimatedEntryBytes(2, 8, true))
  store.put(b('k3'), b('{"n":3}'))
  const before = cache.stats.dirtyBytes
  t.same(store.getDecoded(b('k3'), v => JSON.parse(v.toString()) as unknown), { n: 3 })
  t.equal(cache.stats.dirtyBytes - before, estimatedEntryBytes(2, 7, true) - estimatedEntryBytes(2, 7, false), 'decoding a dirty value adds its object')
  store.delete(b('k3'))
  t.equal(cache.stats.dirtyBytes, 2 + estimatedEntryBytes(2, 8, true) + 2 + ENTRY_OVERHEAD_BYTES + 2, 'a tombstone: key and overhead')

  t.equal(s(store.get(b('k1'))!), 'v-k1')
  t.equal(cache.stats.cleanBytes, estimatedEntryBytes(2, 4, false))
  store.getDecoded(b('k1'), v => v.toString())
  t.equal(cache.stats.cleanBytes, estimatedEntryBytes(2, 4, true), 'decoding a cached value adds its object')

  store.flush()
  await store.applyFlushed()
  t.equal(cache.stats.dirtyBytes, 0)
  t.equal(cache.stats.pendingBytes, 0)
  t.equal(cache.stats.cleanEntries, 2, 'k1 and the written k2 cached; the deleted k3 not')
  t.equal(cache.stats.cleanBytes, estimatedEntryBytes(2, 4, true) + estimatedEntryBytes(2, 8, true), 'k2 kept its decoded value')
  await store.restoreBatch([{ key: b('k1'), value: b('r') }])
  t.equal(cache.stats.cleanEntries, 1, 'a restore drops the cached value')
})

t.test('a budget of 0 caches nothing and commits at every write', async t => {
  const cache = new ThreadCache({ maxBytes: 0 })
  const store = new CachingChangelogStore(await filled('a', ['k1']), { cache })
  t.equal(s(store.get(b('k1'))!), 'v-k1')
  t.equal(store.getDecoded(b('k1'), v => v.toString()), 'v-k1', 'a read still decodes')
  t.equal(cache.stats.cleanEntries, 0)
  store.put(b('k2'), b('v'))
  t.ok(store.isFull())
  t.equal(s(store.get(b('k2'))!), 'v')
  store.flush()
  await store.applyFlushed()
  t.equal(cache.sizeBytes, 0)
})

t.test('per-store bounds still apply under a shared budget', async t => {
  const cache = new ThreadCache({ maxBytes: 1 << 20 })
  const store = new CachingChangelogStore(await filled('a', ['k1', 'k2', 'k3']), { cache, maxCachedEntries: 2 })
  for (const k of ['k1', 'k2', 'k3']) store.get(b(k))
  t.equal(store.cacheStats.entries, 2)
  t.equal(cache.stats.cleanEntries, 2, 'the store evicting by its own bound leaves the shared list too')
  t.equal(cache.stats.cleanBytes, 2 * estimatedEntryBytes(2, 4, false))
})

t.test('approximate LRU: a hit moves an entry only once half the budget is used', async t => {
  const cache = new ThreadCache({ maxBytes: 4 * ENTRY })
  const a = new CachingChangelogStore(await filled('a', ['a1', 'a2', 'a3', 'a4', 'a5', 'a6']), { cache })
  a.get(b('a1'))
  a.get(b('a2'))
  a.get(b('a1')) // half the budget: not moved (a1 stays the oldest)
  a.get(b('a3'))
  a.get(b('a4'))
  a.get(b('a5')) // over budget: evicts a1, the oldest in the list
  const misses = a.cacheStats.misses
  a.get(b('a1'))
  t.equal(a.cacheStats.misses, misses + 1, 'a1 was evicted: its hit below half the budget did not move it')
  // Now full: hits move entries again. The list is a3 a4 a5 a1 (a2 evicted by reading a1 back).
  a.get(b('a3')) // moved: a4 is the oldest
  a.get(b('a6')) // evicts a4
  const before = a.cacheStats.misses
  a.get(b('a3'))
  t.equal(a.cacheStats.misses, before, 'a3, moved past half the budget, stayed cached')
  a.get(b('a4'))
  t.equal(a.cacheStats.misses, before + 1, 'a4 was evicted')
  await a.close()
})
