// Consumer-group offsets: a member commits explicit offsets (offset = next record to read), they
// read back the same through the consumer and the admin API, and a new member of the same group
// resumes right after them.
import t from 'tap'
import { Consumer, Producer, compatibilityPartitioner, stringDeserializers, stringSerializers } from '@platformatic/kafka'
import { adminFor, brokers, collect, createTopic, uniqueName } from './kafka-helpers.ts'

t.test('committed group offsets read back, and a new member resumes after them', async t => {
  const admin = adminFor(t)
  const topic = await createTopic(t, admin, { partitions: 2 })
  const groupId = uniqueName('group')

  const producer = new Producer({ clientId: uniqueName('producer'), bootstrapBrokers: brokers, idempotent: true, serializers: stringSerializers, partitioner: compatibilityPartitioner })
  t.teardown(() => producer.close())
  const produce = (batch: string, count: number): Promise<unknown> =>
    producer.send({ messages: Array.from({ length: count }, (_, i) => ({ topic, key: `member-${i}`, value: `${batch}-${i}` })) })

  const newMember = (): Consumer<string, string, string, string> => {
    const consumer = new Consumer({ clientId: uniqueName('member'), groupId, bootstrapBrokers: brokers, deserializers: stringDeserializers, maxWaitTime: 200 })
    t.teardown(() => consumer.close(true))
    return consumer
  }

  await produce('first', 8)
  const first = newMember()
  const firstStream = await first.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false })
  const firstBatch = await collect(firstStream, 8)
  t.same(firstBatch.map(m => m.value).sort(), Array.from({ length: 8 }, (_, i) => `first-${i}`).sort(), 'first member read the first batch')

  // Commit "next offset to read" per partition, from what was consumed.
  const next = new Map<number, { offset: bigint, leaderEpoch: number }>()
  for (const m of firstBatch) {
    const seen = next.get(m.partition)
    if (!seen || m.offset + 1n > seen.offset) next.set(m.partition, { offset: m.offset + 1n, leaderEpoch: m.leaderEpoch })
  }
  t.equal(next.size, 2, 'both partitions got records')
  await first.commit({ offsets: [...next].map(([partition, { offset, leaderEpoch }]) => ({ topic, partition, offset, leaderEpoch })) })

  const committed = await first.listCommittedOffsets({ topics: [{ topic, partitions: [0, 1] }] })
  t.same(committed.get(topic), [next.get(0)!.offset, next.get(1)!.offset], 'the consumer reads back the committed offsets')

  const [group] = await admin.listConsumerGroupOffsets({ groups: [groupId], requireStable: true })
  const fromAdmin = new Map(group!.topics.find(tp => tp.name === topic)!.partitions.map(p => [p.partitionIndex, p.committedOffset]))
  t.same(fromAdmin, new Map([[0, next.get(0)!.offset], [1, next.get(1)!.offset]]), 'the admin API reads back the same offsets')

  await firstStream.close()
  await first.close()

  // A new member of the same group starts from the committed offsets: it gets the second batch
  // and nothing of the first. Records of a partition arrive in offset order, so had it started
  // before the committed offsets, a first-batch record would come before the second batch's.
  await produce('second', 4)
  const second = newMember()
  const secondStream = await second.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false })
  t.teardown(() => secondStream.close())
  const secondBatch = await collect(secondStream, 4)
  t.same(secondBatch.map(m => m.value).sort(), ['second-0', 'second-1', 'second-2', 'second-3'], 'the new member resumed after the committed offsets')
  for (const m of secondBatch) {
    t.ok(m.offset >= next.get(m.partition)!.offset, `second-batch record at ${m.partition}/${m.offset} is at or after the committed offset`)
  }
})
