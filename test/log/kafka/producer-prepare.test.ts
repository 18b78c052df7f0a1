// LogProducer.prepare (the first commit's look-ups made ahead, docs/benchmarks.md "fourth pass"):
// best effort, so a missing topic or an unknown group never rejects, and the producer's
// transactions work as before after it.
import t from 'tap'
import { kafkaLog, noopListener, pollUntil, unique } from './kafka-test-helpers.ts'

t.test('prepare() never rejects and the next transaction commits', async t => {
  const output = unique('prepare-out')
  const log = await kafkaLog(t, [{ name: output, partitions: 3 }])
  const producer = await log.createProducer({ clientId: 'prepare', transactionalId: unique('prepare') })
  t.teardown(() => producer.close())
  t.type(producer.prepare, 'function', 'the Kafka producer prepares')
  await t.resolves(producer.prepare!([output, unique('missing-topic')], unique('group')), 'a missing topic is skipped, not thrown')
  await producer.commitTransaction({ records: [{ topic: output, key: Buffer.from('k'), value: Buffer.from('v') }] })
  const reader = log.createGroupConsumer({ groupId: unique('reader'), clientId: 'reader', topics: [output], listener: noopListener })
  t.teardown(() => reader.close())
  const got = await pollUntil(reader, all => all.length >= 1)
  t.equal(got.length, 1, 'the transaction after prepare() is visible to read_committed readers')
})

t.test('prepare() after close() resolves without asking the broker', async t => {
  const log = await kafkaLog(t)
  const producer = await log.createProducer({ clientId: 'prepare-closed' })
  await producer.close()
  await t.resolves(producer.prepare!([unique('any')]), 'a closed producer prepares nothing')
})
