// The Kafka client writes a batch's record timestamps as 64-bit zigzag varint deltas from the
// first record's. @platformatic/dynamic-buffer 0.3.1 encoded deltas of 2^31 ms (24.9 days) or more
// wrong (docs/decisions/0008-kafka-client-varint-patch.md); the project patches it at install.
// Here one batch, one partition, with records 30, 90 and 400 days apart, in both orders (a
// negative delta as well as a positive one), goes to the real broker and is read back by the
// client itself and by kafkajs (an independent decoder). Without the patch the broker refuses the
// ascending batch (a delta read as a future timestamp) or stores wrong timestamps.
import t from 'tap'
import { Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka'
import { Kafka, logLevel } from 'kafkajs'
import { adminFor, brokers, collect, createTopic, uniqueName } from './kafka-helpers.ts'

const DAY_MS = 86_400_000n

t.test('one batch with timestamps up to 400 days apart keeps every timestamp', async t => {
  const admin = adminFor(t)
  const topic = await createTopic(t, admin, { partitions: 1 })
  const now = BigInt(Date.now())
  const ascending = [now - 400n * DAY_MS, now - 90n * DAY_MS, now - 30n * DAY_MS, now]
  const descending = [now, now - 30n * DAY_MS - 1n, now - 90n * DAY_MS - 1n, now - 400n * DAY_MS - 1n]
  const sent = [...ascending.map((ts, i) => ({ value: `asc-${i}`, timestamp: ts })), ...descending.map((ts, i) => ({ value: `desc-${i}`, timestamp: ts }))]

  const producer = new Producer({ clientId: uniqueName('ts-producer'), bootstrapBrokers: brokers, idempotent: true, serializers: stringSerializers })
  t.teardown(() => producer.close())
  // One send per order: each is one record batch, the first record's timestamp its base.
  for (const batch of [sent.slice(0, 4), sent.slice(4)]) {
    await producer.send({ messages: batch.map(m => ({ topic, partition: 0, key: 'member-1', value: m.value, timestamp: m.timestamp })) })
  }

  const consumer = new Consumer({ clientId: uniqueName('ts-consumer'), groupId: uniqueName('ts-group'), bootstrapBrokers: brokers, deserializers: stringDeserializers, maxWaitTime: 200 })
  t.teardown(() => consumer.close(true))
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
  t.teardown(() => stream.close())
  const read = await collect(stream, sent.length)
  t.same(read.map(m => [m.value, m.timestamp]), sent.map(m => [m.value, m.timestamp]), '@platformatic/kafka reads back every timestamp')

  const kafka = new Kafka({ clientId: uniqueName('ts-kafkajs'), brokers, logLevel: logLevel.NOTHING })
  const reader = kafka.consumer({ groupId: uniqueName('ts-kafkajs-group') })
  await reader.connect()
  t.teardown(() => reader.disconnect())
  await reader.subscribe({ topic, fromBeginning: true })
  const independent: Array<[string, bigint]> = []
  await new Promise<void>((resolve, reject) => {
    reader.run({
      eachMessage: async ({ message }) => {
        independent.push([message.value?.toString() ?? '', BigInt(message.timestamp)])
        if (independent.length === sent.length) resolve()
      }
    }).catch(reject)
  })
  t.same(independent, sent.map(m => [m.value, m.timestamp]), 'kafkajs (an independent decoder) reads the same timestamps')
})
