// Range semantics, identical on RocksDB and in memory: inclusive bounds, open bounds, reverse,
// limits (default 1000), bytewise order including 0x00 and 0xff bytes, exclusive upper bound.
import t from 'tap'
import type { BytesRangeOptions } from '../../stores/bytes-range.ts'
import { BYTES_STORES, b, keysOf, openBytesStore } from './helpers.ts'

const exclusive: BytesRangeOptions = { toExclusive: true }
const exclusiveReversed: BytesRangeOptions = { toExclusive: true, reverse: true }
const KEYS = ['a', 'ab', 'abc', 'abd', 'ac', 'b', 'b\x00', 'b\xff', 'b\xff\xff', 'c', '\xff']

for (const { kind, create } of BYTES_STORES) {
  t.test(`${kind}: range scans`, async t => {
    const store = await openBytesStore(t, create)
    // Written out of order, across two batches, with a delete.
    await store.write([...KEYS].reverse().map(k => ({ key: b(k), value: b(`v:${k}`) })))
    await store.write([{ key: b('zz'), value: b('x') }, { key: b('zz'), value: null }])

    t.same(keysOf(store.range(undefined, undefined)), KEYS, 'full scan in bytewise order')
    t.same(keysOf(store.range(undefined, undefined, { reverse: true })), [...KEYS].reverse(), 'full scan reversed')
    t.same(keysOf(store.range(b('ab'), b('ac'))), ['ab', 'abc', 'abd', 'ac'], 'both bounds inclusive')
    t.same(keysOf(store.range(b('ab'), b('ac'), { reverse: true })), ['ac', 'abd', 'abc', 'ab'], 'reverse keeps inclusive bounds')
    t.same(keysOf(store.range(b('aa'), b('abz'))), ['ab', 'abc', 'abd'], 'bounds between keys')
    t.same(keysOf(store.range(b('b'), undefined)), ['b', 'b\x00', 'b\xff', 'b\xff\xff', 'c', '\xff'], 'open upper bound')
    t.same(keysOf(store.range(undefined, b('ab'))), ['a', 'ab'], 'open lower bound')
    t.same(keysOf(store.range(b('c'), b('b'))), [], 'from > to is empty')
    t.same(keysOf(store.range(b('a'), undefined, { limit: 3 })), ['a', 'ab', 'abc'], 'limit')
    t.same(keysOf(store.range(undefined, b('c'), { limit: 2, reverse: true })), ['c', 'b\xff\xff'], 'limit from the top when reversed')
    t.same(store.range(undefined, undefined, { limit: 0 }), [], 'limit 0')
    t.same(keysOf(store.range(b('b'), b('c'), exclusive)), ['b', 'b\x00', 'b\xff', 'b\xff\xff'], 'exclusive upper bound')
    t.same(keysOf(store.range(b('b'), b('c'), exclusiveReversed)), ['b\xff\xff', 'b\xff', 'b\x00', 'b'], 'exclusive upper bound reversed')
    const values = store.range(b('abc'), b('abc'))
    t.same(values.map(([k, v]) => [k.toString('latin1'), v.toString('latin1')]), [['abc', 'v:abc']], 'single key range returns its value')
    t.equal(store.get(b('zz')), undefined, 'deleted in the same batch')
  })

  t.test(`${kind}: default limit is 1000`, async t => {
    const store = await openBytesStore(t, create)
    const entries = Array.from({ length: 1500 }, (_, i) => ({ key: b(`k${String(i).padStart(5, '0')}`), value: b('v') }))
    await store.write(entries)
    const rows = store.range(undefined, undefined)
    t.equal(rows.length, 1000)
    t.equal(rows[999]?.[0].toString(), 'k00999')
    t.equal(store.range(undefined, undefined, { limit: 5000 }).length, 1500, 'an explicit limit goes further')
    t.equal(store.range(undefined, undefined, { reverse: true })[0]?.[0].toString(), 'k01499')
    t.ok(store.approximateNumEntries() > 0, `approximateNumEntries ${store.approximateNumEntries()}`)
    t.throws(() => store.range(undefined, undefined, { limit: -1 }), RangeError)
  })
}
