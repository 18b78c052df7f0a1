// The read_committed decoding of fetched batches, without a broker: aborted transactions are
// dropped even when the response ends before their ABORT marker, control batches are skipped but
// move the next offset, records below the fetch offset (inside a batch) are not returned.
import t from 'tap'
import type { RecordsBatch } from '@platformatic/kafka'
import { decodeCommitted } from '../../../log/kafka/kafka-fetcher.ts'

const TRANSACTIONAL = 1 << 4
const CONTROL = 1 << 5

function batch (firstOffset: bigint, count: number, producerId: bigint, attributes: number, marker?: 'commit' | 'abort'): RecordsBatch {
  const records = Array.from({ length: count }, (_, i) => {
    let key: Buffer | null = Buffer.from(`k${firstOffset + BigInt(i)}`)
    if (marker !== undefined) {
      key = Buffer.alloc(4)
      key.writeInt16BE(0, 0)
      key.writeInt16BE(marker === 'abort' ? 0 : 1, 2)
    }
    return { length: 0, attributes: 0, timestampDelta: BigInt(i), offsetDelta: i, key, value: marker === undefined ? Buffer.from('v') : Buffer.alloc(6), headers: [] as Array<[Buffer | null, Buffer | null]> }
  })
  return { firstOffset, length: 0, partitionLeaderEpoch: 0, magic: 2, crc: 0, attributes, lastOffsetDelta: count - 1, firstTimestamp: 1000n, maxTimestamp: 1000n, producerId, producerEpoch: 0, firstSequence: 0, records }
}

const position = { topic: 'x', partition: 0, offset: 0n }

t.test('committed and aborted transactions, markers at the end', async t => {
  const batches = [
    batch(0n, 2, 7n, TRANSACTIONAL), // committed by 7
    batch(2n, 2, 8n, TRANSACTIONAL), // aborted by 8
    batch(4n, 1, 7n, TRANSACTIONAL | CONTROL, 'commit'),
    batch(5n, 1, 8n, TRANSACTIONAL | CONTROL, 'abort'),
    batch(6n, 1, -1n, 0), // non-transactional
    batch(7n, 1, 9n, TRANSACTIONAL),
    batch(8n, 1, 9n, TRANSACTIONAL | CONTROL, 'commit')
  ]
  const { records, nextOffset } = decodeCommitted(position, batches, [{ producerId: 8n, firstOffset: 2n }])
  t.same(records.map(r => r.offset), [0n, 1n, 6n, 7n])
  t.equal(nextOffset, 9n, 'past the last commit marker')
  t.equal(records[1]!.timestamp, 1001)
})

t.test('a response cut before the ABORT marker still hides the aborted records', async t => {
  const batches = [batch(0n, 3, 8n, TRANSACTIONAL), batch(3n, 2, 8n, TRANSACTIONAL)]
  const { records, nextOffset } = decodeCommitted(position, batches, [{ producerId: 8n, firstOffset: 0n }])
  t.same(records, [])
  t.equal(nextOffset, 5n)
})

t.test('a producer aborted once and committed later', async t => {
  const batches = [
    batch(0n, 1, 8n, TRANSACTIONAL),
    batch(1n, 1, 8n, TRANSACTIONAL | CONTROL, 'abort'),
    batch(2n, 1, 8n, TRANSACTIONAL),
    batch(3n, 1, 8n, TRANSACTIONAL | CONTROL, 'commit')
  ]
  const { records } = decodeCommitted(position, batches, [{ producerId: 8n, firstOffset: 0n }])
  t.same(records.map(r => r.offset), [2n])
})

t.test('records before the fetch offset inside a batch are skipped', async t => {
  const { records, nextOffset } = decodeCommitted({ ...position, offset: 3n }, [batch(0n, 5, -1n, 0)], [])
  t.same(records.map(r => r.offset), [3n, 4n])
  t.equal(nextOffset, 5n)
})
