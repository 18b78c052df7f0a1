// prefixScan: keys whose serialized form starts with the prefix, forward and reverse, with limits,
// including prefixes ending in 0xff (the exclusive upper bound carries) and all-0xff prefixes.
import t from 'tap'
import { CachingChangelogStore } from '../../stores/caching-changelogging-store.ts'
import { prefixUpperBound } from '../../stores/bytes-range.ts'
import { TypedKeyValueStore } from '../../stores/typed-key-value-store.ts'
import { Serdes } from '../../topology/serdes.ts'
import { BYTES_STORES, openBytesStore } from './helpers.ts'

const hex = (h: string): Buffer => Buffer.from(h, 'hex')

t.test('prefixUpperBound', async t => {
  t.same(prefixUpperBound(hex('6162')), hex('6163'))
  t.same(prefixUpperBound(hex('61ff')), hex('62'), 'trailing 0xff carries')
  t.same(prefixUpperBound(hex('61ffff')), hex('62'))
  t.equal(prefixUpperBound(hex('ffff')), undefined, 'all 0xff: no upper bound')
  t.equal(prefixUpperBound(hex('')), undefined, 'empty prefix: no upper bound')
})

for (const { kind, create } of BYTES_STORES) {
  t.test(`${kind}: prefixScan`, async t => {
    const bytes = await openBytesStore(t, create, 'activity')
    const cache = new CachingChangelogStore(bytes)
    const store = new TypedKeyValueStore(cache, Serdes.bytes(), Serdes.string())
    const keys = ['60', '61', '6100', '61ff', '61ffff01', '62', 'ff', 'ff00', 'ffff', 'ffffff']
    // Half committed, half dirty: the scan merges both.
    keys.forEach((k, i) => { if (i % 2 === 0) store.put(hex(k), k) })
    cache.flush()
    await cache.applyFlushed()
    keys.forEach((k, i) => { if (i % 2 === 1) store.put(hex(k), k) })

    const scan = (p: string, options?: { limit?: number, reverse?: boolean }): string[] => store.prefixScan(hex(p), options).map(kv => kv.value)
    t.same(scan('61'), ['61', '6100', '61ff', '61ffff01'])
    t.same(scan('61', { reverse: true }), ['61ffff01', '61ff', '6100', '61'])
    t.same(scan('61', { limit: 2 }), ['61', '6100'])
    t.same(scan('61', { limit: 2, reverse: true }), ['61ffff01', '61ff'])
    t.same(scan('61ff'), ['61ff', '61ffff01'], 'prefix ending in 0xff')
    t.same(scan('ff'), ['ff', 'ff00', 'ffff', 'ffffff'], 'prefix 0xff: open upper end')
    t.same(scan('ffff', { reverse: true }), ['ffffff', 'ffff'])
    t.same(scan('63'), [])
    store.delete(hex('6100'))
    t.same(scan('61'), ['61', '61ff', '61ffff01'], 'dirty delete hidden')

    const query = store.queryable()
    query.setState('READY')
    t.same(query.prefixScan(hex('61')).map(kv => kv.value), ['6100', '61ffff01'], 'queryable prefixScan reads committed only')
  })
}
