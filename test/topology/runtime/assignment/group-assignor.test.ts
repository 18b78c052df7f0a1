// The leader side (docs/engine.md, "High-availability assignor"): subscriptions in, partitions and
// encoded AssignmentInfo out, members of one process sharing a client, a group with a version 1
// member, an undecodable subscription, and QueryMetadata on the result.
import t from 'tap'
import { decodeAssignmentInfo as decodeV1Assignment, encodeSubscription as encodeV1Subscription } from '../../../../topology/runtime/co-partition-assignor.ts'
import { decodeAssignmentInfo } from '../../../../topology/runtime/assignment/assignment-info.ts'
import { assignGroup, highAvailabilityPartitionAssignor, type AssignorSubtopology } from '../../../../topology/runtime/assignment/group-assignor.ts'
import { resolveHighAvailabilityConfig } from '../../../../topology/runtime/assignment/high-availability-assignor.ts'
import { QueryMetadata, withLags } from '../../../../topology/runtime/assignment/query-metadata.ts'
import { encodeSubscriptionInfo, RUNNING_OFFSET_SUM } from '../../../../topology/runtime/assignment/subscription-info.ts'
import { partitionForKey } from '../../../../log/murmur2-partitioner.ts'

const subtopologies: AssignorSubtopology[] = [
  { id: 0, sourceTopics: ['events', 'members'], stateful: true },
  { id: 1, sourceTopics: ['audit'], stateful: false }
]
const partitionsPerTopic = new Map([['events', 4], ['members', 4], ['audit', 2]])
const ends = new Map(['0_0', '0_1', '0_2', '0_3'].map(id => [id, 1000n]))
const config = resolveHighAvailabilityConfig({ numStandbyReplicas: 1 })
const sub = (processId: string, endpoint: string | null, running: string[] = [], standby: string[] = []) => encodeSubscriptionInfo({
  processId,
  endpoint,
  previousActive: running,
  previousStandby: standby,
  taskOffsetSums: new Map([...running.filter(x => x.startsWith('0_')).map(x => [x, RUNNING_OFFSET_SUM] as [string, bigint]), ...standby.map(x => [x, 1000n] as [string, bigint])])
})

t.test('every partition once, co-partitioned; members of one process share a client; info decodes', t => {
  const result = assignGroup({
    members: [
      { memberId: 'a-1', userData: sub('proc-a', 'a:8080', ['0_0', '1_0']) },
      { memberId: 'a-2', userData: sub('proc-a', 'a:8080', ['0_1']) },
      { memberId: 'b-1', userData: sub('proc-b', 'b:8080', ['0_2', '0_3', '1_1'], ['0_0', '0_1']) }
    ],
    partitionsPerTopic,
    subtopologies,
    changelogEndOffsetSums: ends,
    config,
    nowMs: 5
  })
  t.equal(result.version, 2)
  t.same(result.undecodable, [])
  const owners = new Map<string, string>()
  for (const [member, { partitions }] of result.members) {
    for (const tp of partitions) {
      const key = `${tp.topic}:${tp.partition}`
      t.notOk(owners.has(key), `${key} assigned once`)
      owners.set(key, member)
    }
  }
  t.equal(owners.size, 10)
  for (let p = 0; p < 4; p++) t.equal(owners.get(`events:${p}`), owners.get(`members:${p}`), `partition ${p} co-partitioned`)
  // proc-a has two members of three: 4 of the 6 tasks. b keeps its stateful tasks (2 of 4 is
  // within its share) so the stateless 1_1 moves to proc-a; each member keeps what it ran.
  t.same(result.memberTasks.get('a-1')!.active, ['0_0', '1_0'])
  t.same(result.memberTasks.get('a-2')!.active, ['0_1', '1_1'])
  t.same(result.memberTasks.get('b-1')!.active, ['0_2', '0_3'])
  const info = decodeAssignmentInfo(result.members.get('a-2')!.userData)
  t.same(info.activeTasks, ['0_1', '1_1'])
  t.same(info.partitionsPerSubtopology, new Map([[0, 4], [1, 2]]))
  t.same(info.hosts.get('a:8080')!.active, ['0_0', '0_1', '1_0', '1_1'])
  t.same(info.hosts.get('b:8080')!.standby, ['0_0', '0_1'])
  t.same(info.hosts.get('a:8080')!.standby, ['0_2', '0_3'])
  // Every member got its standbys.
  const standbys = [...result.memberTasks.values()].flatMap(m => m.standby).sort()
  t.same(standbys, ['0_0', '0_1', '0_2', '0_3'])

  // Query routing from the same info.
  const q = new QueryMetadata(info)
  t.same(q.allHosts(), ['a:8080', 'b:8080'])
  const key = Buffer.from('member-42')
  const hosts = q.forKey(0, key)!
  t.equal(hosts.partition, partitionForKey(key, 4))
  t.equal(hosts.task, `0_${hosts.partition}`)
  t.equal(hosts.activeHost, hosts.partition < 2 ? 'a:8080' : 'b:8080')
  t.same(hosts.standbyHosts, [{ host: hosts.partition < 2 ? 'b:8080' : 'a:8080', warmup: false }])
  t.same(withLags(hosts, (host) => host === 'a:8080' ? 0n : 12n).standbyHosts[0]!.lag, hosts.partition < 2 ? 12n : 0n)
  t.equal(q.forPartition(0, 4), null)
  t.equal(q.forPartition(7, 0), null)
  t.equal(q.forKey(7, key), null)
  t.equal(q.forPartition(1, 1)!.standbyHosts.length, 0)
  t.end()
})

