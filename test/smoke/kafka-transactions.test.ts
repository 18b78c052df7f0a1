// Kafka transactions work end to end: a committed transaction is visible to a read_committed
// consumer, an aborted one is not. The aborted records are really in the log (a read_uncommitted
// consumer sees them), so this fails both if transactions do not work and if the consumer does
// not actually read committed.
import t from 'tap'
import { Consumer, FetchIsolationLevels, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka'
import { adminFor, brokers, collectUntil, createTopic, uniqueName } from './kafka-helpers.ts'

t.test('read_committed sees committed transactions only; read_uncommitted also sees the aborted one', async t => {
  const admin = adminFor(t)
  // One partition: the order of the log is the order of the transactions.
  const topic = await createTopic(t, admin, { partitions: 1 })

  const producer = new Producer({
    clientId: uniqueName('tx-producer'),
    bootstrapBrokers: brokers,
    idempotent: true,
    transactionalId: uniqueName('tx'),
    serializers: stringSerializers
  })
  t.teardown(() => producer.close())

  const send = async (values: string[], outcome: 'commit' | 'abort'): Promise<void> => {
    const transaction = await producer.beginTransaction()
    await transaction.send({ messages: values.map(value => ({ topic, key: 'member-1', value })) })
    if (outcome === 'commit') await transaction.commit()
    else await transaction.abort()
    t.ok(transaction.completed, `transaction ${outcome === 'commit' ? 'committed' : 'aborted'}`)
  }
  await send(['committed-1', 'committed-2'], 'commit')
  await send(['aborted-1', 'aborted-2', 'aborted-3'], 'abort')
  // A committed transaction after the aborted one: reading up to it proves the read_committed
  // consumer went past the aborted records rather than stopping before them.
  await send(['committed-3'], 'commit')

  const readAll = async (isolationLevel: number): Promise<string[]> => {
    const consumer = new Consumer({
      clientId: uniqueName('tx-consumer'),
      groupId: uniqueName('tx-group'),
      bootstrapBrokers: brokers,
      deserializers: stringDeserializers,
      isolationLevel,
      maxWaitTime: 200
    })
    t.teardown(() => consumer.close(true))
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
    t.teardown(() => stream.close())
    const messages = await collectUntil(stream, received => received.at(-1)?.value === 'committed-3')
    return messages.map(m => m.value ?? '')
  }

  t.same(await readAll(FetchIsolationLevels.READ_COMMITTED), ['committed-1', 'committed-2', 'committed-3'],
    'read_committed: only the committed records, in order')
  t.same(await readAll(FetchIsolationLevels.READ_UNCOMMITTED), ['committed-1', 'committed-2', 'aborted-1', 'aborted-2', 'aborted-3', 'committed-3'],
    'read_uncommitted: the aborted records are in the log too')

  // The log end (high watermark) counts the aborted records and the three commit/abort markers:
  // 2 + 1 marker + 3 + 1 marker + 1 + 1 marker = 9.
  const [listed] = await admin.listOffsets({ topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -1n }] }] })
  t.equal(listed?.partitions[0]?.offset, 9n, 'log end offset includes aborted records and control markers')
})
