import t from 'tap'
import { buf, pollUntil, pollUntilAssigned, recordingListener, tempLog, text } from './helpers.ts'

t.test('poll respects maxPollRecords, pause/resume and seek, and starts from the committed offset', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'in', partitions: 2 }])
  const producer = await log.createProducer({ clientId: 'p' })
  await producer.send([0, 1].flatMap(partition => Array.from({ length: 10 }, (_, i) => ({ topic: 'in', partition, key: null, value: buf(`${partition}:${i}`) }))))
  await log.admin.alterCommittedOffsets('app', [{ topic: 'in', partition: 0, offset: 4n }]) // allowed: no member yet

  const consumer = log.createGroupConsumer({ groupId: 'app', clientId: 'c', topics: ['in'], listener: recordingListener([]), maxPollRecords: 3 })
  t.teardown(() => consumer.close())
  const first = await pollUntilAssigned(consumer, 2)
  t.ok(first.length <= 3, 'at most maxPollRecords per poll')
  await t.rejects(log.admin.alterCommittedOffsets('app', [{ topic: 'in', partition: 0, offset: 0n }]), { code: 'LOG_GROUP_NOT_EMPTY' })

  consumer.seek({ topic: 'in', partition: 0, offset: 4n })
  consumer.seek({ topic: 'in', partition: 1, offset: 0n })
  t.equal(consumer.position({ topic: 'in', partition: 0 }), 4n)

  consumer.pause([{ topic: 'in', partition: 1 }])
  const fromZero = await pollUntil(ms => consumer.poll(ms), 6)
  t.ok(fromZero.every(r => r.partition === 0), 'paused partition returns nothing')
  t.same(fromZero.map(r => text(r.value)), ['0:4', '0:5', '0:6', '0:7', '0:8', '0:9'], 'from the committed offset, in order')
  t.equal(consumer.position({ topic: 'in', partition: 0 }), 10n)
  t.same(await consumer.poll(0), [], 'nothing more while partition 1 is paused')

  consumer.resume([{ topic: 'in', partition: 1 }])
  consumer.seek({ topic: 'in', partition: 1, offset: 8n })
  const fromOne = await pollUntil(ms => consumer.poll(ms), 2)
  t.same(fromOne.map(r => text(r.value)), ['1:8', '1:9'], 'resumed, from the sought offset')

  t.throws(() => consumer.seek({ topic: 'in', partition: 5, offset: 0n }), { code: 'TASK_MIGRATED' })
  t.throws(() => consumer.position({ topic: 'other', partition: 0 }), { code: 'TASK_MIGRATED' })
})

t.test('a group consumer waiting in poll wakes up promptly when a record arrives', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'in', partitions: 1 }])
  const consumer = log.createGroupConsumer({ groupId: 'app', clientId: 'c', topics: ['in'], listener: recordingListener([]) })
  t.teardown(() => consumer.close())
  await pollUntilAssigned(consumer, 1)
  const started = Date.now()
  const polled = consumer.poll(30_000)
  const producer = await log.createProducer({ clientId: 'p' })
  await producer.send([{ topic: 'in', key: buf('k'), value: buf('v') }])
  const records = await polled
  t.equal(records.length, 1)
  t.ok(Date.now() - started < 5000, 'well before the 30 s wait')
})

t.test('a consumer subscribed to a topic created later gets its partitions', async t => {
  const { log } = await tempLog(t)
  const consumer = log.createGroupConsumer({ groupId: 'app', clientId: 'c', topics: ['later'], listener: recordingListener([]) })
  t.teardown(() => consumer.close())
  t.same(await consumer.poll(0), [])
  t.same(consumer.assignment(), [])
  await log.admin.createTopics([{ name: 'later', partitions: 2 }])
  await pollUntilAssigned(consumer, 2)
  t.equal(consumer.groupMetadata()!.generationId, 2)
})
