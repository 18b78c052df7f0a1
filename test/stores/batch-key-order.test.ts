// A restore batch's write order (stores/batch-key-order.ts): close to key order, every record
// once, the writes of one key in their batch order. And a store restored through it ends where
// the batch order would have left it. The same order for a batch given as offsets (columnKeyOrder).
import t from 'tap'
import { join } from 'node:path'
import { columnKeyOrder, keyOrder, MAX_ORDERED } from '../../stores/batch-key-order.ts'
import { RocksDbStore } from '../../stores/rocksdb-store.ts'
import { tempDir } from './helpers.ts'

const b = (s: string): Buffer => Buffer.from(s)
/** A deterministic shuffle of 0..n-1 (a multiplier prime to n). */
const scattered = (n: number, i: number): number => (i * 7919) % n

t.test('keyOrder: a permutation, sorted on the bytes after the common prefix, ties in batch order', async t => {
  const entries = Array.from({ length: 600 }, (_, i) => ({ key: b(`member-${String(scattered(200, i)).padStart(6, '0')}`) }))
  const order = keyOrder(entries)
  if (order === undefined) throw new Error('a batch of 600 is ordered')
  const indices = [...order].map(v => v & (MAX_ORDERED - 1))
  t.same([...indices].sort((x, y) => x - y), entries.map((_, i) => i), 'every record once')
  const keys = indices.map(i => entries[i]!.key.toString())
  t.same(keys, [...keys].sort(), 'in key order (keys that differ within the bytes ordered by)')
  for (let j = 1; j < indices.length; j++) {
    if (keys[j] === keys[j - 1]) t.ok(indices[j]! > indices[j - 1]!, `writes of ${keys[j]} in batch order`)
  }
})

t.test('keyOrder: keys alike beyond the bytes ordered by keep their batch order; small and huge batches as they come', async t => {
  // Same first 5 bytes after the common prefix "p": ties, so batch order, whatever follows.
  const entries = Array.from({ length: 40 }, (_, i) => ({ key: b(`p-same-${40 - i}`) }))
  entries.push({ key: b('p') }) // shorter than the prefix plus the bytes ordered by
  const order = keyOrder(entries)
  if (order === undefined) throw new Error('a batch of 41 is ordered')
  const indices = [...order].map(v => v & (MAX_ORDERED - 1))
  t.equal(indices[0], 40, 'the key ending inside the bytes ordered by sorts as if zero-padded')
  t.same(indices.slice(1), entries.slice(0, 40).map((_, i) => i), 'ties in batch order')
  t.equal(keyOrder(entries.slice(0, 5)), undefined, 'a small batch as it comes')
  t.equal(keyOrder(Array.from({ length: MAX_ORDERED + 1 }, () => ({ key: b('k') }))), undefined, 'a batch past the index bits as it comes')
  t.equal(keyOrder([]), undefined)
})

t.test('rocksdb: a restore batch written in key order keeps the last write of each key, deletes included', async t => {
  const dir = join(tempDir(t), '0_5', 'restored')
  const store = new RocksDbStore('restored')
  await store.open(dir)
  // Three writes per key over 1000 keys in one batch of 3000, log order scattered; the last write
  // of every 5th key is a delete, of every 7th a delete then a put again.
  const expected = new Map<string, string | null>()
  const entries: Array<{ key: Buffer, value: Buffer | null }> = []
  for (let i = 0; i < 3000; i++) {
    const k = scattered(1000, i)
    const key = `member-${String(k).padStart(6, '0')}`
    const round = Math.floor(i / 1000)
    const value = (round === 2 && k % 5 === 0) || (round === 1 && k % 7 === 0) ? null : `${key}@${round}`
    entries.push({ key: b(key), value: value === null ? null : b(value) })
    expected.set(key, value)
  }
  store.restoreWriteSync(entries)
  // Views of one buffer, as fetched entries are, in a second batch.
  const fetched = Buffer.from('member-000003member-000003')
  store.restoreWriteSync(Array.from({ length: 64 }, (_, i) => ({ key: fetched.subarray(13 * (i % 2), 13 * (i % 2) + 13), value: b(`view${i}`) })))
  expected.set('member-000003', 'view63')
  store.syncWal()
  for (const [key, value] of expected) {
    const got = store.get(b(key))
    if ((got?.toString() ?? null) !== value) t.fail(`${key}: ${got?.toString()}, expected ${value}`)
  }
  t.pass(`${expected.size} keys as the batch order leaves them`)
  await store.close()
})

t.test('columnKeyOrder: the order keyOrder gives the same keys as entries', async t => {
  for (const n of [10, 32, 600, MAX_ORDERED, MAX_ORDERED + 1]) {
    const keys = Array.from({ length: n }, (_, i) => i % 50 === 3 ? b('m') : i % 77 === 5 ? b('') : b(`member-${String(scattered(Math.max(1, n >> 1), i)).padStart(6, '0')}-${i % 3}`))
    // Keys one after the other with a byte between them, as in a fetched batch.
    const buf = Buffer.concat(keys.flatMap(k => [b('#'), k]))
    const at = new Int32Array(n * 4)
    let p = 0
    keys.forEach((k, i) => { at[i * 4] = p + 1; at[i * 4 + 1] = k.length; p += 1 + k.length })
    const expected = keyOrder(keys.map(key => ({ key })))
    const expectedCopy = expected === undefined ? undefined : [...expected]
    const got = columnKeyOrder(buf, at, n)
    t.same(got === undefined ? undefined : [...got], expectedCopy, `${n} records`)
  }
})
