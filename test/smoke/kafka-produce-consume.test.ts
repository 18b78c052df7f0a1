// The broker works with @platformatic/kafka: records produced with keys, values and headers come
// back unchanged, in order per partition, through a consumer group.
import t from 'tap'
import { Consumer, Producer, stringDeserializers, stringSerializers, compatibilityPartitioner } from '@platformatic/kafka'
import { adminFor, brokers, collect, createTopic, uniqueName } from './kafka-helpers.ts'

t.test('produce and consume through the broker with @platformatic/kafka', async t => {
  const admin = adminFor(t)
  const topic = await createTopic(t, admin, { partitions: 3 })

  const producer = new Producer({ clientId: uniqueName('producer'), bootstrapBrokers: brokers, idempotent: true, serializers: stringSerializers, partitioner: compatibilityPartitioner })
  t.teardown(() => producer.close())
  const sent = Array.from({ length: 30 }, (_, i) => ({
    topic,
    key: `member-${i % 7}`,
    value: JSON.stringify({ eventId: `e-${i}`, amountCents: i * 100 }),
    headers: { 'trace-id': `t-${i}` }
  }))
  const result = await producer.send({ messages: sent })
  t.ok((result.offsets ?? []).length > 0, 'the broker acknowledged the records with offsets')
  // Exactly one copy of each record is in the log. (A non-idempotent @platformatic/kafka 2.12.1
  // producer writes duplicates here: it resends the whole request when a partition of the new
  // topic answers NOT_LEADER. The idempotent producer's sequence numbers let the broker drop them.)
  const [ends] = await admin.listOffsets({ topics: [{ name: topic, partitions: [0, 1, 2].map(partitionIndex => ({ partitionIndex, timestamp: -1n })) }] })
  t.equal(ends!.partitions.reduce((sum, p) => sum + p.offset, 0n), BigInt(sent.length), 'the log holds each record once')

  const consumer = new Consumer({
    clientId: uniqueName('consumer'),
    groupId: uniqueName('group'),
    bootstrapBrokers: brokers,
    deserializers: stringDeserializers,
    maxWaitTime: 200
  })
  t.teardown(() => consumer.close(true))
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
  t.teardown(() => stream.close())
  const received = await collect(stream, sent.length)

  t.equal(received.length, sent.length, 'every record arrived')
  t.same(
    received.map(m => ({ key: m.key, value: m.value, trace: m.headers.get('trace-id') })).sort((a, b) => a.value!.localeCompare(b.value!)),
    sent.map(m => ({ key: m.key, value: m.value, trace: m.headers['trace-id'] })).sort((a, b) => a.value.localeCompare(b.value)),
    'keys, values and headers are unchanged'
  )
  // Per key, the order of sending is the order of reading (one key -> one partition).
  for (const key of new Set(sent.map(m => m.key))) {
    const partitions = new Set(received.filter(m => m.key === key).map(m => m.partition))
    t.equal(partitions.size, 1, `${key} went to one partition`)
    t.same(received.filter(m => m.key === key).map(m => m.value), sent.filter(m => m.key === key).map(m => m.value), `${key}: order kept`)
  }
})
