// Records the broker refuses, on the real broker: a record stamped more than an hour ahead
// (Kafka 4's message.timestamp.after.max.ms) and a record over the topic's max.message.bytes.
// The port names the refused records (LOG_RECORD_REFUSED, details.refused indexes into the batch),
// nothing of the transaction is visible, the producer refuses further use (platformatic's sequence
// numbers moved on), and a new producer with the same transactional id commits the rest.
import t from 'tap'
import { isRewardsError, type RewardsError } from '../../../lib/errors.ts'
import type { ProducerRecord } from '../../../log/log-port.ts'
import { kafkaLog, noopListener, pollUntil, text, unique } from './kafka-test-helpers.ts'

const HOUR = 3_600_000

t.test('INVALID_TIMESTAMP names the one record of a batch, inside a transaction', async t => {
  const topic = unique('refused-ts')
  const log = await kafkaLog(t, [{ name: topic, partitions: 2 }])
  const transactionalId = unique('txn')
  const producer = await log.createProducer({ clientId: 'p', transactionalId })
  t.teardown(() => producer.close())
  const now = Date.now()
  const records: ProducerRecord[] = [
    { topic, partition: 0, key: null, value: Buffer.from('a'), timestamp: now },
    { topic, partition: 1, key: null, value: Buffer.from('b'), timestamp: now },
    { topic, partition: 0, key: null, value: Buffer.from('future'), timestamp: now + 3 * HOUR },
    { topic, partition: 0, key: null, value: Buffer.from('c'), timestamp: now }
  ]
  const error = await producer.commitTransaction({ records }).then(() => null, (e: unknown) => e) as RewardsError | null
  t.ok(isRewardsError(error, 'LOG_RECORD_REFUSED'), `refused (${String(error)})`)
  t.equal(error?.details?.exact, true, 'the broker named the record')
  t.same((error?.details?.refused as Array<{ index: number, topic: string, partition: number, code: string }>).map(r => [r.index, r.topic, r.partition, r.code]), [[2, topic, 0, 'INVALID_TIMESTAMP']], 'exactly record 2, as INVALID_TIMESTAMP')
  const again = await producer.commitTransaction({ records: [records[0]!] }).then(() => null, (e: unknown) => e)
  t.ok(isRewardsError(again, 'LOG_RECORD_REFUSED'), 'the producer refuses further use: it must be replaced')

  const replacement = await log.createProducer({ clientId: 'p2', transactionalId })
  t.teardown(() => replacement.close())
  await replacement.commitTransaction({ records: records.filter((_, i) => i !== 2) })
  const consumer = log.createGroupConsumer({ groupId: unique('g'), clientId: 'c', topics: [topic], listener: noopListener })
  t.teardown(() => consumer.close())
  const read = await pollUntil(consumer, all => all.length >= 3)
  t.same(read.map(r => text(r.value)).sort(), ['a', 'b', 'c'], 'only the replacement\'s records, once each')
})

t.test('MESSAGE_TOO_LARGE names the partition batch; isolated, the one record', async t => {
  const topic = unique('refused-size')
  const log = await kafkaLog(t, [{ name: topic, partitions: 1, config: { 'max.message.bytes': '2000' } }])
  const transactionalId = unique('txn')
  const records: ProducerRecord[] = [
    { topic, partition: 0, key: null, value: Buffer.from('small-1') },
    { topic, partition: 0, key: null, value: Buffer.alloc(5000, 1) },
    { topic, partition: 0, key: null, value: Buffer.from('small-2') }
  ]
  const first = await log.createProducer({ clientId: 'p', transactionalId })
  t.teardown(() => first.close())
  const batchError = await first.commitTransaction({ records }).then(() => null, (e: unknown) => e) as RewardsError | null
  t.ok(isRewardsError(batchError, 'LOG_RECORD_REFUSED'), `refused (${String(batchError)})`)
  t.equal(batchError?.details?.exact, false, 'the broker names the partition batch only')
  t.same((batchError?.details?.refused as Array<{ index: number, code: string }>).map(r => [r.index, r.code]), [[0, 'MESSAGE_TOO_LARGE'], [1, 'MESSAGE_TOO_LARGE'], [2, 'MESSAGE_TOO_LARGE']], 'every record of the batch is a suspect')

  const second = await log.createProducer({ clientId: 'p2', transactionalId })
  t.teardown(() => second.close())
  const isolated = await second.commitTransaction({ records, isolate: [{ topic, partition: 0 }] }).then(() => null, (e: unknown) => e) as RewardsError | null
  t.ok(isRewardsError(isolated, 'LOG_RECORD_REFUSED'), 'refused again')
  t.same(isolated?.details?.exact, true, 'one record per request: exact')
  t.same((isolated?.details?.refused as Array<{ index: number, code: string }>).map(r => [r.index, r.code]), [[1, 'MESSAGE_TOO_LARGE']], 'the large record')
})
