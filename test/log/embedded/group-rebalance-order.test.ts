import t from 'tap'
import type { TopicPartition } from '../../../log/log-port.ts'
import { pollUntilAssigned, recordingListener, sortTps, tempLog, type ListenerEvent } from './helpers.ts'

t.test('two consumers of one group: the old owner finishes revoking before the newcomer gets any partition', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'in', partitions: 4 }])
  const order: string[] = []
  const aEvents: ListenerEvent[] = []
  const bEvents: ListenerEvent[] = []
  const tx = await log.createProducer({ clientId: 'tx', transactionalId: 'app-a' })

  let bAssignmentDuringRevoke: TopicPartition[] | undefined
  const a = log.createGroupConsumer({
    groupId: 'app',
    clientId: 'a',
    topics: ['in'],
    listener: recordingListener(aEvents, {
      onRevoked: async partitions => {
        order.push('a revoke start')
        // Give the event loop many turns: nobody may get these partitions meanwhile.
        for (let i = 0; i < 20; i++) await new Promise(resolve => setImmediate(resolve))
        bAssignmentDuringRevoke = b.assignment()
        // Committing from inside onPartitionsRevoked (current generation) is allowed.
        await tx.commitTransaction({ records: [], offsets: { group: a.groupMetadata()!, offsets: partitions.map(tp => ({ ...tp, offset: 0n })) } })
        order.push('a revoke end')
      }
    })
  })
  const b = log.createGroupConsumer({
    groupId: 'app',
    clientId: 'b',
    topics: ['in'],
    listener: {
      ...recordingListener(bEvents),
      async onPartitionsAssigned (partitions, userData) {
        order.push('b assigned')
        bEvents.push({ kind: 'assigned', partitions, userData })
      }
    }
  })
  t.teardown(async () => { await a.close(); await b.close() })

  await pollUntilAssigned(a, 4)
  t.same(sortTps(a.assignment()), ['in-0', 'in-1', 'in-2', 'in-3'], 'alone, a has every partition')
  t.equal(a.groupMetadata()!.generationId, 1)

  await Promise.all([pollUntilAssigned(a, 2), pollUntilAssigned(b, 2)])
  t.same(order, ['a revoke start', 'a revoke end', 'b assigned'], 'revocation completed before b was assigned')
  t.same(bAssignmentDuringRevoke, [], 'b held nothing while a was revoking')
  t.same(aEvents.map(e => e.kind), ['assigned', 'revoked', 'assigned'])
  t.same(sortTps(aEvents[1]!.partitions), ['in-0', 'in-1', 'in-2', 'in-3'], 'eager: a revoked everything')
  t.same([...sortTps(a.assignment()), ...sortTps(b.assignment())].sort(), ['in-0', 'in-1', 'in-2', 'in-3'], 'every partition owned exactly once')
  t.equal(a.groupMetadata()!.generationId, 2)
  t.equal(b.groupMetadata()!.generationId, 2)
  const description = await log.admin.describeGroup('app')
  t.equal(description.state, 'Stable')
  t.equal(description.members.length, 2)
})
