// A fetch's partitions copied into a reused arena when they span the socket's chunks
// (log/kafka/fetch-response.ts FetchArena, responseBytes).
import t from 'tap'
import { DynamicBuffer } from '@platformatic/dynamic-buffer'
import { Reader } from '@platformatic/kafka'
import { FetchArena, responseBytes } from '../../../log/kafka/fetch-response.ts'

const chunks = (): Buffer[] => [0, 1, 2].map(c => Buffer.from(Array.from({ length: 100 }, (_, i) => (c * 100 + i) & 0xff)))
const bytes = (start: number, end: number): Buffer => Buffer.from(Array.from({ length: end - start }, (_, i) => (start + i) & 0xff))

t.test('bytes within one chunk are a view of it, spanning ones a copy into the arena', async t => {
  const parts = chunks()
  const reader = new Reader(new DynamicBuffer(parts))
  const arena = new FetchArena()
  const inOne = responseBytes(reader, 120, 180, arena)
  t.same(inOne, bytes(120, 180))
  t.equal(inOne.buffer, parts[1]!.buffer, 'a view of the chunk')
  t.equal(arena.used, 0)
  const spanning = responseBytes(reader, 50, 260, arena)
  t.same(spanning, bytes(50, 260))
  t.equal(arena.used, 210)
  const next = responseBytes(reader, 99, 101, arena)
  t.same(next, bytes(99, 101))
  t.equal(next.buffer, spanning.buffer, 'the same arena')
  t.equal(next.byteOffset, spanning.byteOffset + 210, 'after what was taken')
  t.same(responseBytes(reader, 0, 300, undefined), bytes(0, 300), 'no arena: the client\'s slice')
  t.same(responseBytes(reader, 200, 300, arena), bytes(200, 300), 'the last chunk to its end')
  arena.reset()
  t.equal(arena.used, 0)
  const again = responseBytes(reader, 10, 110, arena)
  t.same(again, bytes(10, 110))
  t.equal(again.byteOffset, spanning.byteOffset, 'reused from its start after reset()')
  t.same(spanning.subarray(0, 100), bytes(10, 110), 'overwritten: what reset() allows')
})

t.test('empty chunks are passed over', async t => {
  const reader = new Reader(new DynamicBuffer([Buffer.alloc(0), Buffer.from([1, 2]), Buffer.alloc(0), Buffer.from([3, 4])]))
  const arena = new FetchArena()
  t.same(responseBytes(reader, 1, 3, arena), Buffer.from([2, 3]))
  t.same(responseBytes(reader, 0, 2, arena), Buffer.from([1, 2]))
})

t.test('more than half the arena, or past its end: a fresh Buffer', async t => {
  const arena = new FetchArena()
  const half = FetchArena.CAPACITY / 2
  const big = arena.take(half + 1)
  t.equal(arena.used, 0, 'more than half: not from the arena')
  t.ok(big.buffer.byteLength < FetchArena.CAPACITY)
  const a = arena.take(half)
  const b = arena.take(half - 10)
  t.equal(b.buffer, a.buffer)
  const c = arena.take(11)
  t.not(c.buffer, a.buffer, 'does not fit: fresh')
  t.equal(arena.used, half * 2 - 10)
  // Anything the arena hands out is less than half of its backing store: the in-memory store
  // copies such a view rather than keep it (stores/in-memory-store.ts ownedValue).
  t.ok(b.byteLength * 2 < b.buffer.byteLength)
})
