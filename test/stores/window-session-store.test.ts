// Window and session stores on both bytes stores (real RocksDB and in-memory), through the same
// layers the runtime uses: ordered range fetches, retention purge, changelog and restore.
import t from 'tap'
import { CachingChangelogStore, type ChangelogEntry } from '../../stores/caching-changelogging-store.ts'
import { TypedKeyValueStore } from '../../stores/typed-key-value-store.ts'
import { KeyValueWindowStore, WindowStoreReader } from '../../stores/window-store.ts'
import { KeyValueSessionStore, SessionStoreReader } from '../../stores/session-store.ts'
import { Serdes } from '../../topology/serdes.ts'
import { BYTES_STORES, openBytesStore } from './helpers.ts'

const str = Serdes.string()
const num = Serdes.json<number>()

async function layers (t: Parameters<typeof openBytesStore>[0], create: (typeof BYTES_STORES)[number]['create']): Promise<{ caching: CachingChangelogStore, typed: TypedKeyValueStore<Buffer, Buffer>, changelog: ChangelogEntry[], commit: () => Promise<void> }> {
  const bytes = await openBytesStore(t, create)
  const caching = new CachingChangelogStore(bytes)
  const typed = new TypedKeyValueStore<Buffer, Buffer>(caching, Serdes.bytes(), Serdes.bytes())
  const changelog: ChangelogEntry[] = []
  return {
    caching,
    typed,
    changelog,
    commit: async () => { changelog.push(...caching.flush()); await caching.applyFlushed() }
  }
}

