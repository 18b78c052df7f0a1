// patches/@platformatic+kafka: an uncompressed record batch is encoded in one pass into one Buffer
// (docs/benchmarks.md "Engine throughput, issue 16, second pass"). Read back with platformatic's
// own decoder, every field comes back, and the CRC covers the bytes after it.
import t from 'tap'
import { createRecordsBatch, crc32c, readRecordsBatch, Reader } from '@platformatic/kafka'

interface Message { topic: string, partition: number, key?: Buffer, value: Buffer, timestamp: bigint, headers?: Map<Buffer, Buffer> }

function messages (): Message[] {
  const out: Message[] = []
  for (let i = 0; i < 300; i++) {
    const m: Message = {
      topic: 't',
      partition: 3,
      value: (i % 11 === 0 ? null : Buffer.alloc((i * 3) % 500, i)) as Buffer,
      // Out of order, some before the first, one 2^40 ms later: negative and large deltas.
      timestamp: 1_700_000_000_000n + BigInt((i * 7919) % 100_000) - 50_000n + (i === 7 ? 2n ** 40n : 0n)
    }
    if (i % 7 !== 0) m.key = i % 13 === 0 ? Buffer.alloc(0) : Buffer.from(`k${'x'.repeat(i % 200)}`)
    if (i % 3 === 0) m.headers = new Map([[Buffer.from('h1'), Buffer.from(`v${i}`)], [Buffer.from('h2'), Buffer.alloc(0)]])
    else if (i % 3 === 1) m.headers = new Map()
    out.push(m)
  }
  return out
}

t.test('a batch reads back field for field, with a valid CRC', async t => {
  const sent = messages()
  const writer = createRecordsBatch(sent as never, { transactionalId: 'tx', producerId: 5n, producerEpoch: 2, sequences: { getWithDefault: () => 42 } } as never)
  const bytes = writer.buffer
  t.equal(writer.buffers.length, 1, 'one Buffer: the patched one-pass encoder')
  const batch = readRecordsBatch(Reader.from(bytes))
  t.equal(batch.magic, 2)
  t.equal(batch.producerId, 5n)
  t.equal(batch.producerEpoch, 2)
  t.equal(batch.firstSequence, 42)
  t.equal(batch.attributes & (1 << 4), 1 << 4, 'transactional')
  t.equal(batch.lastOffsetDelta, sent.length - 1)
  t.equal(batch.length, bytes.length - 12, 'length: the bytes after the length field')
  t.equal(batch.crc, crc32c(bytes.subarray(21)), 'CRC of attributes to the end')
  const max = sent.reduce((m, s) => s.timestamp > m ? s.timestamp : m, sent[0]!.timestamp)
  t.equal(batch.firstTimestamp, sent[0]!.timestamp)
  t.equal(batch.maxTimestamp, max)
  t.equal(batch.records.length, sent.length)
  let same = 0
  for (let i = 0; i < sent.length; i++) {
    const r = batch.records[i]!
    const s = sent[i]!
    const headers = [...(s.headers ?? new Map<Buffer, Buffer>())].map(([k, v]) => `${k.toString()}=${v.toString()}`)
    if (r.offsetDelta === i &&
      batch.firstTimestamp + r.timestampDelta === s.timestamp &&
      (s.key === undefined ? r.key === null || r.key === undefined : r.key !== null && r.key !== undefined && Buffer.compare(r.key, s.key) === 0) &&
      ((s.value as Buffer | null) === null ? r.value === null || r.value === undefined : r.value !== null && r.value !== undefined && Buffer.compare(r.value, s.value) === 0) &&
      JSON.stringify(r.headers.map(([k, v]) => `${k?.toString() ?? ''}=${v?.toString() ?? ''}`)) === JSON.stringify(headers)) same++
  }
  t.equal(same, sent.length, 'every record: offset delta, timestamp, key, value, headers')
})
