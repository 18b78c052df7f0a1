// flush() returns one entry per key, its last write, in the order of those last writes; deletes
// are tombstones (value null); nothing is applied until applyFlushed().
import t from 'tap'
import { CachingChangelogStore } from '../../stores/caching-changelogging-store.ts'
import { BYTES_STORES, b, openBytesStore } from './helpers.ts'

for (const { kind, create } of BYTES_STORES) {
  t.test(`${kind}: flush order and tombstones`, async t => {
    const bytes = await openBytesStore(t, create)
    await bytes.write([{ key: b('old'), value: b('committed') }])
    const cache = new CachingChangelogStore(bytes)

    cache.put(b('a'), b('1'))
    cache.put(b('b'), b('1'))
    cache.put(b('a'), b('2')) // a's last write is now after b's
    cache.delete(b('old'))
    cache.put(b('c'), b('1'))
    cache.delete(b('c')) // put then delete: a tombstone for a key the bytes store never had
    t.equal(cache.dirtyEntries, 4)

    const entries = cache.flush()
    t.same(entries.map(e => [e.key.toString(), e.value === null ? null : e.value.toString()]), [
      ['b', '1'], ['a', '2'], ['old', null], ['c', null]
    ], 'last write per key, in last-write order, deletes as null')
    t.equal(cache.dirtyEntries, 0, 'dirty map emptied')
    t.ok(cache.hasPending)
    t.equal(bytes.get(b('a')), undefined, 'flush does not apply')
    t.equal(bytes.get(b('old'))?.toString(), 'committed', 'flush does not apply deletes')
    t.throws(() => cache.flush(), 'a second flush before apply/discard is a bug')

    // Writes after flush go to the next commit, and win over pending ones in reads.
    cache.put(b('a'), b('3'))
    t.equal(cache.get(b('a'))?.toString(), '3')
    t.equal(cache.get(b('old')), undefined, 'pending tombstone hides the committed value')

    await cache.applyFlushed()
    t.notOk(cache.hasPending)
    t.equal(bytes.get(b('a'))?.toString(), '2', 'applied the flushed value, not the newer dirty one')
    t.equal(bytes.get(b('b'))?.toString(), '1')
    t.equal(bytes.get(b('old')), undefined, 'tombstone applied')
    t.same(cache.flush().map(e => e.value?.toString()), ['3'], 'the next flush holds the newer write')
    await cache.applyFlushed()
    t.equal(bytes.get(b('a'))?.toString(), '3')
    t.same(cache.flush(), [], 'nothing dirty: empty flush')
    await cache.applyFlushed()
  })

  t.test(`${kind}: isFull by entries and by bytes`, async t => {
    const bytes = await openBytesStore(t, create)
    const byEntries = new CachingChangelogStore(bytes, { maxDirtyEntries: 3 })
    for (let i = 0; i < 3; i++) byEntries.put(b(`k${i}`), b('v'))
    t.notOk(byEntries.isFull(), 'at the bound')
    byEntries.put(b('k0'), b('again'))
    t.notOk(byEntries.isFull(), 'rewriting a key does not grow the map')
    byEntries.put(b('k3'), b('v'))
    t.ok(byEntries.isFull(), 'past the entry bound')
    byEntries.flush()
    t.notOk(byEntries.isFull(), 'empty after flush')
    byEntries.discardDirty()

    const byBytes = new CachingChangelogStore(bytes, { maxDirtyBytes: 100 })
    byBytes.put(b('k'), Buffer.alloc(90))
    t.notOk(byBytes.isFull())
    t.equal(byBytes.dirtyBytes, 91)
    byBytes.put(b('k'), Buffer.alloc(10))
    t.equal(byBytes.dirtyBytes, 11, 'an overwrite replaces the old size')
    byBytes.put(b('k2'), Buffer.alloc(95))
    t.ok(byBytes.isFull(), 'past the byte bound')
  })

  t.test(`${kind}: restoreBatch writes straight to the bytes store`, async t => {
    const bytes = await openBytesStore(t, create)
    const cache = new CachingChangelogStore(bytes)
    await cache.restoreBatch([{ key: b('a'), value: b('1') }, { key: b('b'), value: b('1') }, { key: b('a'), value: null }])
    t.equal(bytes.get(b('a')), undefined, 'later record in the batch wins (delete)')
    t.equal(bytes.get(b('b'))?.toString(), '1')
    t.equal(cache.dirtyEntries, 0, 'restore leaves nothing dirty')
    cache.put(b('c'), b('1'))
    await t.rejects(cache.restoreBatch([]), 'restore while writes are unapplied is a bug')
  })
}
