import t from 'tap'
import type { PartitionAssignor, TopicPartition } from '../../../log/log-port.ts'
import { pollUntilAssigned, sortTps, tempLog } from './helpers.ts'

t.test('the assignor sees every subscription and its userData reaches each member with its assignment', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'left', partitions: 2 }, { name: 'right', partitions: 2 }])
  const seen: Array<Array<{ memberId: string, userData: string | null }>> = []
  // Co-partitioning: partition p of both topics goes to the same member; userData tells every
  // member who owns what.
  const assignor: PartitionAssignor = ({ members, partitionsPerTopic }) => {
    seen.push(members.map(m => ({ memberId: m.memberId, userData: m.userData?.toString() ?? null })))
    const ids = members.map(m => m.memberId).sort()
    const result = new Map<string, { partitions: TopicPartition[], userData: Buffer | null }>()
    const owners: string[] = []
    for (let p = 0; p < 2; p++) owners.push(members.find(m => m.memberId === ids[p % ids.length])!.userData!.toString())
    ids.forEach((id, index) => {
      const partitions: TopicPartition[] = []
      for (const [topic, count] of partitionsPerTopic) for (let p = 0; p < count; p++) if (p % ids.length === index) partitions.push({ topic, partition: p })
      result.set(id, { partitions, userData: Buffer.from(JSON.stringify(owners)) })
    })
    return result
  }
  const received = new Map<string, { partitions: TopicPartition[], userData: string | null }>()
  const consumer = (name: string) => log.createGroupConsumer({
    groupId: 'app',
    clientId: name,
    topics: ['left', 'right'],
    assignor,
    userData: Buffer.from(`${name}:8080`),
    listener: {
      async onPartitionsRevoked () {},
      async onPartitionsLost () {},
      async onPartitionsAssigned (partitions, userData) { received.set(name, { partitions, userData: userData?.toString() ?? null }) }
    }
  })
  const a = consumer('a')
  const b = consumer('b')
  t.teardown(async () => { await a.close(); await b.close() })
  await pollUntilAssigned(a, 4)
  await Promise.all([pollUntilAssigned(a, 2), pollUntilAssigned(b, 2)])
  const last = seen[seen.length - 1]!
  t.same(last.map(m => m.userData).sort(), ['a:8080', 'b:8080'], 'the assignor saw both subscriptions')
  const owners = JSON.parse(received.get('a')!.userData!) as string[]
  t.same(JSON.parse(received.get('b')!.userData!), owners, 'both members got the owner map')
  for (const name of ['a', 'b']) {
    const tps = received.get(name)!.partitions
    t.same(new Set(tps.map(tp => tp.partition)).size, 1, `${name}: the same partition of both topics (co-partitioned)`)
    t.equal(owners[tps[0]!.partition], `${name}:8080`)
  }
  t.same(sortTps([...a.assignment(), ...b.assignment()]), ['left-0', 'left-1', 'right-0', 'right-1'])
})

t.test('default assignor: contiguous ranges per topic', async t => {
  const { rangeAssignor } = await import('../../../log/range-assignor.ts')
  const result = rangeAssignor({ members: [{ memberId: 'm2', userData: null }, { memberId: 'm1', userData: null }], partitionsPerTopic: new Map([['t', 5]]) })
  t.same(result.get('m1')!.partitions.map(tp => tp.partition), [0, 1, 2])
  t.same(result.get('m2')!.partitions.map(tp => tp.partition), [3, 4])
})
