// The engine's fetch decoding straight from a partition's record batches (kafka-fetcher.ts
// decodeCommittedBuffer) against the client's decoder followed by decodeCommitted (what it
// replaced): batches encoded as the client encodes them, then both decoders must give the same
// records (offsets, timestamps, keys, values, headers), next offset and bytes. Covers aborted and
// committed transactions with their markers, records below the fetch offset inside a batch, null
// and empty keys and values, headers, negative and large timestamp deltas, multi-byte lengths,
// compressed batches and a batch cut short at the end of the response.
import t, { type Test } from 'tap'
import { createRecordsBatch, Reader, readRecordsBatches } from '@platformatic/kafka'
import { decodeCommitted, decodeCommittedBuffer } from '../../../log/kafka/kafka-fetcher.ts'
import type { LogRecord } from '../../../log/log-port.ts'

const TRANSACTIONAL = 1 << 4
const CONTROL = 1 << 5

interface Message { key: string | null, value: string | null, headers?: Map<Buffer, Buffer>, timestamp?: bigint }

function batch (firstOffset: bigint, messages: Message[], options: { producerId?: bigint, attributes?: number, compression?: 'none' | 'gzip' } = {}): Buffer {
  const writer = createRecordsBatch(messages.map(m => ({
    topic: 't',
    key: m.key === null ? null as unknown as Buffer : Buffer.from(m.key),
    value: m.value === null ? null as unknown as Buffer : Buffer.from(m.value),
    timestamp: m.timestamp ?? 1_700_000_000_000n,
    ...(m.headers ? { headers: m.headers } : {})
  })), { producerId: options.producerId ?? -1n, compression: options.compression ?? 'none' })
  const bytes = Buffer.from(writer.buffer)
  bytes.writeBigInt64BE(firstOffset, 0)
  if (options.attributes !== undefined) bytes.writeInt16BE(bytes.readInt16BE(21) | options.attributes, 21)
  return bytes
}

function marker (offset: bigint, producerId: bigint, kind: 'commit' | 'abort'): Buffer {
  const bytes = batch(offset, [{ key: 'xxxx', value: 'xxxxxx' }], { producerId, attributes: TRANSACTIONAL | CONTROL })
  const keyAt = 61 + 1 + 1 + 1 + 1 + 1
  bytes.writeInt16BE(0, keyAt)
  bytes.writeInt16BE(kind === 'abort' ? 0 : 1, keyAt + 2)
  return bytes
}

const view = (r: LogRecord): unknown => ({
  ...r,
  key: r.key === null ? null : r.key.toString('latin1'),
  value: r.value === null ? null : r.value.toString('latin1'),
  headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, Buffer.from(v as Uint8Array).toString('latin1')]))
})

function same (t: Test, buf: Buffer, from: bigint, aborted: Array<{ producerId: bigint, firstOffset: bigint }>): LogRecord[] {
  const position = { topic: 'in', partition: 3, offset: from }
  const reference = decodeCommitted(position, readRecordsBatches(Reader.from(buf)), aborted)
  const got = decodeCommittedBuffer(position, buf, aborted)
  t.same(got.records.map(view), reference.records.map(view), `records from ${from}`)
  t.equal(got.nextOffset, reference.nextOffset, `next offset from ${from}`)
  t.equal(got.bytes, reference.bytes, `bytes from ${from}`)
  return got.records
}

t.test('transactions, markers and offsets inside a batch', async t => {
  const buf = Buffer.concat([
    batch(0n, [{ key: 'a', value: '0' }, { key: 'b', value: '1' }], { producerId: 7n, attributes: TRANSACTIONAL }),
    batch(2n, [{ key: 'lost1', value: 'x' }, { key: 'lost2', value: 'x' }], { producerId: 8n, attributes: TRANSACTIONAL }),
    marker(4n, 7n, 'commit'),
    marker(5n, 8n, 'abort'),
    batch(6n, [{ key: 'c', value: null }, { key: null, value: 'no key' }, { key: '', value: '' }]),
    batch(9n, [{ key: 'd', value: '7' }, { key: 'e', value: '8' }], { producerId: 8n, attributes: TRANSACTIONAL }),
    marker(11n, 8n, 'commit')
  ])
  const aborted = [{ producerId: 8n, firstOffset: 2n }]
  for (let from = 0n; from <= 12n; from++) same(t, buf, from, aborted)
  const all = same(t, buf, 0n, aborted)
  t.same(all.map(r => r.offset), [0n, 1n, 6n, 7n, 8n, 9n, 10n])
  t.equal(all[2]!.value, null, 'a tombstone keeps its null value')
  t.equal(all[3]!.key, null, 'a record without a key')
  const cut = buf.subarray(0, buf.length - 5)
  t.same(same(t, cut, 0n, aborted).map(r => r.offset), [0n, 1n, 6n, 7n, 8n, 9n, 10n])
  t.equal(decodeCommittedBuffer({ topic: 'in', partition: 3, offset: 0n }, cut, aborted).nextOffset, 11n, 'a response cut inside the last batch (the marker): it waits for the next fetch')
  t.same(decodeCommittedBuffer({ topic: 'in', partition: 0, offset: 4n }, null, []), { records: [], nextOffset: 4n, bytes: 0 })
})

t.test('headers, timestamps, long keys and values, compressed batches', async t => {
  const headers = new Map([[Buffer.from('h1'), Buffer.from('v1')], [Buffer.from('ü-key'), Buffer.from('a longer header value')], [Buffer.from(''), Buffer.from('')]])
  const long = 'x'.repeat(70_000)
  const buf = Buffer.concat([
    batch(0n, [
      { key: 'k0', value: 'v0', headers, timestamp: 1_700_000_000_000n },
      { key: 'k1', value: 'v1', timestamp: 1_699_999_999_000n }, // negative delta
      { key: 'k2', value: 'v2', timestamp: 1_700_000_000_000n + 2n ** 40n }, // a delta past 32 bits
      { key: long, value: long, timestamp: 0n }
    ]),
    batch(4n, [{ key: 'g1', value: 'one', headers }, { key: 'g2', value: 'two' }], { compression: 'gzip' }),
    batch(6n, [{ key: 'z', value: long.slice(0, 300), headers: new Map([[Buffer.from('only'), Buffer.from('one')]]) }])
  ])
  for (let from = 0n; from <= 7n; from++) same(t, buf, from, [])
  const all = same(t, buf, 0n, [])
  t.equal(all[1]!.timestamp, 1_699_999_999_000)
  t.equal(all[2]!.timestamp, 1_700_000_000_000 + 2 ** 40)
  t.equal(all[3]!.key!.length, 70_000)
  t.same(Object.keys(all[0]!.headers), ['h1', 'ü-key', ''])
})
