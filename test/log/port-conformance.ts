// The log port's contract, exercised generically: every backend (log/kafka, log/embedded) runs
// this suite from its own test file with a factory for a fresh Log:
//
//   import t from 'tap'
//   import { runPortConformance } from '../port-conformance.ts'
//   runPortConformance(t, async () => createXLog(...))
//
// Each scenario creates its own Log and uniquely named topics and groups, deletes its topics and
// closes the Log at the end. No fixed sleeps: every wait polls a condition with a deadline.
import { randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import { isRewardsError } from '../../lib/errors.ts'
import type { GroupConsumer, GroupConsumerOptions, Log, LogRecord, PartitionAssignor, PartitionOffset, PartitionReader, RebalanceListener, TopicPartition, TopicSpec } from '../../log/log-port.ts'
import { partitionForKey } from '../../log/murmur2-partitioner.ts'

// Record timestamps near now: a broker's time-based retention (7 days) deletes older records.
const T0 = Date.now()

export type LogFactory = () => Promise<Log>

function unique (prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`
}

function text (value: Buffer | null): string | null {
  return value === null ? null : value.toString('utf8')
}

const noopListener: RebalanceListener = {
  async onPartitionsRevoked () {},
  async onPartitionsAssigned () {},
  async onPartitionsLost () {}
}

async function setUp (t: Test, makeLog: LogFactory, topics: TopicSpec[]): Promise<Log> {
  const log = await makeLog()
  if (topics.length > 0) await log.admin.createTopics(topics)
  t.teardown(async () => {
    if (topics.length > 0) await log.admin.deleteTopics(topics.map(topic => topic.name)).catch(() => undefined)
    await log.close()
  })
  return log
}

function consumerOf (t: Test, log: Log, options: Partial<GroupConsumerOptions> & { groupId: string, topics: string[] }): GroupConsumer {
  const consumer = log.createGroupConsumer({ clientId: unique('member'), listener: noopListener, ...options })
  t.teardown(() => consumer.close())
  return consumer
}

async function pollUntil (source: GroupConsumer | PartitionReader, until: (records: LogRecord[]) => boolean, budgetMs = 30_000): Promise<LogRecord[]> {
  const records: LogRecord[] = []
  const deadline = Date.now() + budgetMs
  while (!until(records)) {
    if (Date.now() > deadline) throw new Error(`condition not met after ${budgetMs} ms (${records.length} records)`)
    records.push(...await source.poll(100))
  }
  return records
}

async function rejection (promise: Promise<unknown>): Promise<unknown> {
  return await promise.then(() => null, (error: unknown) => error)
}

function byPartition (a: TopicPartition, b: TopicPartition): number {
  return a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1
}

export function runPortConformance (t: Test, makeLog: LogFactory): void {
  t.test('admin: topics', async t => {
    const log = await setUp(t, makeLog, [])
    const compacted = unique('conf-compact')
    const plain = unique('conf-plain')
    t.teardown(() => log.admin.deleteTopics([compacted, plain]).catch(() => undefined))
    await log.admin.createTopics([{ name: compacted, partitions: 3, config: { 'cleanup.policy': 'compact' } }, { name: plain, partitions: 2 }])
    await log.admin.createTopics([{ name: compacted, partitions: 7 }])
    t.same((await log.admin.describeTopics([plain, compacted, unique('missing')])).sort((x, y) => x.partitions - y.partitions), [{ name: plain, partitions: 2 }, { name: compacted, partitions: 3 }], 'existing topics left as they are; missing ones left out')
    const listed = await log.admin.listTopics()
    t.ok(listed.includes(compacted) && listed.includes(plain))
    await log.admin.deleteTopics([plain, unique('missing')])
    t.notOk((await log.admin.listTopics()).includes(plain), 'deleted, missing ignored')
    t.same(await log.admin.listOffsets([{ topic: compacted, partition: 0 }], 'latest'), [{ topic: compacted, partition: 0, offset: 0n }])
  })

  t.test('produce: murmur2 partitions, offsets, tombstones, headers', async t => {
    const topic = unique('conf-produce')
    const log = await setUp(t, makeLog, [{ name: topic, partitions: 4 }])
    const producer = await log.createProducer({ clientId: 'p' })
    t.teardown(() => producer.close())
    const keys = Array.from({ length: 24 }, (_, i) => `key-${i}`)
    const sent = await producer.send(keys.map((key, i) => ({ topic, key: Buffer.from(key), value: Buffer.from(String(i)), headers: { h: Buffer.from(`h${i}`) }, timestamp: T0 + i })))
    keys.forEach((key, i) => t.equal(sent[i]!.partition, partitionForKey(Buffer.from(key), 4), `partition of ${key}`))
    for (let p = 0; p < 4; p++) {
      const offsets = sent.filter(s => s.partition === p).map(s => s.offset)
      t.same(offsets, offsets.map((_, i) => BigInt(i)), `partition ${p}: offsets 0.. in send order`)
    }
    const [tombstone] = await producer.send([{ topic, partition: 3, key: Buffer.from('deleted'), value: null }])
    t.equal(tombstone!.partition, 3)
    const latest = await log.admin.listOffsets([0, 1, 2, 3].map(partition => ({ topic, partition })), 'latest')
    t.same(latest.map(o => o.offset), [0, 1, 2, 3].map(p => BigInt(sent.filter(s => s.partition === p).length + (p === 3 ? 1 : 0))))
    const missing = await rejection(producer.send([{ topic: unique('no-such-topic'), key: null, value: Buffer.from('x') }]))
    t.ok(isRewardsError(missing, 'LOG_TOPIC_NOT_FOUND'), 'unknown topic')

    const reader = log.createPartitionReader({ clientId: 'check' })
    t.teardown(() => reader.close())
    reader.assign([0, 1, 2, 3].map(partition => ({ topic, partition, offset: 0n })))
    const records = await pollUntil(reader, all => all.length >= keys.length + 1)
    for (const record of records) {
      if (record.value === null) {
        t.equal(text(record.key), 'deleted', 'tombstone kept its null value')
        continue
      }
      const i = Number(text(record.value))
      t.same({ partition: record.partition, offset: record.offset, key: text(record.key), header: text(record.headers.h ?? null), timestamp: record.timestamp },
        { partition: sent[i]!.partition, offset: sent[i]!.offset, key: keys[i], header: `h${i}`, timestamp: T0 + i })
    }
  })

  t.test('group consumer: reads everything, pause / resume / seek / position, commitOffsets', async t => {
    const topic = unique('conf-consume')
    const groupId = unique('conf-group')
    const log = await setUp(t, makeLog, [{ name: topic, partitions: 2 }])
    const producer = await log.createProducer({ clientId: 'p' })
    t.teardown(() => producer.close())
    await producer.send(Array.from({ length: 10 }, (_, i) => ({ topic, partition: i % 2, key: null, value: Buffer.from(String(i)) })))
    const consumer = consumerOf(t, log, { groupId, topics: [topic], maxPollRecords: 3 })
    t.equal(consumer.groupMetadata(), null, 'no identity before joining')
    const first = await pollUntil(consumer, all => all.length > 0)
    t.ok(first.length <= 3, 'maxPollRecords bounds a poll')
    t.same(consumer.assignment().sort(byPartition), [{ topic, partition: 0 }, { topic, partition: 1 }])
    const metadata = consumer.groupMetadata()
    t.ok(metadata !== null && metadata.groupId === groupId && metadata.memberId !== '', 'identity after joining')
    const all = [...first, ...await pollUntil(consumer, rest => first.length + rest.length >= 10)]
    t.same(all.map(r => Number(text(r.value))).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    for (const p of [0, 1]) {
      const offsets = all.filter(r => r.partition === p).map(r => r.offset)
      t.same(offsets, [0n, 1n, 2n, 3n, 4n], `partition ${p} in order`)
      t.equal(consumer.position({ topic, partition: p }), 5n)
    }

    consumer.seek({ topic, partition: 0, offset: 3n })
    consumer.pause([{ topic, partition: 1 }])
    t.equal(consumer.position({ topic, partition: 0 }), 3n, 'seek moves the position')
    await producer.send([{ topic, partition: 1, key: null, value: Buffer.from('while-paused') }])
    const afterSeek = await pollUntil(consumer, got => got.length >= 2)
    t.same(afterSeek.map(r => [r.partition, r.offset]), [[0, 3n], [0, 4n]], 'records from the seek offset; paused partition not returned')
    t.same(await consumer.poll(200), [], 'nothing else while paused')
    consumer.resume([{ topic, partition: 1 }])
    const resumed = await pollUntil(consumer, got => got.length >= 1)
    t.same(resumed.map(r => text(r.value)), ['while-paused'])

    await consumer.commitOffsets([{ topic, partition: 0, offset: 5n }, { topic, partition: 1, offset: 6n }])
    t.same((await log.admin.listCommittedOffsets(groupId, [{ topic, partition: 0 }, { topic, partition: 1 }])).sort(byPartition), [{ topic, partition: 0, offset: 5n }, { topic, partition: 1, offset: 6n }])
    await consumer.close()
    t.equal((await log.admin.describeGroup(groupId)).members.length, 0, 'close left the group')
  })

  t.test('transactions: commit is visible, a fenced (stale generation) transaction aborts', async t => {
    const input = unique('conf-txn-in')
    const output = unique('conf-txn-out')
    const groupId = unique('conf-group')
    const log = await setUp(t, makeLog, [{ name: input, partitions: 2 }, { name: output, partitions: 1 }])
    const feeder = await log.createProducer({ clientId: 'feeder' })
    t.teardown(() => feeder.close())
    await feeder.send(Array.from({ length: 6 }, (_, i) => ({ topic: input, partition: i % 2, key: null, value: Buffer.from(String(i)) })))

    const member1 = consumerOf(t, log, { groupId, topics: [input], clientId: 'm1' })
    const consumed = await pollUntil(member1, all => all.length >= 6)
    const stale = member1.groupMetadata()!
    const eos = await log.createProducer({ clientId: 'eos', transactionalId: unique('eos') })
    t.teardown(() => eos.close())
    const next: PartitionOffset[] = [0, 1].map(partition => ({ topic: input, partition, offset: 3n }))
    const written = await eos.commitTransaction({ records: consumed.map(r => ({ topic: output, partition: 0, key: null, value: Buffer.from(`out-${text(r.value)}`) })), offsets: { group: stale, offsets: next } })
    t.same(written.map(w => w.offset), [0n, 1n, 2n, 3n, 4n, 5n], 'offsets of the transaction\'s records')
    t.same((await log.admin.listCommittedOffsets(groupId, [{ topic: input, partition: 0 }, { topic: input, partition: 1 }])).sort(byPartition), next, 'offsets committed with the records')

    // A second member joins: member 1's generation becomes stale once the group rebalanced.
    const member2 = consumerOf(t, log, { groupId, topics: [input], clientId: 'm2' })
    const joining = member2.poll(0)
    await pollUntil(member1, () => member1.groupMetadata()!.generationId !== stale.generationId, 30_000)
    await joining
    t.equal(member1.assignment().length + member2.assignment().length, 2, 'partitions split')

    const zombie = await rejection(eos.commitTransaction({ records: [{ topic: output, partition: 0, key: null, value: Buffer.from('from-stale-generation') }], offsets: { group: stale, offsets: [{ topic: input, partition: 0, offset: 6n }] } }))
    t.ok(isRewardsError(zombie, 'LOG_PRODUCER_FENCED'), `stale generation fenced (${String(zombie)})`)
    t.ok(isRewardsError(await rejection(eos.commitTransaction({ records: [] })), 'LOG_PRODUCER_FENCED'), 'the fenced producer refuses further use')
    t.same((await log.admin.listCommittedOffsets(groupId, [{ topic: input, partition: 0 }])), [{ topic: input, partition: 0, offset: 3n }], 'fenced offsets not committed')

    const reader = log.createPartitionReader({ clientId: 'check' })
    t.teardown(() => reader.close())
    reader.assign([{ topic: output, partition: 0, offset: 0n }])
    const [end] = await log.admin.listOffsets([{ topic: output, partition: 0 }], 'latest')
    const outputs = await pollUntil(reader, () => reader.position({ topic: output, partition: 0 }) >= end!.offset)
    t.same(outputs.map(r => text(r.value)), consumed.map(r => `out-${text(r.value)}`), 'committed records visible, the aborted one never')
  })

  t.test('transactions: a newer producer with the same id fences the older one', async t => {
    const topic = unique('conf-fence')
    const transactionalId = unique('conf-txn')
    const log = await setUp(t, makeLog, [{ name: topic, partitions: 1 }])
    const older = await log.createProducer({ clientId: 'older', transactionalId })
    t.teardown(() => older.close())
    await older.commitTransaction({ records: [{ topic, partition: 0, key: null, value: Buffer.from('older-1') }] })
    const newer = await log.createProducer({ clientId: 'newer', transactionalId })
    t.teardown(() => newer.close())
    const fenced = await rejection(older.commitTransaction({ records: [{ topic, partition: 0, key: null, value: Buffer.from('zombie') }] }))
    t.ok(isRewardsError(fenced, 'LOG_PRODUCER_FENCED'), `older producer fenced (${String(fenced)})`)
    await newer.commitTransaction({ records: [{ topic, partition: 0, key: null, value: Buffer.from('newer-1') }] })
    const consumer = consumerOf(t, log, { groupId: unique('conf-group'), topics: [topic] })
    const [end] = await log.admin.listOffsets([{ topic, partition: 0 }], 'latest')
    const records = await pollUntil(consumer, () => consumer.assignment().length > 0 && consumer.position({ topic, partition: 0 }) >= end!.offset)
    t.same(records.map(r => text(r.value)), ['older-1', 'newer-1'], 'the zombie\'s record never visible')
  })

  t.test('offsets: a new member resumes after the transactionally committed offsets', async t => {
    const topic = unique('conf-resume')
    const groupId = unique('conf-group')
    const log = await setUp(t, makeLog, [{ name: topic, partitions: 2 }])
    const producer = await log.createProducer({ clientId: 'p' })
    t.teardown(() => producer.close())
    await producer.send(Array.from({ length: 8 }, (_, i) => ({ topic, partition: i % 2, key: null, value: Buffer.from(String(i)) })))
    const eos = await log.createProducer({ clientId: 'eos', transactionalId: unique('eos') })
    t.teardown(() => eos.close())
    const first = consumerOf(t, log, { groupId, topics: [topic] })
    await pollUntil(first, all => all.length >= 8)
    await eos.commitTransaction({ records: [], offsets: { group: first.groupMetadata()!, offsets: [{ topic, partition: 0, offset: 2n }, { topic, partition: 1, offset: 3n }] } })
    await first.close()
    const positions: Array<[number, bigint]> = []
    const second = log.createGroupConsumer({
      groupId, clientId: 'second', topics: [topic],
      listener: { ...noopListener, async onPartitionsAssigned (partitions) { for (const tp of partitions) positions.push([tp.partition, second.position(tp)]) } }
    })
    t.teardown(() => second.close())
    const rest = await pollUntil(second, all => all.length >= 3)
    t.same(positions.sort((a, b) => a[0] - b[0]), [[0, 2n], [1, 3n]], 'positions start at the committed offsets')
    t.same(rest.map(r => [r.partition, r.offset]).sort((a, b) => Number(a[0]) - Number(b[0]) || Number(a[1]) - Number(b[1])), [[0, 2n], [0, 3n], [1, 3n]])
  })

  t.test('partition reader: reaches the last stable offset across transaction markers', async t => {
    const changelog = unique('conf-changelog')
    const log = await setUp(t, makeLog, [{ name: changelog, partitions: 1, config: { 'cleanup.policy': 'compact' } }])
    const producer = await log.createProducer({ clientId: 'task', transactionalId: unique('task') })
    t.teardown(() => producer.close())
    for (let i = 0; i < 3; i++) await producer.commitTransaction({ records: [{ topic: changelog, partition: 0, key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) }] })
    const [end] = await log.admin.listOffsets([{ topic: changelog, partition: 0 }], 'latest')
    t.ok(end!.offset >= 3n, 'the end is past the records')
    const reader = log.createPartitionReader({ clientId: 'restore' })
    t.teardown(() => reader.close())
    reader.assign([{ topic: changelog, partition: 0, offset: 0n }])
    t.equal(reader.position({ topic: changelog, partition: 0 }), 0n)
    const records = await pollUntil(reader, () => reader.position({ topic: changelog, partition: 0 }) >= end!.offset)
    // The last commit's marker may land after commitTransaction() returned (Kafka writes markers
    // after EndTxn): the end can still move by that marker. Read on to the end as it is now.
    const [settled] = await log.admin.listOffsets([{ topic: changelog, partition: 0 }], 'latest')
    const more = await pollUntil(reader, () => reader.position({ topic: changelog, partition: 0 }) >= settled!.offset)
    records.push(...more)
    t.equal(reader.position({ topic: changelog, partition: 0 }), settled!.offset, 'stops exactly at the end')
    t.same(records.map(r => text(r.key)), ['k0', 'k1', 'k2'])
    reader.unassign([{ topic: changelog, partition: 0 }])
    t.same(await reader.poll(50), [], 'nothing assigned, nothing read')
  })

  t.test('groups: describe, alter offsets only when empty, delete', async t => {
    const topic = unique('conf-groups')
    const groupId = unique('conf-group')
    const log = await setUp(t, makeLog, [{ name: topic, partitions: 2 }])
    t.same(await log.admin.listCommittedOffsets(groupId, [{ topic, partition: 0 }]), [], 'no offsets for an unknown group')
    await log.admin.alterCommittedOffsets(groupId, [{ topic, partition: 1, offset: 0n }])
    t.same(await log.admin.listCommittedOffsets(groupId, [{ topic, partition: 0 }, { topic, partition: 1 }]), [{ topic, partition: 1, offset: 0n }])
    const consumer = consumerOf(t, log, { groupId, topics: [topic], clientId: 'described', userData: Buffer.from('host-1:9000') })
    await consumer.poll(0)
    const group = await log.admin.describeGroup(groupId)
    t.equal(group.groupId, groupId)
    t.equal(group.state, 'Stable')
    t.same(group.members.map(m => ({ memberId: m.memberId, clientId: m.clientId, userData: text(m.userData), assignment: [...m.assignment].sort(byPartition) })),
      [{ memberId: consumer.groupMetadata()!.memberId, clientId: 'described', userData: 'host-1:9000', assignment: [{ topic, partition: 0 }, { topic, partition: 1 }] }])
    t.ok(isRewardsError(await rejection(log.admin.alterCommittedOffsets(groupId, [{ topic, partition: 0, offset: 0n }])), 'LOG_GROUP_NOT_EMPTY'), 'alter refused while a member is in')
    await consumer.close()
    t.equal((await log.admin.describeGroup(groupId)).state, 'Empty')
    await log.admin.alterCommittedOffsets(groupId, [{ topic, partition: 0, offset: 0n }])
    await log.admin.deleteGroup(groupId)
    t.same(await log.admin.listCommittedOffsets(groupId, [{ topic, partition: 0 }]), [], 'deleted with its offsets')
    await log.admin.deleteGroup(groupId)
  })

  t.test('rebalance: revocation awaited before the partitions move, assignor userData delivered', async t => {
    const topic = unique('conf-rebalance')
    const groupId = unique('conf-group')
    const log = await setUp(t, makeLog, [{ name: topic, partitions: 2 }])
    const assignor: PartitionAssignor = ({ members, partitionsPerTopic }) => {
      const sorted = [...members].sort((a, b) => String(a.userData).localeCompare(String(b.userData)))
      const out = new Map<string, { partitions: TopicPartition[], userData: Buffer | null }>()
      const hosts = Buffer.from(sorted.map(m => String(m.userData)).join(','))
      for (const m of sorted) out.set(m.memberId, { partitions: [], userData: hosts })
      let i = 0
      for (const [name, count] of partitionsPerTopic) for (let p = 0; p < count; p++) out.get(sorted[i++ % sorted.length]!.memberId)!.partitions.push({ topic: name, partition: p })
      return out
    }
    const events: string[] = []
    const userData = new Map<string, string | null>()
    const listener = (who: string): RebalanceListener => ({
      async onPartitionsRevoked (partitions) {
        events.push(`${who}:revoke-start:${partitions.length}`)
        await new Promise(resolve => setTimeout(resolve, 300)) // the engine's flush + commit
        events.push(`${who}:revoke-end:${partitions.length}`)
      },
      async onPartitionsAssigned (partitions, data) {
        events.push(`${who}:assigned:${partitions.length}`)
        userData.set(who, text(data))
      },
      async onPartitionsLost () { events.push(`${who}:lost`) }
    })
    const a = consumerOf(t, log, { groupId, topics: [topic], clientId: 'a', assignor, userData: Buffer.from('a:1'), listener: listener('a') })
    const b = consumerOf(t, log, { groupId, topics: [topic], clientId: 'b', assignor, userData: Buffer.from('b:1'), listener: listener('b') })
    await a.poll(0)
    t.equal(a.assignment().length, 2)
    let stop = false
    const loop = async (c: GroupConsumer): Promise<void> => { while (!stop) await c.poll(50) }
    const loops = [loop(a), loop(b)]
    const deadline = Date.now() + 60_000
    while (a.assignment().length !== 1 || b.assignment().length !== 1) {
      if (Date.now() > deadline) throw new Error(`no rebalance: ${events.join(' ')}`)
      await Promise.race([...loops, new Promise(resolve => setTimeout(resolve, 20))])
    }
    stop = true
    await Promise.all(loops)
    const revokeEnd = events.indexOf('a:revoke-end:2')
    const bAssigned = events.indexOf('b:assigned:1')
    t.ok(revokeEnd >= 0 && bAssigned > revokeEnd, `a's revocation resolved before b got partitions: ${events.join(' ')}`)
    t.notOk(events.some(e => e.endsWith(':lost')), 'nothing lost')
    t.equal(userData.get('a'), 'a:1,b:1')
    t.equal(userData.get('b'), 'a:1,b:1')
    const group = await log.admin.describeGroup(groupId)
    t.same(group.members.map(m => text(m.userData)).sort(), ['a:1', 'b:1'])
  })

  t.test('rebalance: a userData function is asked at each join; requestRejoin() rebalances', async t => {
    const topic = unique('conf-rejoin')
    const groupId = unique('conf-group')
    const log = await setUp(t, makeLog, [{ name: topic, partitions: 2 }])
    const seen: string[][] = []
    // Records what the leader saw and hands every member the list back.
    const assignor: PartitionAssignor = ({ members, partitionsPerTopic }) => {
      const subscriptions = members.map(m => String(m.userData)).sort()
      seen.push(subscriptions)
      const out = new Map<string, { partitions: TopicPartition[], userData: Buffer | null }>()
      const sorted = [...members].sort((x, y) => String(x.userData).localeCompare(String(y.userData)))
      for (const m of sorted) out.set(m.memberId, { partitions: [], userData: Buffer.from(subscriptions.join(',')) })
      let i = 0
      for (const [name, count] of partitionsPerTopic) for (let p = 0; p < count; p++) out.get(sorted[i++ % sorted.length]!.memberId)!.partitions.push({ topic: name, partition: p })
      return out
    }
    let joins = 0
    const assigned: string[] = []
    const a = consumerOf(t, log, {
      groupId,
      topics: [topic],
      assignor,
      // Async, as the engine's (it reads changelog end offsets before it joins).
      userData: async () => { await new Promise(resolve => setImmediate(resolve)); return Buffer.from(`join-${++joins}`) },
      listener: { ...noopListener, async onPartitionsAssigned (_p, data) { assigned.push(text(data) ?? '') } }
    })
    await a.poll(0)
    t.equal(a.assignment().length, 2)
    t.same(seen.at(-1), ['join-1'], 'the first join sent the function\'s first value')
    const generation = a.groupMetadata()!.generationId
    a.requestRejoin()
    const deadline = Date.now() + 60_000
    while (a.groupMetadata() === null || a.groupMetadata()!.generationId === generation || assigned.length < 2) {
      if (Date.now() > deadline) throw new Error(`no rebalance after requestRejoin(): ${JSON.stringify(seen)}`)
      await a.poll(50)
    }
    t.ok(a.groupMetadata()!.generationId > generation, 'a new generation')
    t.same(seen.at(-1), [`join-${joins}`], 'the rejoin sent a fresh subscription')
    t.ok(joins >= 2, `the function was asked again (${joins} joins)`)
    t.equal(assigned.at(-1), `join-${joins}`, 'the new assignment came back')
    t.equal(a.assignment().length, 2)
  })
}