for (const { kind, create } of BYTES_STORES) {
  t.test(`${kind}: window store fetches one key over a time range in one ordered scan`, async t => {
    const { typed, commit } = await layers(t, create)
    const store = new KeyValueWindowStore(typed, { name: 'w', keySerde: str, valueSerde: num, retentionMs: 1_000_000, windowSizeMs: 100 })
    // 'a' is a prefix of 'ab': the length prefix keeps their windows apart.
    for (const [key, start, value] of [['a', 300, 3], ['ab', 200, 20], ['a', -100, -1], ['a', 100, 1], ['b', 100, 10], ['a', 200, 2]] as const) store.put(key, value, start)
    t.same(store.fetch('a', -1000, 1000), [{ windowStart: -100, value: -1 }, { windowStart: 100, value: 1 }, { windowStart: 200, value: 2 }, { windowStart: 300, value: 3 }], 'oldest first, negative times in order')
    t.same(store.fetch('a', 100, 200).map(w => w.windowStart), [100, 200], 'bounds inclusive')
    t.same(store.fetch('ab', 0, 1000), [{ windowStart: 200, value: 20 }])
    await commit()
    const view = typed.queryable()
    view.setState('READY')
    const reader = new WindowStoreReader(view, { name: 'w', keySerde: str, valueSerde: num, retentionMs: 1_000_000, windowSizeMs: 100 })
    t.same(reader.fetchAll(100, 200).map(kv => `${kv.key.key}@${kv.key.window.start}-${kv.key.window.end}=${kv.value}`), ['a@100-200=1', 'b@100-200=10', 'a@200-300=2', 'ab@200-300=20'], 'all keys in a time range, by start, from the committed view')
    store.put('a', undefined, 200)
    t.same(store.fetch('a', 200, 200), [], 'a put of undefined deletes the window')
  })

  t.test(`${kind}: window retention drops expired windows by an ordered purge, with changelog tombstones`, async t => {
    const { caching, typed, changelog, commit } = await layers(t, create)
    const store = new KeyValueWindowStore(typed, { name: 'w', keySerde: str, valueSerde: num, retentionMs: 1000, windowSizeMs: 100, segmentIntervalMs: 500 })
    for (let start = 0; start < 1000; start += 100) store.put(`k${start}`, start, start)
    await commit()
    t.equal(caching.inner.range(undefined, undefined, { limit: 10_000 }).length, 20, '10 windows: data and index entries')
    store.put('late', 1, 2500) // observed 2500: windows starting at or before 1500 expire
    t.same(store.fetch('k900', 0, 5000), [], 'an expired window is never returned, even before the purge')
    await commit()
    t.equal(caching.inner.range(undefined, undefined, { limit: 10_000 }).length, 2, 'only the live window remains on disk')
    t.equal(changelog.filter(e => e.value === null).length, 20, 'every purged entry became a changelog tombstone')
    store.put('old', 1, 100)
    t.same(store.fetch('old', 0, 200), [], 'a put into an expired window is ignored')
  })

  t.test(`${kind}: a window store restored from its changelog answers the same`, async t => {
    const first = await layers(t, create)
    const store = new KeyValueWindowStore(first.typed, { name: 'w', keySerde: str, valueSerde: num, retentionMs: 10_000, windowSizeMs: 100 })
    for (let i = 0; i < 50; i++) store.put(`k${i % 7}`, i, i * 100)
    await first.commit()
    for (let i = 0; i < 20; i++) store.put(`k${i % 7}`, i + 1000, i * 100)
    store.put('k1', undefined, 100)
    await first.commit()
    const second = await layers(t, create)
    await second.caching.restoreBatch(first.changelog)
    const q = second.typed.queryable()
    q.setState('READY')
    const restored = new WindowStoreReader(q, { name: 'w', keySerde: str, valueSerde: num, retentionMs: 10_000, windowSizeMs: 100 })
    for (let k = 0; k < 7; k++) t.same(restored.fetch(`k${k}`, 0, 10_000), store.fetch(`k${k}`, 0, 10_000), `k${k}`)
    t.equal(restored.all().length, store.all().length)
  })

  t.test(`${kind}: session store finds a key's sessions by end and start, purges and restores`, async t => {
    const first = await layers(t, create)
    const store = new KeyValueSessionStore(first.typed, { name: 's', keySerde: str, valueSerde: num, retentionMs: 1000, segmentIntervalMs: 100 })
    store.put({ key: 'a', window: { start: 0, end: 100 } }, 1)
    store.put({ key: 'a', window: { start: 300, end: 500 } }, 2)
    store.put({ key: 'a', window: { start: 700, end: 700 } }, 3)
    store.put({ key: 'b', window: { start: 0, end: 1000 } }, 4)
    t.same(store.findSessions('a', 150, 650).map(kv => kv.value), [2], 'end >= 150 and start <= 650')
    t.same(store.fetch('a').map(kv => kv.key.window), [{ start: 0, end: 100 }, { start: 300, end: 500 }, { start: 700, end: 700 }])
    t.equal(store.fetchSession('a', 300, 500), 2)
    store.remove({ key: 'a', window: { start: 300, end: 500 } })
    await first.commit()
    store.put({ key: 'b', window: { start: 1500, end: 1500 } }, 5) // observed 1500: sessions ending at or before 500 expire
    await first.commit()
    t.same(store.fetch('a').map(kv => kv.value), [3])
    t.equal(first.caching.inner.range(undefined, undefined, { limit: 100 }).length, 6, 'three live sessions on disk (data and index)')
    const second = await layers(t, create)
    await second.caching.restoreBatch(first.changelog)
    const q = second.typed.queryable()
    q.setState('READY')
    const restored = new SessionStoreReader(q, { name: 's', keySerde: str, valueSerde: num, retentionMs: 1000 })
    t.same(restored.fetch('a'), store.fetch('a'))
    t.same(restored.fetch('b'), store.fetch('b'))
  })
}

t.test('rocksdb: a range with a huge limit and unapplied writes returns every row', async t => {
  const bytes = await openBytesStore(t, BYTES_STORES[0]!.create)
  const caching = new CachingChangelogStore(bytes)
  for (let i = 0; i < 20; i++) caching.put(Buffer.from([i]), Buffer.from('v'))
  caching.flush()
  await caching.applyFlushed()
  caching.put(Buffer.from([100]), Buffer.from('v'))
  // The caching layer asks RocksDB for limit + unapplied rows: past 2^53 the binding read 4 rows.
  t.equal(caching.range(undefined, undefined, { limit: Number.MAX_SAFE_INTEGER }).length, 21)
})