t.test('a version 1 member: everyone gets version 1, no standbys, old members read it', t => {
  const result = assignGroup({
    members: [
      { memberId: 'new', userData: sub('proc-new', 'new:1', ['0_0', '0_1'], ['0_2']) },
      { memberId: 'old', userData: encodeV1Subscription({ host: 'old:1', previousTasks: ['0_2', '0_3', '1_0', '1_1'] }) }
    ],
    partitionsPerTopic,
    subtopologies,
    changelogEndOffsetSums: ends,
    config,
    nowMs: 5
  })
  t.equal(result.version, 1)
  t.same([...result.memberTasks.values()].flatMap(m => [...m.standby, ...m.warmup]), [])
  const old = decodeV1Assignment(result.members.get('old')!.userData)!
  t.equal(old.version, 1)
  t.same(old.partitions, { 0: 4, 1: 2 })
  t.equal(Object.values(old.owners).filter(h => h === 'old:1').length, 3)
  t.equal(decodeAssignmentInfo(result.members.get('new')!.userData).version, 1)
  t.end()
})

t.test('an undecodable subscription joins as a client with no state', t => {
  const result = assignGroup({
    members: [{ memberId: 'x', userData: Buffer.from([1, 2, 3]) }, { memberId: 'y', userData: null }],
    partitionsPerTopic,
    subtopologies,
    changelogEndOffsetSums: ends,
    config,
    nowMs: 5
  })
  t.same(result.undecodable.map(u => u.memberId), ['x', 'y'])
  t.equal(result.members.get('x')!.partitions.length + result.members.get('y')!.partitions.length, 10)
  t.end()
})

t.test('as a PartitionAssignor', t => {
  let seen = 0
  const assignor = highAvailabilityPartitionAssignor({ subtopologies, config, endOffsetSums: () => ends, now: () => 42, onAssignment: () => { seen++ } })
  const out = assignor({ members: [{ memberId: 'm', userData: sub('p', 'p:1') }], partitionsPerTopic })
  t.equal(out.get('m')!.partitions.length, 10)
  t.equal(decodeAssignmentInfo(out.get('m')!.userData!).activeTasks.length, 6)
  t.equal(seen, 1)
  t.end()
})

t.test('QueryMetadata: standbys before warm-ups, then by host; unknown active is null', t => {
  const q = new QueryMetadata({
    partitionsPerSubtopology: new Map([[0, 3]]),
    hosts: new Map([
      ['c:1', { active: [], standby: ['0_0'], warmup: [] }],
      ['a:1', { active: [], standby: [], warmup: ['0_0'] }],
      ['b:1', { active: ['0_0'], standby: ['0_1'], warmup: [] }],
      ['d:1', { active: [], standby: ['0_0'], warmup: [] }]
    ])
  })
  t.same(q.forPartition(0, 0), { subtopology: 0, partition: 0, task: '0_0', activeHost: 'b:1', standbyHosts: [{ host: 'c:1', warmup: false }, { host: 'd:1', warmup: false }, { host: 'a:1', warmup: true }] })
  t.same(q.forPartition(0, 2), { subtopology: 0, partition: 2, task: '0_2', activeHost: null, standbyHosts: [] })
  t.equal(q.partitions(0), 3)
  t.equal(q.partitions(1), null)
  t.same(withLags(q.forPartition(0, 2)!, () => 5n).activeLag, null)
  t.end()
})
