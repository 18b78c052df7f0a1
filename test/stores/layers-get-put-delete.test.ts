// get/put/putIfAbsent/delete through the layers (typed → caching/changelogging → bytes store), on
// both bytes stores, before and after a commit.
import t from 'tap'
import { CachingChangelogStore } from '../../stores/caching-changelogging-store.ts'
import { TypedKeyValueStore } from '../../stores/typed-key-value-store.ts'
import { Serdes } from '../../topology/serdes.ts'
import { BYTES_STORES, openBytesStore } from './helpers.ts'

interface Balance { available: number }

for (const { kind, create } of BYTES_STORES) {
  t.test(`${kind}: get/put/delete through the layers`, async t => {
    const bytes = await openBytesStore(t, create, 'balances')
    const cache = new CachingChangelogStore(bytes)
    const store = new TypedKeyValueStore<string, Balance>(cache, Serdes.string(), Serdes.json<Balance>())
    t.equal(store.name, 'balances')

    t.equal(store.get('m1'), undefined, 'missing key')
    store.put('m1', { available: 10 })
    t.same(store.get('m1'), { available: 10 }, 'reads its own dirty write')
    t.equal(bytes.get(Buffer.from('m1')), undefined, 'not in the bytes store before commit')
    t.same(store.putIfAbsent('m1', { available: 99 }), { available: 10 }, 'putIfAbsent returns the existing value')
    t.equal(store.putIfAbsent('m2', { available: 5 }), undefined, 'putIfAbsent on a missing key')
    t.same(store.get('m2'), { available: 5 })

    cache.flush()
    t.same(store.get('m1'), { available: 10 }, 'pending (flushed, not applied) writes stay visible')
    await cache.applyFlushed()
    t.same(JSON.parse(String(bytes.get(Buffer.from('m1')))), { available: 10 }, 'in the bytes store after applyFlushed')

    t.same(store.delete('m1'), { available: 10 }, 'delete returns the old value')
    t.equal(store.get('m1'), undefined, 'deleted (dirty tombstone hides the committed value)')
    t.equal(store.delete('m1'), undefined, 'deleting again returns undefined')
    store.put('m3', { available: 3 })
    t.same(store.range(undefined, undefined).map(kv => kv.key), ['m2', 'm3'], 'range merges dirty writes and hides deletes')
    cache.flush()
    await cache.applyFlushed()
    t.equal(bytes.get(Buffer.from('m1')), undefined, 'the tombstone deleted it in the bytes store')
    t.same(store.range(undefined, undefined).map(kv => kv.value.available), [5, 3])

    t.throws(() => store.put('m4', undefined as unknown as Balance), TypeError, 'put(key, undefined) is refused')
    t.throws(() => store.get(undefined as unknown as string), TypeError, 'undefined key is refused')

    await cache.close()
    t.throws(() => store.get('m2'), { code: 'STORE_CLOSED' }, 'closed store throws STORE_CLOSED')
  })
}
