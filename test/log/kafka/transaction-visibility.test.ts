// Records of a committed transaction are visible to read_committed consumers; records of an
// aborted one never are (here aborted because its offset commit names a member the group does
// not know: the producer is then fenced and refuses further use).
import t from 'tap'
import { isRewardsError } from '../../../lib/errors.ts'
import { kafkaLog, noopListener, pollUntil, text, unique } from './kafka-test-helpers.ts'

t.test('committed transactions are visible, aborted ones never', async t => {
  const topic = unique('txn-visibility')
  const log = await kafkaLog(t, [{ name: topic, partitions: 2 }])
  const committer = await log.createProducer({ clientId: 'p1', transactionalId: unique('txn') })
  t.teardown(() => committer.close())
  const aborter = await log.createProducer({ clientId: 'p2', transactionalId: unique('txn') })
  t.teardown(() => aborter.close())

  const first = await committer.commitTransaction({ records: [{ topic, key: Buffer.from('a'), value: Buffer.from('committed-1') }, { topic, key: Buffer.from('b'), value: Buffer.from('committed-2') }] })
  t.equal(first.length, 2)

  const error = await aborter.commitTransaction({
    records: [{ topic, key: Buffer.from('a'), value: Buffer.from('aborted-1') }, { topic, key: Buffer.from('b'), value: Buffer.from('aborted-2') }],
    offsets: { group: { groupId: unique('nobody'), generationId: 7, memberId: 'not-a-member' }, offsets: [{ topic, partition: 0, offset: 1n }] }
  }).then(() => null, (e: unknown) => e)
  t.ok(isRewardsError(error, 'LOG_PRODUCER_FENCED'), `stale member rejected as fenced (${String(error)})`)
  const again = await aborter.commitTransaction({ records: [{ topic, key: Buffer.from('c'), value: Buffer.from('never') }] }).then(() => null, (e: unknown) => e)
  t.ok(isRewardsError(again, 'LOG_PRODUCER_FENCED'), 'a fenced producer refuses further use')

  await committer.commitTransaction({ records: [{ topic, key: Buffer.from('a'), value: Buffer.from('committed-3') }] })

  const consumer = log.createGroupConsumer({ groupId: unique('group'), clientId: 'c', topics: [topic], listener: noopListener })
  t.teardown(() => consumer.close())
  const records = await pollUntil(consumer, all => all.length >= 3)
  t.same(records.map(r => text(r.value)).sort(), ['committed-1', 'committed-2', 'committed-3'])
  // Everything up to the last stable offset has been read: no aborted record hides behind.
  const latest = await log.admin.listOffsets([{ topic, partition: 0 }, { topic, partition: 1 }], 'latest')
  for (const end of latest) t.equal(consumer.position(end), end.offset, `position at the LSO of partition ${end.partition}`)
  t.same(await consumer.poll(300), [], 'nothing more to read')
})
