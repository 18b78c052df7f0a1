// What a commit applied survives close and reopen; what was only dirty does not.
import t from 'tap'
import { join } from 'node:path'
import { CachingChangelogStore } from '../../stores/caching-changelogging-store.ts'
import { COLUMNS_PER_RECORD } from '../../stores/restore-columns.ts'
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

t.test('rocksdb: restore batches (native batch writer) apply in order and survive a reopen', async t => {
  const dir = join(tempDir(t), '0_4', 'restored')
  const b = (s: string): Buffer => Buffer.from(s)
  let bytes = new RocksDbStore('restored')
  await bytes.open(dir)
  // Views into one shared buffer, as a fetched partition's decoded entries are.
  const fetched = Buffer.from('k1v1k2v2')
  bytes.restoreWriteSync([
    { key: fetched.subarray(0, 2), value: fetched.subarray(2, 4) },
    { key: fetched.subarray(4, 6), value: fetched.subarray(6, 8) },
    { key: b('k3'), value: b('old') },
    { key: b('k3'), value: b('new') },
    { key: Buffer.from([0xff, 0x00]), value: b('binary key') },
    { key: b('k2'), value: null }
  ])
  t.equal(bytes.hasUnsyncedWrites, true, 'a restore batch is not fsynced')
  bytes.restoreWriteSync([])
  bytes.restoreWriteSync([{ key: b('k4'), value: b('') }])
  bytes.syncWal()
  t.equal(bytes.hasUnsyncedWrites, false, 'syncWal claims it')
  await bytes.close()
  t.throws(() => { bytes.restoreWriteSync([{ key: b('k5'), value: b('x') }]) }, /not open/, 'no write once closed')

  bytes = new RocksDbStore('restored')
  await bytes.open(dir)
  t.same(bytes.get(b('k1')), b('v1'), 'a put, its key and value views of one buffer')
  t.equal(bytes.get(b('k2')), undefined, 'a null value deletes the key written before it in the batch')
  t.same(bytes.get(b('k3')), b('new'), 'the last write of a key in a batch wins')
  t.same(bytes.get(Buffer.from([0xff, 0x00])), b('binary key'), 'a binary key as it is')
  t.same(bytes.get(b('k4')), b(''), 'an empty value is a value')
  await bytes.close()
})

t.test('rocksdb: restore batches as offsets into one buffer (restoreWriteColumnsSync) match the changelog', async t => {
  const dir = join(tempDir(t), '0_5', 'restored')
  let bytes = new RocksDbStore('restored')
  await bytes.open(dir)
  // 3000 records, three writes per key in changing order, some deletes, keys and values of every
  // length class: empty value, short (copied into scratch), over 256 bytes (a view).
  const parts: Buffer[] = []
  const records: Array<[number, number, number, number]> = []
  const expected = new Map<string, string | null>()
  let at = 0
  const add = (key: Buffer, value: Buffer | null): void => {
    parts.push(Buffer.from('hdr'), key)
    const keyStart = at + 3
    at = keyStart + key.length
    const valueStart = at
    if (value !== null) { parts.push(value); at += value.length }
    records.push([keyStart, key.length, valueStart, value === null ? -1 : value.length])
    expected.set(key.toString('latin1'), value === null ? null : value.toString('latin1'))
  }
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 1000; i++) {
      const k = (i * 7 + round * 13) % 1000
      const key = Buffer.from(k % 97 === 0 ? `long-${'x'.repeat(300)}-${k}` : `member-${String(k).padStart(4, '0')}`)
      const value = round === 2 && k % 5 === 0 ? null : k % 11 === 0 ? Buffer.alloc(0) : Buffer.from(k % 89 === 0 ? `${round}:${'v'.repeat(400)}` : `${round}:${k}`)
      add(key, value)
    }
  }
  add(Buffer.from([0xff, 0x00]), Buffer.from('binary key'))
  const buf = Buffer.concat(parts)
  const offsets = new Int32Array(records.length * COLUMNS_PER_RECORD)
  records.forEach((r, i) => offsets.set(r, i * COLUMNS_PER_RECORD))
  // In two batches, the first a slice of the array (count below its length).
  bytes.restoreWriteColumnsSync({ buf, at: offsets, count: 1500 })
  bytes.restoreWriteColumnsSync({ buf, at: offsets.subarray(1500 * COLUMNS_PER_RECORD), count: records.length - 1500 })
  bytes.restoreWriteColumnsSync({ buf, at: offsets, count: 0 })
  t.equal(bytes.hasUnsyncedWrites, true, 'not fsynced')
  bytes.syncWal()
  await bytes.close()
  t.throws(() => { bytes.restoreWriteColumnsSync({ buf, at: offsets, count: 1 }) }, /not open/, 'no write once closed')

  bytes = new RocksDbStore('restored')
  await bytes.open(dir)
  const rows = new Map(bytes.range(undefined, undefined, { limit: 10_000 }).map(([k, v]) => [k.toString('latin1'), v.toString('latin1')]))
  const live = new Map([...expected].filter((e): e is [string, string] => e[1] !== null))
  t.ok(live.size < expected.size, 'some keys deleted')
  t.same(rows, live, 'the last write of every key, deletes applied')
  await bytes.close()
})
