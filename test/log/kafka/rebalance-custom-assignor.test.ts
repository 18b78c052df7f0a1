// Two members, a custom assignor: the first member's onPartitionsRevoked is awaited before the
// second member receives any partition; the leader's per-member userData reaches every member;
// describeGroup shows both members' subscription userData and their assignments.
import t from 'tap'
import type { GroupConsumer, PartitionAssignor, RebalanceListener, TopicPartition } from '../../../log/log-port.ts'
import { kafkaLog, unique } from './kafka-test-helpers.ts'

interface Event { seq: number, at: number, who: string, what: string, partitions: number }

t.test('revocation is awaited before the partitions move; userData travels both ways', async t => {
  const topic = unique('rebalance')
  const groupId = unique('group')
  const log = await kafkaLog(t, [{ name: topic, partitions: 4 }])

  // Round-robin over the members sorted by their userData (host), and a userData for each member
  // carrying the whole partition -> host map (what the engine shares for interactive queries).
  const assignor: PartitionAssignor = ({ members, partitionsPerTopic }) => {
    const sorted = [...members].sort((a, b) => String(a.userData).localeCompare(String(b.userData)))
    const hostOf: Record<string, string> = {}
    const out = new Map<string, { partitions: TopicPartition[], userData: Buffer | null }>()
    for (const m of sorted) out.set(m.memberId, { partitions: [], userData: null })
    let i = 0
    for (const [name, count] of [...partitionsPerTopic].sort()) {
      for (let p = 0; p < count; p++) {
        const member = sorted[i++ % sorted.length]!
        out.get(member.memberId)!.partitions.push({ topic: name, partition: p })
        hostOf[`${name}/${p}`] = String(member.userData)
      }
    }
    const shared = Buffer.from(JSON.stringify({ hosts: sorted.map(m => String(m.userData)), partitions: hostOf }))
    for (const value of out.values()) value.userData = shared
    return out
  }

  const events: Event[] = []
  let seq = 0
  const received = new Map<string, string | null>()
  const listener = (who: string, revokeWorkMs: number): RebalanceListener => ({
    async onPartitionsRevoked (partitions) {
      events.push({ seq: seq++, at: Date.now(), who, what: 'revoke-start', partitions: partitions.length })
      // The engine's flush + commit: slow on purpose, to prove nobody gets these partitions early.
      await new Promise(resolve => setTimeout(resolve, revokeWorkMs))
      events.push({ seq: seq++, at: Date.now(), who, what: 'revoke-end', partitions: partitions.length })
    },
    async onPartitionsAssigned (partitions, userData) {
      events.push({ seq: seq++, at: Date.now(), who, what: 'assigned', partitions: partitions.length })
      received.set(who, userData === null ? null : userData.toString('utf8'))
    },
    async onPartitionsLost (partitions) {
      events.push({ seq: seq++, at: Date.now(), who, what: 'lost', partitions: partitions.length })
    }
  })

  const options = { groupId, topics: [topic], assignor, sessionTimeoutMs: 6000, rebalanceTimeoutMs: 30_000 }
  const a = log.createGroupConsumer({ ...options, clientId: 'member-a', userData: Buffer.from('host-a:8080'), listener: listener('a', 1500) })
  const b = log.createGroupConsumer({ ...options, clientId: 'member-b', userData: Buffer.from('host-b:8080'), listener: listener('b', 0) })

  let stop = false
  const loop = async (consumer: GroupConsumer): Promise<void> => { while (!stop) await consumer.poll(100) }
  t.teardown(async () => { stop = true; await Promise.allSettled([a.close(), b.close()]) })

  await a.poll(0)
  t.equal(a.assignment().length, 4, 'a alone owns all partitions')
  const loops = [loop(a), loop(b)]
  const deadline = Date.now() + 60_000
  // Balanced, and both members' onPartitionsAssigned of that generation have run: assignment()
  // changes just before the listener is called, so a's could still hold the solo generation's
  // userData (only host-a) when both assignments already read 2.
  const settled = (): boolean => a.assignment().length === 2 && b.assignment().length === 2 &&
    events.some(e => e.who === 'b' && e.what === 'assigned' && e.partitions > 0) &&
    events.some(e => e.who === 'a' && e.what === 'assigned' && e.partitions === 2)
  while (!settled()) {
    if (Date.now() > deadline) throw new Error(`no balanced assignment: ${JSON.stringify(events)}`)
    await new Promise(resolve => setImmediate(resolve))
    await Promise.race([...loops, new Promise(resolve => setTimeout(resolve, 50))])
  }

  const revokeEnd = events.find(e => e.who === 'a' && e.what === 'revoke-end')
  const bAssigned = events.find(e => e.who === 'b' && e.what === 'assigned' && e.partitions > 0)
  t.ok(revokeEnd !== undefined, 'a revoked its partitions')
  t.ok(bAssigned !== undefined, 'b got partitions')
  t.ok(revokeEnd!.seq < bAssigned!.seq, `b assigned (seq ${bAssigned!.seq}) after a's revocation resolved (seq ${revokeEnd!.seq})`)
  t.ok(bAssigned!.at >= revokeEnd!.at, 'and later in time')
  t.notOk(events.some(e => e.what === 'lost'), 'nothing lost')

  for (const who of ['a', 'b']) {
    const data = JSON.parse(received.get(who) ?? 'null') as { hosts: string[], partitions: Record<string, string> } | null
    t.same(data?.hosts, ['host-a:8080', 'host-b:8080'], `${who} received the leader's userData`)
    t.equal(Object.keys(data?.partitions ?? {}).length, 4)
  }
  const shared = JSON.parse(received.get('a')!) as { partitions: Record<string, string> }
  for (const tp of a.assignment()) t.equal(shared.partitions[`${tp.topic}/${tp.partition}`], 'host-a:8080')
  for (const tp of b.assignment()) t.equal(shared.partitions[`${tp.topic}/${tp.partition}`], 'host-b:8080')

  const group = await log.admin.describeGroup(groupId)
  t.equal(group.state, 'Stable')
  t.equal(group.members.length, 2)
  t.same(group.members.map(m => m.userData?.toString('utf8')).sort(), ['host-a:8080', 'host-b:8080'])
  t.same(group.members.map(m => m.clientId).sort(), ['member-a', 'member-b'])
  t.equal(group.members.flatMap(m => m.assignment).length, 4, 'assignments visible')
  const byClient = new Map(group.members.map(m => [m.clientId, m]))
  t.equal(byClient.get('member-a')!.memberId, a.groupMetadata()!.memberId)
  t.same(byClient.get('member-b')!.assignment.map(p => p.partition).sort(), b.assignment().map(p => p.partition).sort())

  stop = true
  await Promise.all(loops)
})

t.test('heartbeats keep the member in the group while the engine does not poll', async t => {
  const topic = unique('heartbeat')
  const groupId = unique('group')
  const log = await kafkaLog(t, [{ name: topic, partitions: 1 }])
  const lost: TopicPartition[][] = []
  const consumer = log.createGroupConsumer({
    groupId, clientId: 'busy', topics: [topic], sessionTimeoutMs: 6000,
    listener: { async onPartitionsRevoked () {}, async onPartitionsAssigned () {}, async onPartitionsLost (p) { lost.push(p) } }
  })
  t.teardown(() => consumer.close())
  await consumer.poll(0)
  const before = consumer.groupMetadata()!
  // Busy for longer than the session timeout (the engine processing a large batch).
  await new Promise(resolve => setTimeout(resolve, 8000))
  const group = await log.admin.describeGroup(groupId)
  t.same(group.members.map(m => m.memberId), [before.memberId], 'still a member')
  await consumer.poll(0)
  t.same(consumer.groupMetadata(), before, 'same generation: no rebalance happened')
  t.same(lost, [])
})
