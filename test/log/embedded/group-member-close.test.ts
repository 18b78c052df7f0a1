import t from 'tap'
import { buf, pollUntil, pollUntilAssigned, recordingListener, sortTps, tempLog, type ListenerEvent } from './helpers.ts'

t.test('the group survives a member closing: the other takes over from the committed offsets', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'in', partitions: 2 }])

  const aEvents: ListenerEvent[] = []
  const bEvents: ListenerEvent[] = []
  const a = log.createGroupConsumer({ groupId: 'app', clientId: 'a', topics: ['in'], listener: recordingListener(aEvents) })
  const b = log.createGroupConsumer({ groupId: 'app', clientId: 'b', topics: ['in'], listener: recordingListener(bEvents) })
  t.teardown(async () => { await a.close(); await b.close() })
  await pollUntilAssigned(a, 2)
  await Promise.all([pollUntilAssigned(a, 1), pollUntilAssigned(b, 1)])
  const aPartition = a.assignment()[0]!
  t.equal(a.position(aPartition), 0n, 'starts at earliest when the group has no offset')
  const producer = await log.createProducer({ clientId: 'p' })
  await producer.send([0, 1].flatMap(partition => [1, 2, 3].map(i => ({ topic: 'in', partition, key: buf(`k${i}`), value: buf(`${partition}:${i}`) }))))
  await a.commitOffsets([{ ...aPartition, offset: 2n }])

  await a.close()
  t.same((await log.admin.describeGroup('app')).members.map(m => m.clientId), ['b'])
  const records = await pollUntilAssigned(b, 2)
  t.same(sortTps(b.assignment()), ['in-0', 'in-1'])
  t.equal(b.position(aPartition) >= 2n, true, 'b resumes a\'s partition from its committed offset')
  records.push(...await pollUntil(ms => b.poll(ms), 4 - records.length))
  const fromA = records.filter(r => r.partition === aPartition.partition).map(r => r.offset)
  t.same(fromA, [2n], 'only the record after the committed offset of a\'s partition')
  t.same(bEvents.map(e => e.kind), ['assigned', 'revoked', 'assigned'])
  t.same(aEvents.map(e => e.kind), ['assigned', 'revoked', 'assigned'], 'close() runs no callback')
  await t.rejects(a.poll(0), { code: 'LOG_CLOSED' })
})
