// An independent client (kafkajs) reads what @platformatic/kafka wrote: same keys, values and
// headers, and every key on the partition Kafka's default (Java) murmur2 partitioner gives it —
// as computed by log/murmur2-partitioner.ts, by @platformatic/kafka's compatibilityPartitioner
// and by kafkajs's DefaultPartitioner.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { Producer, compatibilityPartitioner } from '@platformatic/kafka'
import { Kafka, Partitioners, logLevel } from 'kafkajs'
import type { KafkaMessage, PartitionMetadata } from 'kafkajs'
import { partitionForKey } from '../../log/murmur2-partitioner.ts'
import { adminFor, brokers, createTopic, uniqueName } from './kafka-helpers.ts'

const PARTITIONS = 6

t.test('kafkajs reads what @platformatic/kafka wrote, on the partitions of Java\'s murmur2', async t => {
  const admin = adminFor(t)
  const topic = await createTopic(t, admin, { partitions: PARTITIONS })

  // idempotent: without it, @platformatic/kafka 2.12.1 resends a whole multi-partition request when
  // one partition answers NOT_LEADER (as partitions of a just-created topic do), duplicating the
  // records of the partitions that had succeeded. The broker's sequence numbers drop the copies.
  const producer = new Producer({ clientId: uniqueName('producer'), bootstrapBrokers: brokers, idempotent: true, partitioner: compatibilityPartitioner })
  t.teardown(() => producer.close())
  // Random member-like keys of varied lengths (all four murmur2 tail cases), plus non-ASCII.
  const keys = [...Array.from({ length: 60 }, (_, i) => `m${i}-${randomBytes(i % 9).toString('hex')}`), 'Zoë-😀', 'a', '']
  const sent = keys.map((key, i) => ({
    topic,
    key: Buffer.from(key),
    value: Buffer.from(JSON.stringify({ i, key })),
    headers: new Map([[Buffer.from('error.code'), Buffer.from(`code-${i}`)], [Buffer.from('bin'), randomBytes(4)]])
  }))
  await producer.send({ messages: sent })

  const kafka = new Kafka({ clientId: uniqueName('kafkajs'), brokers, logLevel: logLevel.NOTHING })
  const consumer = kafka.consumer({ groupId: uniqueName('kafkajs-group'), maxWaitTimeInMs: 200 })
  t.teardown(() => consumer.disconnect())
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const received: Array<{ partition: number, message: KafkaMessage }> = []
  await new Promise<void>((resolve, reject) => {
    consumer.run({
      eachMessage: async ({ partition, message }) => {
        received.push({ partition, message })
        if (received.length === sent.length) resolve()
      }
    }).catch(reject)
  })

  const javaPartitioner = Partitioners.DefaultPartitioner()
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: PARTITIONS }, (_, partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }))
  const byKey = new Map(received.map(r => [r.message.key?.toString('utf8') ?? null, r]))
  t.equal(byKey.size, sent.length, 'every record arrived once')
  for (const [i, message] of sent.entries()) {
    const key = message.key.toString('utf8')
    const got = byKey.get(key)
    if (!got) {
      t.fail(`record of key ${JSON.stringify(key)} missing`)
      continue
    }
    const expected = partitionForKey(message.key, PARTITIONS)
    t.equal(got.message.value?.toString(), message.value.toString(), `value of ${JSON.stringify(key)}`)
    t.same(Object.keys(got.message.headers ?? {}).sort(), ['bin', 'error.code'], `header names of ${JSON.stringify(key)}`)
    t.same(got.message.headers?.['error.code'], Buffer.from(`code-${i}`), 'text header')
    t.same(got.message.headers?.bin, message.headers.get([...message.headers.keys()][1]!), 'binary header')
    t.equal(got.partition, expected, `${JSON.stringify(key)} is on partitionForKey's partition ${expected}`)
    t.equal(compatibilityPartitioner(message, message.key) % PARTITIONS, expected, 'compatibilityPartitioner agrees')
    t.equal(javaPartitioner({ topic, partitionMetadata, message: { key: message.key, value: message.value } }), expected, 'kafkajs DefaultPartitioner agrees')
  }
})
