// A member removed from the group behind its back (here by an admin; in production by a session
// timeout) learns it from its heartbeat: its partitions are reported lost (no revoke, no commit),
// its old generation can no longer commit, and it rejoins with a new identity at the next poll.
// The same with either rebalance protocol (cooperative: lost partitions are all reported lost).
import t from 'tap'
import { Admin } from '@platformatic/kafka'
import { isRewardsError } from '../../../lib/errors.ts'
import type { TopicPartition } from '../../../log/log-port.ts'
import { brokers, kafkaLog, unique } from './kafka-test-helpers.ts'

for (const rebalanceProtocol of ['eager', 'cooperative'] as const) t.test(`${rebalanceProtocol}: a member kicked out of the group loses its partitions and rejoins`, async t => {
  const topic = unique('lost')
  const groupId = unique('group')
  const log = await kafkaLog(t, [{ name: topic, partitions: 2 }])
  const events: string[] = []
  const consumer = log.createGroupConsumer({
    groupId, clientId: 'kicked', topics: [topic], sessionTimeoutMs: 6000, rebalanceProtocol,
    listener: {
      async onPartitionsRevoked (p: TopicPartition[]) { events.push(`revoked:${p.length}`) },
      async onPartitionsAssigned (p: TopicPartition[]) { events.push(`assigned:${p.length}`) },
      async onPartitionsLost (p: TopicPartition[]) { events.push(`lost:${p.length}`) }
    }
  })
  t.teardown(() => consumer.close())
  await consumer.poll(0)
  const before = consumer.groupMetadata()!

  const admin = new Admin({ clientId: 'kicker', bootstrapBrokers: brokers })
  t.teardown(() => admin.close())
  await admin.removeMembersFromConsumerGroup({ groupId, members: [{ memberId: before.memberId }] })

  const producer = await log.createProducer({ clientId: 'eos', transactionalId: unique('eos') })
  t.teardown(() => producer.close())
  const fenced = await producer.commitTransaction({ records: [], offsets: { group: before, offsets: [{ topic, partition: 0, offset: 0n }] } }).then(() => null, (e: unknown) => e)
  t.ok(isRewardsError(fenced, 'LOG_PRODUCER_FENCED'), `the removed member's generation is fenced (${String(fenced)})`)

  const deadline = Date.now() + 30_000
  while (!events.includes('lost:2') || consumer.groupMetadata()?.memberId === before.memberId) {
    if (Date.now() > deadline) throw new Error(`not lost: ${events.join(' ')}`)
    await consumer.poll(200)
  }
  t.same(events, ['assigned:2', 'lost:2', 'assigned:2'], 'lost, never revoked, then assigned again')
  t.not(consumer.groupMetadata()!.memberId, before.memberId, 'a new member id')
  t.equal(consumer.assignment().length, 2)
})
