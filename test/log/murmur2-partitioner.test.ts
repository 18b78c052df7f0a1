// log/murmur2-partitioner.ts computes Java's Utils.murmur2 and Kafka's default partition for a
// key: fixed vectors from Kafka's own UtilsTest, and agreement with two independent
// implementations (kafkajs's DefaultPartitioner and @platformatic/kafka's
// compatibilityPartitioner) over many random keys.
import t from 'tap'
import fc from 'fast-check'
import { Partitioners } from 'kafkajs'
import type { PartitionMetadata } from 'kafkajs'
import { compatibilityPartitioner } from '@platformatic/kafka'
import { murmur2, partitionForKey } from '../../log/murmur2-partitioner.ts'

t.test('murmur2 matches Java (vectors of org.apache.kafka.common.utils.UtilsTest#testMurmur2)', async t => {
  const vectors: Array<[string | number[], number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    [[0x61, 0x62, 0x63], 479470107]
  ]
  for (const [input, expected] of vectors) {
    const bytes = typeof input === 'string' ? Buffer.from(input) : Uint8Array.from(input)
    t.equal(murmur2(bytes), expected, `murmur2(${JSON.stringify(input)})`)
  }
})

t.test('partitionForKey: toPositive(murmur2) mod partitions', async t => {
  // murmur2("21") = -973932308; & 0x7fffffff = 1173551340
  t.equal(partitionForKey(Buffer.from('21'), 12), 1173551340 % 12)
  t.equal(partitionForKey(Buffer.from('foobar'), 1), 0, 'one partition: always 0')
  t.equal(partitionForKey(new Uint8Array(0), 100), (murmur2(new Uint8Array(0)) & 0x7fffffff) % 100, 'empty key is a key, not null')
})

t.test('agrees with kafkajs DefaultPartitioner and @platformatic/kafka compatibilityPartitioner on random keys', async t => {
  const kafkajs = Partitioners.DefaultPartitioner()
  const metadata = (partitions: number): PartitionMetadata[] =>
    Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }))
  let checked = 0
  fc.assert(fc.property(
    fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.string({ unit: 'grapheme', maxLength: 40 }).map(s => new Uint8Array(Buffer.from(s)))),
    fc.integer({ min: 1, max: 1000 }),
    (bytes, partitions) => {
      const key = Buffer.from(bytes)
      const ours = partitionForKey(key, partitions)
      const theirs = kafkajs({ topic: 't', partitionMetadata: metadata(partitions), message: { key, value: null } })
      const platformatic = compatibilityPartitioner({ topic: 't', key }, key) % partitions
      checked++
      return ours === theirs && ours === platformatic && ours >= 0 && ours < partitions
    }
  ), { numRuns: 20_000 })
  t.equal(checked >= 20_000, true, `${checked} random keys agreed`)
})
