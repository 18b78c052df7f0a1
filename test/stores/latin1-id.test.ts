// Serde.latin1Id: an ASCII string key is looked up in the caching layer by itself (no Buffer);
// any other key goes through its serialized bytes. Both must read the same entries.
import t from 'tap'
import { CachingChangelogStore } from '../../stores/caching-changelogging-store.ts'
import { InMemoryStore } from '../../stores/in-memory-store.ts'
import { TypedKeyValueStore } from '../../stores/typed-key-value-store.ts'
import { Serdes } from '../../topology/serdes.ts'

t.test('Serdes.string().latin1Id: the string when ASCII, else undefined', async t => {
  const serde = Serdes.string()
  t.equal(serde.latin1Id?.('member-000123'), 'member-000123')
  t.equal(serde.latin1Id?.('café'), undefined)
  t.equal(serde.serialize('member-000123').toString('latin1'), 'member-000123', 'the id is the bytes read as latin1')
})

t.test('typed store: ASCII and non-ASCII keys, dirty, committed and read back from the bytes store', async t => {
  const inner = new InMemoryStore('s')
  await inner.open('')
  const bytes = new CachingChangelogStore(inner, { maxCachedEntries: 1 })
  const store = new TypedKeyValueStore(bytes, Serdes.string(), Serdes.json<number>({ immutableValues: true }))
  store.put('ascii', 1)
  store.put('café', 2)
  t.equal(store.get('ascii'), 1, 'dirty, by id')
  t.equal(store.get('café'), 2, 'dirty, by bytes')
  const flushed = bytes.flush()
  t.same(flushed.map(e => e.key.toString('utf8')), ['ascii', 'café'], 'changelog keys are the serialized keys')
  await bytes.applyFlushed()
  t.equal(inner.get(Buffer.from('ascii'))?.toString(), '1')
  t.equal(inner.get(Buffer.from('café', 'utf8'))?.toString(), '2')
  // One cached entry at most: reading both goes to the bytes store for one of them each time.
  for (let i = 0; i < 3; i++) {
    t.equal(store.get('ascii'), 1)
    t.equal(store.get('café'), 2)
  }
  store.put('ascii', 3)
  t.equal(store.get('ascii'), 3)
  t.equal(bytes.get(Buffer.from('ascii')), bytes.get(Buffer.from('ascii')), 'the bytes layer sees the same entry')
  t.equal(bytes.get(Buffer.from('ascii'))?.toString(), '3')
})
