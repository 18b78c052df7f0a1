// The restore's decoding of fetched record batches straight into keys and values, without a
// broker (kafka-entry-fetch.ts): batches encoded as the client encodes them, then read back as the
// generic path (kafka-fetcher.ts decodeCommitted) reads them. Aborted transactions and control
// batches are skipped but move the next offset, records below the fetch offset inside a batch are
// left out, as are records without a key, headers are skipped, compressed batches decode too,
// and a batch cut short at the end of the response waits for the next fetch. Decoded on demand
// (scanEntries, EntryRun.take), slices of any size give the same entries in the same order; as
// offsets into the fetched bytes (EntryRun.takeColumns) too, alternating with take(), and a run
// holding a compressed batch offers no columns.
import t from 'tap'
import { createRecordsBatch } from '@platformatic/kafka'
import { decodeEntries, scanEntries } from '../../../log/kafka/kafka-entry-fetch.ts'
import { columnEntries, COLUMNS_PER_RECORD } from '../../../stores/restore-columns.ts'

const TRANSACTIONAL = 1 << 4
const CONTROL = 1 << 5

interface Message { key: string | null, value: string | null, headers?: Map<Buffer, Buffer> }

function batch (firstOffset: bigint, messages: Message[], options: { producerId?: bigint, attributes?: number, compression?: 'none' | 'gzip' } = {}): Buffer {
  const writer = createRecordsBatch(messages.map(m => ({
    topic: 't',
    key: m.key === null ? null as unknown as Buffer : Buffer.from(m.key),
    value: m.value === null ? null as unknown as Buffer : Buffer.from(m.value),
    ...(m.headers ? { headers: m.headers } : {})
  })), { producerId: options.producerId ?? -1n, compression: options.compression ?? 'none' })
  const bytes = Buffer.from(writer.buffer)
  bytes.writeBigInt64BE(firstOffset, 0)
  if (options.attributes !== undefined) bytes.writeInt16BE(bytes.readInt16BE(21) | options.attributes, 21)
  return bytes
}

function marker (offset: bigint, producerId: bigint, kind: 'commit' | 'abort'): Buffer {
  const bytes = batch(offset, [{ key: 'xxxx', value: 'xxxxxx' }], { producerId, attributes: TRANSACTIONAL | CONTROL })
  // The control record's key: version 0, type 0 (abort) or 1 (commit); at a fixed place in this
  // one-record batch: header (61), length, attributes, timestamp, offset delta, key length.
  const keyAt = 61 + 1 + 1 + 1 + 1 + 1
  bytes.writeInt16BE(0, keyAt)
  bytes.writeInt16BE(kind === 'abort' ? 0 : 1, keyAt + 2)
  return bytes
}

const text = (b: Buffer | null): string | null => (b === null ? null : b.toString())
const keys = (entries: Array<{ key: Buffer }>): Array<string | null> => entries.map(e => text(e.key))

t.test('committed and aborted transactions, markers, non-transactional batches', async t => {
  const buf = Buffer.concat([
    batch(0n, [{ key: 'a', value: '0' }, { key: 'b', value: '1' }], { producerId: 7n, attributes: TRANSACTIONAL }),
    batch(2n, [{ key: 'lost1', value: 'x' }, { key: 'lost2', value: 'x' }], { producerId: 8n, attributes: TRANSACTIONAL }),
    marker(4n, 7n, 'commit'),
    marker(5n, 8n, 'abort'),
    batch(6n, [{ key: 'c', value: null }]),
    batch(7n, [{ key: 'd', value: '7' }], { producerId: 9n, attributes: TRANSACTIONAL }),
    marker(8n, 9n, 'commit')
  ])
  const { entries, nextOffset } = decodeEntries(0n, buf, [{ producerId: 8n, firstOffset: 2n }])
  t.same(keys(entries), ['a', 'b', 'c', 'd'])
  t.same(entries.map(e => text(e.value)), ['0', '1', null, '7'], 'a tombstone keeps its null value')
  t.equal(nextOffset, 9n, 'past the last commit marker')
})

