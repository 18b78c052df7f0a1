// Interactive queries read the committed view: never the task's dirty or in-flight writes, and
// only while the store is READY (STORE_NOT_READY otherwise).
import t from 'tap'
import { CachingChangelogStore } from '../../stores/caching-changelogging-store.ts'
import { TypedKeyValueStore } from '../../stores/typed-key-value-store.ts'
import { Serdes } from '../../topology/serdes.ts'
import { BYTES_STORES, openBytesStore } from './helpers.ts'

for (const { kind, create } of BYTES_STORES) {
  t.test(`${kind}: committedView does not see uncommitted writes`, async t => {
    const bytes = await openBytesStore(t, create, 'balances')
    const cache = new CachingChangelogStore(bytes)
    const store = new TypedKeyValueStore(cache, Serdes.string(), Serdes.long())
    const query = store.queryable()

    t.equal(query.state, 'RESTORING', 'starts RESTORING')
    t.throws(() => query.get('m1'), { code: 'STORE_NOT_READY', retriable: true })
    t.throws(() => query.range(undefined, undefined), { code: 'STORE_NOT_READY' })
    t.throws(() => query.prefixScan('m'), { code: 'STORE_NOT_READY' })
    t.throws(() => query.approximateNumEntries(), { code: 'STORE_NOT_READY' })
    query.setState('READY')

    store.put('m1', 100n)
    t.equal(store.get('m1'), 100n, 'the task sees its write')
    t.equal(query.get('m1'), undefined, 'queries do not see the dirty write')
    t.same(query.range(undefined, undefined), [])

    cache.flush()
    t.equal(query.get('m1'), undefined, 'nor the flushed one whose transaction is in flight')
    await cache.applyFlushed()
    t.equal(query.get('m1'), 100n, 'committed: visible')

    store.put('m1', 50n)
    store.put('m2', 7n)
    t.equal(query.get('m1'), 100n, 'still the committed value')
    t.same(query.range(undefined, undefined), [{ key: 'm1', value: 100n }])
    cache.discardDirty()
    t.equal(store.get('m1'), 100n)

    query.setState('CLOSED')
    t.throws(() => query.get('m1'), { code: 'STORE_NOT_READY', message: /not assigned here/ })
  })
}

t.test('committedView answers from the read cache only what the bytes store holds', async t => {
  const { create } = BYTES_STORES[0]!
  const bytes = await openBytesStore(t, create, 'cached-view')
  const cache = new CachingChangelogStore(bytes, { maxCachedEntries: 100 })
  const store = new TypedKeyValueStore(cache, Serdes.string(), Serdes.long())
  const query = store.queryable()
  query.setState('READY')
  const reads: string[] = []
  const innerGet = bytes.get.bind(bytes)
  bytes.get = (key: Buffer) => { reads.push(key.toString()); return innerGet(key) }

  store.put('m1', 100n)
  cache.flush()
  await cache.applyFlushed()
  t.equal(query.get('m1'), 100n, 'committed value, written through to the read cache')
  t.same(reads, [], 'answered without a bytes-store read')

  store.put('m1', 40n)
  t.equal(query.get('m1'), 100n, 'a dirty write is not visible through the cached entry')
  cache.flush()
  t.equal(query.get('m1'), 100n, 'nor a flushed one in flight')
  cache.discardDirty()
  t.equal(query.get('m1'), 100n, 'an aborted write never was')

  store.delete('m1')
  cache.flush()
  await cache.applyFlushed()
  t.equal(query.get('m1'), undefined, 'a committed delete drops the cached entry')

  store.put('m2', 7n)
  cache.flush()
  await cache.applyFlushed()
  await cache.restoreBatch([{ key: Buffer.from('m2'), value: Serdes.long().serialize(9n) }])
  t.equal(query.get('m2'), 9n, 'a restored value replaces the cached one')
})

t.test('committedView of immutable values: the read cache\'s decoded object, committed state only', async t => {
  const { create } = BYTES_STORES[0]!
  const bytes = await openBytesStore(t, create, 'decoded-view')
  const cache = new CachingChangelogStore(bytes, { maxCachedEntries: 100 })
  const store = new TypedKeyValueStore(cache, Serdes.string(), Serdes.json<{ n: number }>({ immutableValues: true }))
  const query = store.queryable()
  query.setState('READY')

  const first = { n: 1 }
  store.put('m1', first)
  t.equal(query.get('m1'), undefined, 'the dirty write is not seen')
  cache.flush()
  t.equal(query.get('m1'), undefined, 'nor the one in flight')
  await cache.applyFlushed()
  t.equal(query.get('m1'), first, 'committed: the object the task put, not parsed again')
  store.put('m1', { n: 2 })
  t.equal(query.get('m1'), first, 'still the committed object')
  cache.discardDirty()

  // A key the read cache does not hold: read from the bytes store and decoded.
  await bytes.write([{ key: Buffer.from('m9'), value: Buffer.from('{"n":9}') }])
  t.same(query.get('m9'), { n: 9 }, 'an uncached key is read and decoded')
  t.equal(query.get('nobody'), undefined)
})
