// What a commit applied survives close and reopen; what was only dirty does not.
import t from 'tap'
import { join } from 'node:path'
import { CachingChangelogStore } from '../../stores/caching-changelogging-store.ts'
import { RocksDbStore } from '../../stores/rocksdb-store.ts'
import { TypedKeyValueStore } from '../../stores/typed-key-value-store.ts'
import { Serdes } from '../../topology/serdes.ts'
import { tempDir } from './helpers.ts'

t.test('rocksdb: durable across close and reopen', async t => {
  const dir = join(tempDir(t), '0_3', 'balances') // open() creates missing parents
  const open = async (): Promise<{ cache: CachingChangelogStore, store: TypedKeyValueStore<string, bigint> }> => {
    const bytes = new RocksDbStore('balances')
    await bytes.open(dir)
    const cache = new CachingChangelogStore(bytes)
    return { cache, store: new TypedKeyValueStore(cache, Serdes.string(), Serdes.long()) }
  }

  let { cache, store } = await open()
  for (let i = 0; i < 500; i++) store.put(`m${i}`, BigInt(i))
  store.delete('m7')
  cache.flush()
  await cache.applyFlushed()
  store.put('uncommitted', 1n)
  await cache.close()

  ;({ cache, store } = await open())
  t.equal(store.get('m499'), 499n, 'committed value back')
  t.equal(store.get('m7'), undefined, 'committed delete back')
  t.equal(store.get('uncommitted'), undefined, 'dirty write at close is gone (the changelog never had it)')
  t.equal(store.range(undefined, undefined, { limit: 10_000 }).length, 499)
  t.ok(store.approximateNumEntries() > 400, `approximateNumEntries ${store.approximateNumEntries()}`)
  await cache.close()
  t.throws(() => cache.get(Buffer.from('m1')), { code: 'STORE_CLOSED' })

  const bytes = new RocksDbStore('balances')
  t.throws(() => bytes.get(Buffer.from('m1')), { code: 'STORE_CLOSED' }, 'not opened yet')
})
