// CachingChangelogStore.putById: a write by latin1 id keeps no key Buffer until the flush (or a
// range read) makes it; the write after a read of the same key skips the dirty lookup the read
// missed. Both must leave the same changelog, reads and bytes store as put() with the Buffer.
import t from 'tap'
import { CachingChangelogStore } from '../../stores/caching-changelogging-store.ts'
import { InMemoryStore } from '../../stores/in-memory-store.ts'

async function open (): Promise<{ inner: InMemoryStore, bytes: CachingChangelogStore }> {
  const inner = new InMemoryStore('s')
  await inner.open('')
  return { inner, bytes: new CachingChangelogStore(inner) }
}

t.test('putById: flushed keys are the ids as latin1 bytes, in write order, last write per key', async t => {
  const { inner, bytes } = await open()
  bytes.putById('b', Buffer.from('1'))
  bytes.put(Buffer.from('a'), Buffer.from('2'))
  bytes.putById('b', Buffer.from('3'))
  bytes.putById('\xff\x00', Buffer.from('4'))
  t.equal(bytes.dirtyEntries, 3)
  t.equal(bytes.dirtyBytes, 1 + 1 + 1 + 1 + 2 + 1, 'keys counted by their byte length')
  t.equal(bytes.get(Buffer.from('b'))?.toString(), '3', 'a write by id is read by its Buffer')
  const flushed = bytes.flush()
  t.same(flushed.map(e => [e.key.toString('hex'), e.value?.toString()]), [['61', '2'], ['62', '3'], ['ff00', '4']])
  t.ok(flushed.every(e => Buffer.isBuffer(e.key)))
  await bytes.applyFlushed()
  t.equal(inner.get(Buffer.from([0xff, 0x00]))?.toString(), '4')
  t.equal(inner.get(Buffer.from('b'))?.toString(), '3')
})

t.test('putById: a range read over unapplied writes gets their keys', async t => {
  const { bytes } = await open()
  bytes.put(Buffer.from('k1'), Buffer.from('x'))
  await (async () => { bytes.flush(); await bytes.applyFlushed() })()
  bytes.putById('k2', Buffer.from('y'))
  bytes.putById('k0', Buffer.from('z'))
  t.same(bytes.range(undefined, undefined).map(([k, v]) => [k.toString(), v.toString()]), [['k0', 'z'], ['k1', 'x'], ['k2', 'y']])
  t.same(bytes.flush().map(e => e.key.toString()), ['k2', 'k0'])
})

t.test('a read that misses the dirty map, then writes: pending, then dirty, then rewritten', async t => {
  const { bytes } = await open()
  t.equal(bytes.getDecodedById('k', b => Number(b.toString())), undefined, 'absent everywhere')
  bytes.putById('k', Buffer.from('1'), 1)
  t.equal(bytes.getDecodedById('k', b => Number(b.toString())), 1, 'dirty')
  bytes.flush()
  // Pending: the read misses the new dirty map and finds the pending write.
  t.equal(bytes.getDecodedById('k', b => Number(b.toString())), 1, 'pending')
  bytes.putById('k', Buffer.from('2'), 2)
  t.equal(bytes.dirtyEntries, 1)
  t.equal(bytes.getDecodedById('k', b => Number(b.toString())), 2, 'the new dirty write')
  // A read of another key, then a rewrite of k: found dirty, replaced, not added twice.
  t.equal(bytes.getDecodedById('other', b => Number(b.toString())), undefined)
  bytes.putById('k', Buffer.from('3'), 3)
  t.equal(bytes.dirtyEntries, 1)
  t.equal(bytes.dirtyBytes, 2, 'one key byte and one value byte')
  await bytes.applyFlushed()
  t.same(bytes.flush().map(e => [e.key.toString(), e.value?.toString()]), [['k', '3']])
  bytes.discardDirty()
  t.equal(bytes.get(Buffer.from('k'))?.toString(), '1', 'the committed value after the discard')
})