t.test('a producer aborted once and committed later; a response cut before the ABORT marker', async t => {
  const abortedThenCommitted = Buffer.concat([
    batch(0n, [{ key: 'lost', value: 'x' }], { producerId: 8n, attributes: TRANSACTIONAL }),
    marker(1n, 8n, 'abort'),
    batch(2n, [{ key: 'kept', value: 'y' }], { producerId: 8n, attributes: TRANSACTIONAL }),
    marker(3n, 8n, 'commit')
  ])
  t.same(keys(decodeEntries(0n, abortedThenCommitted, [{ producerId: 8n, firstOffset: 0n }]).entries), ['kept'])
  const cut = batch(0n, [{ key: 'lost', value: 'x' }, { key: 'lost', value: 'x' }], { producerId: 8n, attributes: TRANSACTIONAL })
  const { entries, nextOffset } = decodeEntries(0n, cut, [{ producerId: 8n, firstOffset: 0n }])
  t.same(entries, [])
  t.equal(nextOffset, 2n)
})

t.test('records below the fetch offset, without a key, or with headers', async t => {
  const headers = new Map([[Buffer.from('h1'), Buffer.from('v1')], [Buffer.from('h2'), Buffer.from('a longer header value')]])
  const buf = Buffer.concat([
    batch(0n, [{ key: 'k0', value: 'v0' }, { key: 'k1', value: 'v1' }]),
    batch(2n, [{ key: 'k2', value: 'v2', headers }, { key: null, value: 'no key' }, { key: 'k4', value: 'v4', headers }, { key: 'k5', value: '' }])
  ])
  const { entries, nextOffset } = decodeEntries(3n, buf, [])
  t.same(keys(entries), ['k4', 'k5'], 'from offset 3 on; the keyless record at 3 is left out')
  t.same(entries.map(e => text(e.value)), ['v4', ''])
  t.equal(nextOffset, 6n)
  t.same(keys(decodeEntries(0n, buf, []).entries), ['k0', 'k1', 'k2', 'k4', 'k5'])
})

t.test('long keys and values (multi-byte lengths), compressed batches', async t => {
  const long = 'x'.repeat(70_000)
  const buf = Buffer.concat([
    batch(0n, [{ key: long, value: long }, { key: 'short', value: long.slice(0, 200) }]),
    batch(2n, [{ key: 'g1', value: 'one' }, { key: 'g2', value: 'two' }], { compression: 'gzip' })
  ])
  const { entries, nextOffset } = decodeEntries(1n, buf, [])
  t.same(keys(entries), ['short', 'g1', 'g2'])
  t.equal(entries[0]!.value!.length, 200)
  t.equal(nextOffset, 4n)
  t.equal(decodeEntries(0n, buf, []).entries[0]!.key.length, 70_000)
})

t.test('a batch cut short at the end of the response waits for the next fetch', async t => {
  const whole = batch(0n, [{ key: 'a', value: '0' }])
  const next = batch(1n, [{ key: 'b', value: '1' }, { key: 'c', value: '2' }])
  const { entries, nextOffset } = decodeEntries(0n, Buffer.concat([whole, next.subarray(0, next.length - 3)]), [])
  t.same(keys(entries), ['a'])
  t.equal(nextOffset, 1n)
  t.same(decodeEntries(0n, null, []), { entries: [], nextOffset: 0n })
})

t.test('decoded on demand: slices of any size, across batches, the same entries as all at once', async t => {
  const buf = Buffer.concat([
    batch(0n, [{ key: 'below', value: 'x' }, { key: 'a', value: '1' }, { key: null, value: 'keyless' }, { key: 'b', value: '2' }], { producerId: 7n, attributes: TRANSACTIONAL }),
    batch(4n, [{ key: 'lost', value: 'x' }], { producerId: 8n, attributes: TRANSACTIONAL }),
    marker(5n, 7n, 'commit'),
    marker(6n, 8n, 'abort'),
    batch(7n, [{ key: 'g1', value: 'one' }, { key: 'g2', value: null }], { compression: 'gzip' }),
    batch(9n, Array.from({ length: 7 }, (_, i) => ({ key: `c${i}`, value: String(i) })))
  ])
  const aborted = [{ producerId: 8n, firstOffset: 4n }]
  const all = decodeEntries(1n, buf, aborted)
  t.same(keys(all.entries), ['a', 'b', 'g1', 'g2', 'c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6'])
  for (const size of [1, 2, 3, 5, 100]) {
    const { run, nextOffset } = scanEntries(1n, buf, aborted)
    t.equal(nextOffset, all.nextOffset)
    // From the headers: every record of the batches kept (the keyless one too), not those below.
    t.equal(run.records, 12)
    const slices: string[][] = []
    for (let slice = run.take(size); slice.length > 0; slice = run.take(size)) {
      t.ok(slice.length <= size)
      slices.push(keys(slice) as string[])
    }
    t.same(slices.flat(), keys(all.entries), `slices of ${size}`)
    t.same(run.take(size), [], 'nothing left')
  }
  t.same(scanEntries(0n, null, []).run.take(10), [])
})

