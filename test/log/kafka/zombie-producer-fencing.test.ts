// A new producer with the same transactional id fences the old one: the broker aborts the old
// producer's open transaction (read_committed readers move past it and never see its records)
// and the old producer's commit fails as fenced.
import t from 'tap'
import { Producer } from '@platformatic/kafka'
import { isRewardsError } from '../../../lib/errors.ts'
import { toStreamsError } from '../../../log/kafka/kafka-errors.ts'
import { brokers, kafkaLog, noopListener, pollUntil, settledEnds, text, unique } from './kafka-test-helpers.ts'

t.test('a newer producer aborts the zombie\'s open transaction and fences it', async t => {
  const topic = unique('zombie')
  const transactionalId = unique('txn')
  const log = await kafkaLog(t, [{ name: topic, partitions: 1 }])

  // Producer A: begins a transaction and sends, but never commits. It is driven directly with
  // platformatic (the port has no "leave a transaction open" operation) under the same id.
  const zombie = new Producer({ clientId: 'zombie', bootstrapBrokers: brokers, idempotent: true, transactionalId, timeout: 60_000 })
  t.teardown(() => zombie.close())
  const open = await zombie.beginTransaction()
  await open.send({ messages: [{ topic, partition: 0, key: Buffer.from('z'), value: Buffer.from('zombie-1') }, { topic, partition: 0, key: Buffer.from('z'), value: Buffer.from('zombie-2') }] })

  // While A's transaction is open, the last stable offset is stuck before it.
  const [stuck] = await log.admin.listOffsets([{ topic, partition: 0 }], 'latest')
  t.equal(stuck!.offset, 0n, 'LSO held back by the open transaction')

  // Producer B, same id, through the port: its start fences A and aborts A's transaction.
  const b = await log.createProducer({ clientId: 'b', transactionalId })
  t.teardown(() => b.close())
  await b.commitTransaction({ records: [{ topic, partition: 0, key: Buffer.from('b'), value: Buffer.from('from-b') }] })

  const [end] = await settledEnds(log, [{ topic, partition: 0, atLeast: 5n }])
  t.ok(end!.offset >= 5n, `LSO advanced past A's records, its abort marker, B's record and commit marker (${end!.offset})`)

  const consumer = log.createGroupConsumer({ groupId: unique('group'), clientId: 'c', topics: [topic], listener: noopListener })
  t.teardown(() => consumer.close())
  const records = await pollUntil(consumer, all => all.length >= 1)
  t.same(records.map(r => text(r.value)), ['from-b'], 'only B\'s record, never A\'s')
  t.equal(consumer.position({ topic, partition: 0 }), end!.offset, 'consumer reached the LSO')

  const commit = await open.commit().then(() => null, (e: unknown) => e)
  t.ok(isRewardsError(toStreamsError(commit, 'LOG_TRANSACTION_ABORTED'), 'LOG_PRODUCER_FENCED'), `A's commit fails as fenced (${String(commit)})`)

  // The same through the port: an older port producer is fenced by a newer one.
  const olderId = unique('txn')
  const older = await log.createProducer({ clientId: 'older', transactionalId: olderId })
  t.teardown(() => older.close())
  await older.commitTransaction({ records: [{ topic, partition: 0, key: null, value: Buffer.from('older-ok') }] })
  const newer = await log.createProducer({ clientId: 'newer', transactionalId: olderId })
  t.teardown(() => newer.close())
  const fenced = await older.commitTransaction({ records: [{ topic, partition: 0, key: null, value: Buffer.from('older-zombie') }] }).then(() => null, (e: unknown) => e)
  t.ok(isRewardsError(fenced, 'LOG_PRODUCER_FENCED'), `older port producer fenced (${String(fenced)})`)
  const refused = await older.commitTransaction({ records: [] }).then(() => null, (e: unknown) => e)
  t.ok(isRewardsError(refused, 'LOG_PRODUCER_FENCED'), 'and refuses further use')
  await newer.commitTransaction({ records: [{ topic, partition: 0, key: null, value: Buffer.from('newer-ok') }] })
  const more = await pollUntil(consumer, all => all.length >= 2)
  t.same(more.map(r => text(r.value)), ['older-ok', 'newer-ok'])
})
