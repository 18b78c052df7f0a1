import t from 'tap'
import { pollUntilAssigned, recordingListener, sortTps, tempLog, type ListenerEvent } from './helpers.ts'

for (const rebalanceProtocol of ['eager', 'cooperative'] as const) t.test(`${rebalanceProtocol}: a member that stops polling (abandoned, never closed) is removed after sessionTimeoutMs; it later sees its partitions lost`, async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'in', partitions: 2 }])
  const aEvents: ListenerEvent[] = []
  const a = log.createGroupConsumer({ groupId: 'app', clientId: 'a', topics: ['in'], listener: recordingListener(aEvents), sessionTimeoutMs: 300, rebalanceTimeoutMs: 60_000, rebalanceProtocol })
  const b = log.createGroupConsumer({ groupId: 'app', clientId: 'b', topics: ['in'], listener: recordingListener([]), rebalanceProtocol })
  t.teardown(async () => { await a.close(); await b.close() })
  await pollUntilAssigned(a, 2)
  const staleMember = a.groupMetadata()!

  // a never polls again: b's join waits for it, until a's session expires.
  const started = Date.now()
  await pollUntilAssigned(b, 2)
  const waitedMs = Date.now() - started
  t.ok(waitedMs >= 250, `b waited for a's session timeout (${waitedMs} ms)`)
  t.ok(waitedMs < 30_000, 'well before the rebalance timeout')
  t.same(sortTps(b.assignment()), ['in-0', 'in-1'])
  t.same((await log.admin.describeGroup('app')).members.map(m => m.clientId), ['b'])

  const tx = await log.createProducer({ clientId: 'zombie', transactionalId: 'app-a' })
  await t.rejects(tx.commitTransaction({ records: [], offsets: { group: staleMember, offsets: [{ topic: 'in', partition: 0, offset: 1n }] } }), { code: 'LOG_PRODUCER_FENCED' }, 'the removed member is a zombie')

  // a comes back: its partitions are reported lost (no commit possible), then it rejoins
  // (cooperative: a first round gives it nothing, b still owning both partitions).
  await Promise.all([pollUntilAssigned(a, 1), pollUntilAssigned(b, 1)])
  t.same(aEvents.map(e => e.kind), rebalanceProtocol === 'eager' ? ['assigned', 'lost', 'assigned'] : ['assigned', 'lost', 'assigned', 'assigned'])
  t.same(sortTps(aEvents[1]!.partitions), ['in-0', 'in-1'])
  t.not(a.groupMetadata()!.memberId, staleMember.memberId, 'rejoined under a new member id')
})
