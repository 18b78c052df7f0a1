// Abort: discardDirty() drops dirty and flushed-but-unapplied writes; the store is back at the last
// committed state, in reads and in the bytes store.
import t from 'tap'
import { CachingChangelogStore } from '../../stores/caching-changelogging-store.ts'
import { BYTES_STORES, b, openBytesStore } from './helpers.ts'

for (const { kind, create } of BYTES_STORES) {
  t.test(`${kind}: discardDirty`, async t => {
    const bytes = await openBytesStore(t, create)
    const cache = new CachingChangelogStore(bytes)
    cache.put(b('a'), b('committed'))
    cache.flush()
    await cache.applyFlushed()

    cache.put(b('a'), b('flushed'))
    cache.flush() // the transaction carrying this is in flight…
    cache.put(b('a'), b('dirty'))
    cache.put(b('new'), b('x'))
    cache.delete(b('a'))
    t.equal(cache.get(b('a')), undefined)

    cache.discardDirty() // …and aborts
    t.equal(cache.get(b('a'))?.toString(), 'committed', 'reads fall back to the committed value')
    t.equal(cache.get(b('new')), undefined)
    t.equal(cache.dirtyEntries, 0)
    t.equal(cache.dirtyBytes, 0)
    t.notOk(cache.hasPending)
    await cache.applyFlushed()
    t.equal(bytes.get(b('a'))?.toString(), 'committed', 'applyFlushed after discard applies nothing')
    t.same(cache.flush(), [], 'nothing left to flush')
    await cache.applyFlushed()
  })
}
