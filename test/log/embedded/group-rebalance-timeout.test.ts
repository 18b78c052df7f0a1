import t from 'tap'
import { pollUntilAssigned, recordingListener, sortTps, tempLog } from './helpers.ts'

t.test('a member that does not rejoin within rebalanceTimeoutMs is removed and the rebalance completes without it', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'in', partitions: 3 }])
  const a = log.createGroupConsumer({ groupId: 'app', clientId: 'a', topics: ['in'], listener: recordingListener([]), sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 300 })
  const b = log.createGroupConsumer({ groupId: 'app', clientId: 'b', topics: ['in'], listener: recordingListener([]), sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 300 })
  t.teardown(async () => { await a.close(); await b.close() })
  await pollUntilAssigned(a, 3)

  const started = Date.now()
  await pollUntilAssigned(b, 3)
  const waitedMs = Date.now() - started
  t.ok(waitedMs >= 250 && waitedMs < 30_000, `completed after the rebalance timeout (${waitedMs} ms)`)
  t.same(sortTps(b.assignment()), ['in-0', 'in-1', 'in-2'])
  const description = await log.admin.describeGroup('app')
  t.same(description.members.map(m => m.clientId), ['b'])
  t.equal(description.state, 'Stable')
})

t.test('a member blocked in onPartitionsRevoked past the rebalance timeout loses its membership; its late commit is fenced', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'in', partitions: 2 }])
  const tx = await log.createProducer({ clientId: 'tx', transactionalId: 'app-a' })
  let release: () => void = () => {}
  const blocked = new Promise<void>(resolve => { release = resolve })
  const kinds: string[] = []
  let lateCommit: unknown
  const a = log.createGroupConsumer({
    groupId: 'app',
    clientId: 'a',
    topics: ['in'],
    rebalanceTimeoutMs: 200,
    listener: {
      async onPartitionsRevoked (partitions) {
        kinds.push('revoked')
        await blocked
        lateCommit = await tx.commitTransaction({ records: [], offsets: { group: a.groupMetadata()!, offsets: partitions.map(tp => ({ ...tp, offset: 1n })) } }).catch((error: unknown) => error)
      },
      async onPartitionsAssigned () { kinds.push('assigned') },
      async onPartitionsLost () { kinds.push('lost') }
    }
  })
  const b = log.createGroupConsumer({ groupId: 'app', clientId: 'b', topics: ['in'], listener: recordingListener([]), rebalanceTimeoutMs: 200 })
  t.teardown(async () => { await a.close(); await b.close() })
  await pollUntilAssigned(a, 2)
  const aPoll = a.poll(60_000)
  await pollUntilAssigned(b, 2)
  t.same((await log.admin.describeGroup('app')).members.map(m => m.clientId), ['b'], 'a was removed while blocked in its callback')
  const producer = await log.createProducer({ clientId: 'p' })
  await producer.send([{ topic: 'in', partition: 0, key: null, value: null }, { topic: 'in', partition: 1, key: null, value: null }])
  release()
  // a rejoins (new member), b rebalances with it; a's poll returns once it has records.
  await Promise.all([aPoll, pollUntilAssigned(b, 1)])
  t.match(lateCommit, { code: 'LOG_PRODUCER_FENCED' }, 'the commit from the stale generation is fenced')
  t.same(await log.admin.listCommittedOffsets('app', [{ topic: 'in', partition: 0 }, { topic: 'in', partition: 1 }]), [])
  t.same(kinds, ['assigned', 'revoked', 'assigned'])
})