t.test('as offsets (takeColumns): the same records as take(), in slices, alternating with it', async t => {
  const buf = Buffer.concat([
    batch(0n, [{ key: 'below', value: 'x' }, { key: 'a', value: '1' }, { key: null, value: 'keyless' }, { key: 'b', value: '2' }], { producerId: 7n, attributes: TRANSACTIONAL }),
    batch(4n, [{ key: 'lost', value: 'x' }], { producerId: 8n, attributes: TRANSACTIONAL }),
    marker(5n, 7n, 'commit'),
    marker(6n, 8n, 'abort'),
    batch(7n, [{ key: '', value: 'empty key' }, { key: 'tomb', value: null }, { key: 'k'.repeat(300), value: 'v'.repeat(70_000) }]),
    batch(10n, Array.from({ length: 7 }, (_, i) => ({ key: `c${i}`, value: i === 3 ? '' : String(i) })))
  ])
  const aborted = [{ producerId: 8n, firstOffset: 4n }]
  const all = decodeEntries(1n, buf, aborted).entries
  const expected = all.map(e => [text(e.key), text(e.value)])
  t.equal(expected.length, 12)
  for (const size of [1, 2, 3, 5, 100]) {
    const { run } = scanEntries(1n, buf, aborted)
    const columnBuffer = run.columnBuffer
    t.equal(columnBuffer, buf, 'uncompressed: the fetched bytes')
    const at = new Int32Array(size * COLUMNS_PER_RECORD)
    const got: Array<[string | null, string | null]> = []
    for (let slice = 0; ; slice++) {
      if (slice % 3 === 2) {
        // take() in between: the run goes on from where takeColumns() left it.
        const entries = run.take(size)
        if (entries.length === 0) break
        got.push(...entries.map(e => [text(e.key), text(e.value)] as [string | null, string | null]))
        continue
      }
      const count = run.takeColumns(size, at)
      if (count === 0) break
      t.ok(count <= size)
      got.push(...columnEntries({ buf: columnBuffer!, at, count }).map(e => [text(e.key), text(e.value)] as [string | null, string | null]))
    }
    t.same(got, expected, `slices of ${size}`)
    t.equal(run.takeColumns(size, at), 0, 'nothing left')
  }
  t.equal(scanEntries(0n, null, []).run.columnBuffer, undefined)
  t.equal(scanEntries(0n, null, []).run.takeColumns(10, new Int32Array(40)), 0)
  const compressed = Buffer.concat([batch(0n, [{ key: 'a', value: '1' }]), batch(1n, [{ key: 'g', value: 'z' }], { compression: 'gzip' })])
  t.equal(scanEntries(0n, compressed, []).run.columnBuffer, undefined, 'a compressed batch: take() only')
  t.throws(() => scanEntries(0n, compressed, []).run.takeColumns(10, new Int32Array(40)))
})

t.test('offsets at and past 2^53 (walked as BigInts there), the fetch offset inside a batch', async t => {
  const safe = BigInt(Number.MAX_SAFE_INTEGER)
  const buf = Buffer.concat([
    batch(safe - 2n, [{ key: 'a', value: '0' }, { key: 'b', value: '1' }, { key: 'c', value: '2' }, { key: 'd', value: '3' }]),
    batch(safe + 2n, [{ key: 'e', value: '4' }, { key: 'f', value: '5' }], { producerId: 7n, attributes: TRANSACTIONAL }),
    marker(safe + 4n, 7n, 'commit'),
    batch(safe + 5n, [{ key: 'g', value: '6' }])
  ])
  const all = decodeEntries(safe - 2n, buf, [])
  t.same(keys(all.entries), ['a', 'b', 'c', 'd', 'e', 'f', 'g'])
  t.equal(all.nextOffset, safe + 6n, 'exact past 2^53')
  const inside = decodeEntries(safe + 1n, buf, [])
  t.same(keys(inside.entries), ['d', 'e', 'f', 'g'], 'records below the fetch offset left out, across 2^53')
  t.equal(inside.nextOffset, safe + 6n)
  const beyond = decodeEntries(safe + 3n, buf, [{ producerId: 7n, firstOffset: safe + 2n }])
  t.same(keys(beyond.entries), ['g'], 'an aborted run past 2^53, the fetch offset inside it')
  t.equal(beyond.nextOffset, safe + 6n)
})
