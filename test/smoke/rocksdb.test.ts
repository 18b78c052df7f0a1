// RocksDB through @nxtedition/rocksdb, the binding the state stores use (docs/decisions/
// 0001-rocksdb-binding.md): open, atomic batch write, reads (async, batched, and the synchronous
// _getManySync the stores depend on), range scans (async and synchronous), close, reopen, and the
// data is still there.
import t from 'tap'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// The binding ships no types: this is the slice of its API the test uses.
interface Iterator {
  nextv (size: number): Promise<Array<[Buffer, Buffer]>>
  _nextvSync (size: number): { rows: Buffer[], finished: boolean }
  close (): Promise<void>
}
interface RocksLevel {
  readonly status: string
  open (): Promise<void>
  close (): Promise<void>
  get (key: Buffer): Promise<Buffer | undefined>
  getMany (keys: Buffer[]): Promise<Array<Buffer | undefined>>
  _getManySync (keys: Buffer[]): Array<Buffer | undefined>
  batch (ops: Array<{ type: 'put', key: Buffer, value: Buffer } | { type: 'del', key: Buffer }>): Promise<void>
  iterator (options?: { gte?: Buffer, lt?: Buffer, limit?: number, reverse?: boolean }): Iterator
}
const { RocksLevel } = createRequire(import.meta.url)('@nxtedition/rocksdb') as { RocksLevel: new (location: string, options: object) => RocksLevel }

const key = (i: number): Buffer => Buffer.from(`member-${String(i).padStart(4, '0')}`)
const value = (i: number): Buffer => Buffer.from(JSON.stringify({ available: i * 10, tier: 'GOLD' }))

t.test('RocksDB with @nxtedition/rocksdb: write, read (sync too), scan, reopen', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'smoke-rocksdb-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const location = join(dir, 'balances')
  const open = async (): Promise<RocksLevel> => {
    const db = new RocksLevel(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
    await db.open()
    t.teardown(async () => { if (db.status === 'open') await db.close() })
    return db
  }

  let db = await open()
  await db.batch(Array.from({ length: 1000 }, (_, i) => ({ type: 'put' as const, key: key(i), value: value(i) })))
  await db.batch([{ type: 'del', key: key(7) }, { type: 'put', key: key(8), value: Buffer.from('updated') }])

  t.same(await db.get(key(42)), value(42), 'async get')
  t.same(await db.getMany([key(1), key(7), key(999)]), [value(1), undefined, value(999)], 'getMany: missing key is undefined')
  t.same(db._getManySync([key(3), key(7), key(8), Buffer.from('nope')]), [value(3), undefined, Buffer.from('updated'), undefined],
    '_getManySync: synchronous, sees the latest batch, undefined for missing keys')

  const range = await db.iterator({ gte: key(100), lt: key(110) }).nextv(100)
  t.same(range.map(([k]) => k.toString()), Array.from({ length: 10 }, (_, i) => key(100 + i).toString()), 'async range scan [100, 110) in key order')
  const reversed = db.iterator({ gte: key(0), lt: key(20), reverse: true, limit: 3 })
  t.same((await reversed.nextv(10)).map(([k]) => k.toString()), [key(19), key(18), key(17)].map(String), 'reverse scan with a limit')
  await reversed.close()

  const it = db.iterator({ gte: key(5), lt: key(10) })
  const { rows, finished } = it._nextvSync(100)
  await it.close()
  t.ok(finished, 'synchronous scan reached the end of the range')
  t.same(rows.filter((_, i) => i % 2 === 0).map(String), [5, 6, 8, 9].map(i => key(i).toString()), 'synchronous scan: rows are [key, value, ...], the deleted key is gone')

  await db.close()
  t.equal(db.status, 'closed')

  db = await open()
  t.same(db._getManySync([key(0), key(7), key(8), key(999)]), [value(0), undefined, Buffer.from('updated'), value(999)], 'after reopen: the data persisted')
  const all = db.iterator()
  let count = 0
  for (let batch = await all.nextv(256); batch.length > 0; batch = await all.nextv(256)) count += batch.length
  await all.close()
  t.equal(count, 999, 'after reopen: 1000 written - 1 deleted')
})
