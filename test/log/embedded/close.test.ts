import t from 'tap'
import { openEmbeddedLog } from '../../../log/embedded/index.ts'
import { recordingListener, tempDir } from './helpers.ts'

t.test('close() closes every client it opened, wakes pending polls, and is idempotent', async t => {
  const dir = await tempDir(t)
  const log = await openEmbeddedLog({ dir })
  await log.admin.createTopics([{ name: 'in', partitions: 1 }])
  const consumer = log.createGroupConsumer({ groupId: 'app', clientId: 'c', topics: ['in'], listener: recordingListener([]) })
  const reader = log.createPartitionReader({ clientId: 'r' })
  reader.assign([{ topic: 'in', partition: 0, offset: 0n }])
  const producer = await log.createProducer({ clientId: 'p', transactionalId: 'tx' })
  const pendingConsumerPoll = consumer.poll(60_000)
  const pendingReaderPoll = reader.poll(60_000)
  const started = Date.now()
  await Promise.all([log.close(), log.close()])
  t.same(await pendingConsumerPoll, [])
  t.same(await pendingReaderPoll, [])
  t.ok(Date.now() - started < 10_000, 'pending polls returned at once')
  await t.rejects(consumer.poll(0), { code: 'LOG_CLOSED' })
  await t.rejects(reader.poll(0), { code: 'LOG_CLOSED' })
  await t.rejects(producer.send([]), { code: 'LOG_CLOSED' })
  t.throws(() => log.createPartitionReader({ clientId: 'late' }), { code: 'LOG_CLOSED' })
  // The directory is free again.
  const again = await openEmbeddedLog({ dir })
  await again.close()
})
