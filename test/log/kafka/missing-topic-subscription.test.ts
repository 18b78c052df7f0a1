// A group subscribed to a topic that does not exist yet forms anyway: the missing topic simply
// has no partitions, and the existing ones are assigned.
import t from 'tap'
import { kafkaLog, noopListener, unique } from './kafka-test-helpers.ts'

t.test('subscribing to a missing topic assigns only the existing ones', async t => {
  const topic = unique('present')
  const log = await kafkaLog(t, [{ name: topic, partitions: 2 }])
  const consumer = log.createGroupConsumer({ groupId: unique('group'), clientId: 'c', topics: [topic, unique('absent')], listener: noopListener })
  t.teardown(() => consumer.close())
  t.same(await consumer.poll(100), [])
  t.same(consumer.assignment().map(tp => tp.topic), [topic, topic])
})
