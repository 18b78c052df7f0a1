// Cooperative rebalancing (KIP-429), one scenario for both log backends
// (test/log/kafka/cooperative-rebalance.test.ts on the real broker,
// test/log/embedded/cooperative-rebalance.test.ts): members join one by one (1 -> 2 -> 3) and one
// leaves, under a sticky assignor, while a producer writes to every partition. Checked, from the
// listener callbacks and the records each member's poll() returns (every wait is on an event or
// a condition, never a fixed sleep):
// - a partition that stays with its owner is never revoked, and its records keep coming out of
//   the owner's poll() while the group rebalances;
// - a partition that moves is first assigned to nobody, revoked by its old owner (awaited), and
//   only then assigned to its new owner, in the follow-up round;
// - a member that leaves has its partitions reassigned in one round, nothing revoked elsewhere;
// - eager and cooperative members cannot share a group (the broker's INCONSISTENT_GROUP_PROTOCOL).
import type { Test } from 'tap'
import { isRewardsError } from '../../lib/errors.ts'
import type { GroupConsumer, Log, LogProducer, PartitionAssignor, RebalanceListener, TopicPartition } from '../../log/log-port.ts'

type What = 'revoke-start' | 'revoke-end' | 'assigned' | 'lost' | 'records'
interface Event { readonly seq: number, readonly at: number, readonly who: string, readonly what: What, readonly partitions: number[] }

/** Sticky: each member keeps what it owns up to its fair share; the rest goes to the members
 *  below theirs. Members owning more are served first, so a member keeps an extra partition
 *  rather than two members swapping. */
export const stickyAssignor: PartitionAssignor = ({ members, partitionsPerTopic }) => {
  const all: TopicPartition[] = []
  for (const [topic, count] of [...partitionsPerTopic].sort()) for (let p = 0; p < count; p++) all.push({ topic, partition: p })
  const exists = new Set(all.map(tp => `${tp.topic}/${tp.partition}`))
  const order = [...members].sort((a, b) => ((b.ownedPartitions?.length ?? 0) - (a.ownedPartitions?.length ?? 0)) || a.memberId.localeCompare(b.memberId))
  const quota = (i: number): number => Math.floor(all.length / order.length) + (i < all.length % order.length ? 1 : 0)
  const result = new Map<string, { partitions: TopicPartition[], userData: Buffer | null }>()
  const taken = new Set<string>()
  order.forEach((m, i) => {
    const kept = (m.ownedPartitions ?? []).filter(tp => exists.has(`${tp.topic}/${tp.partition}`) && !taken.has(`${tp.topic}/${tp.partition}`)).slice(0, quota(i))
    for (const tp of kept) taken.add(`${tp.topic}/${tp.partition}`)
    result.set(m.memberId, { partitions: kept.map(tp => ({ ...tp })), userData: null })
  })
  const free = all.filter(tp => !taken.has(`${tp.topic}/${tp.partition}`))
  order.forEach((m, i) => {
    const mine = result.get(m.memberId)!.partitions
    while (mine.length < quota(i) && free.length > 0) mine.push(free.shift()!)
  })
  return result
}

interface Harness {
  readonly events: Event[]
  member (who: string, options?: { revokeMs?: number }): { consumer: GroupConsumer, stop: () => Promise<void> }
  waitFor (what: string, condition: () => boolean): Promise<void>
  since (seq: number, who: string, what: What): Event[]
  next (): number
  failures: unknown[]
}

const PARTITIONS = 6

function partitionsOf (consumer: GroupConsumer): number[] {
  return consumer.assignment().map(tp => tp.partition).sort((a, b) => a - b)
}

function harness (t: Test, log: Log, topic: string, groupId: string): Harness {
  const events: Event[] = []
  const failures: unknown[] = []
  let seq = 0
  const push = (who: string, what: What, partitions: number[]): void => {
    events.push({ seq: seq++, at: Date.now(), who, what, partitions: [...partitions].sort((a, b) => a - b) })
  }
  const listener = (who: string, revokeWorkMs: number): RebalanceListener => ({
    async onPartitionsRevoked (partitions) {
      push(who, 'revoke-start', partitions.map(tp => tp.partition))
      // The engine's flush and commit take a while: nobody may get these partitions meanwhile.
      await new Promise(resolve => setTimeout(resolve, revokeWorkMs))
      push(who, 'revoke-end', partitions.map(tp => tp.partition))
    },
    async onPartitionsAssigned (partitions) { push(who, 'assigned', partitions.map(tp => tp.partition)) },
    async onPartitionsLost (partitions) { push(who, 'lost', partitions.map(tp => tp.partition)) }
  })
  return {
    events,
    failures,
    next: () => seq,
    since: (from, who, what) => events.filter(e => e.seq >= from && e.who === who && e.what === what),
    member (who, options = {}) {
      const consumer = log.createGroupConsumer({
        groupId, clientId: who, topics: [topic], listener: listener(who, options.revokeMs ?? 300), assignor: stickyAssignor,
        rebalanceProtocol: 'cooperative', sessionTimeoutMs: 6000, rebalanceTimeoutMs: 30_000, maxPollRecords: 50
      })
      let stopped = false
      const loop = (async () => {
        while (!stopped) {
          const records = await consumer.poll(100)
          if (records.length > 0) push(who, 'records', [...new Set(records.map(r => r.partition))])
        }
      })().catch((error: unknown) => { failures.push(error) })
      const stop = async (): Promise<void> => { stopped = true; await loop }
      t.teardown(async () => { await stop(); await consumer.close() })
      return { consumer, stop }
    },
    async waitFor (what, condition) {
      const deadline = Date.now() + 60_000
      while (!condition()) {
        if (failures.length > 0) throw failures[0]
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(events.filter(e => e.what !== 'records'))}`)
        await new Promise(resolve => setTimeout(resolve, 20))
      }
    }
  }
}

/** A producer writing one record to every partition, again and again, until the test ends. */
function feed (t: Test, producer: LogProducer, topic: string): void {
  let stopped = false
  const run = (async () => {
    for (let i = 0; !stopped; i++) {
      await producer.send(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition, key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) })))
      // Pace, not synchronisation: a few records per partition and per poll.
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  })()
  t.teardown(async () => { stopped = true; await run.catch(() => undefined) })
}

/** The moved partitions of a transition: each revoked (awaited) by `from` before `to` is told. */
function assertHandOver (t: Test, h: Harness, from: number, moves: Array<{ partition: number, oldOwner: string, newOwner: string }>): void {
  for (const { partition, oldOwner, newOwner } of moves) {
    const revokeEnd = h.since(from, oldOwner, 'revoke-end').find(e => e.partitions.includes(partition))
    const assigned = h.since(from, newOwner, 'assigned').find(e => e.partitions.includes(partition))
    t.ok(revokeEnd !== undefined, `partition ${partition}: revoked by ${oldOwner}`)
    t.ok(assigned !== undefined, `partition ${partition}: assigned to ${newOwner}`)
    if (revokeEnd !== undefined && assigned !== undefined) t.ok(revokeEnd.seq < assigned.seq, `partition ${partition}: ${oldOwner}'s revocation resolved (seq ${revokeEnd.seq}) before ${newOwner} got it (seq ${assigned.seq})`)
  }
}

export async function cooperativeRebalanceScenario (t: Test, log: Log, topic: string, unique: (prefix: string) => string): Promise<void> {
  const producer = await log.createProducer({ clientId: unique('coop-producer') })
  t.teardown(() => producer.close())
  feed(t, producer, topic)
  const h = harness(t, log, topic, unique('coop-group'))

  // One member owns everything.
  const a = h.member('a')
  await h.waitFor('a alone', () => partitionsOf(a.consumer).length === PARTITIONS && h.since(0, 'a', 'records').length > 0)

  // Two members: half of a's partitions move to b, the other half never stop.
  const t1 = h.next()
  const aBefore = partitionsOf(a.consumer)
  // b's revocations take longer than a's: in the second round of the next rebalance the group
  // waits for b, while a has rejoined and must keep reading what it keeps.
  const b = h.member('b', { revokeMs: 1200 })
  // Two rounds, and both members are told of both (a of nothing new each time).
  await h.waitFor('a and b balanced', () => partitionsOf(a.consumer).length === 3 && partitionsOf(b.consumer).length === 3 &&
    h.since(t1, 'b', 'assigned').flatMap(e => e.partitions).length === 3 && h.since(t1, 'a', 'assigned').length === 2)
  const aKept1 = partitionsOf(a.consumer)
  t.ok(aKept1.every(p => aBefore.includes(p)), 'a kept three of its partitions')
  t.same(h.since(t1, 'a', 'revoke-end').flatMap(e => e.partitions).sort(), partitionsOf(b.consumer), 'a revoked exactly what b got, nothing it kept')
  t.same(h.since(t1, 'a', 'assigned').flatMap(e => e.partitions), [], 'a was told of no new partition')
  t.same(h.since(t1, 'b', 'assigned')[0]?.partitions, [], 'first round: b is assigned nothing (a still owns them)')
  assertHandOver(t, h, t1, partitionsOf(b.consumer).map(partition => ({ partition, oldOwner: 'a', newOwner: 'b' })))

  // Three members: a and b each give one partition to c.
  const t2 = h.next()
  const cJoined = Date.now()
  const before2 = { a: partitionsOf(a.consumer), b: partitionsOf(b.consumer) }
  const c = h.member('c')
  // Two rounds: every member is told of both (a and b of nothing new, after their revocation in
  // the first and in the second; c of nothing, then of its two partitions).
  await h.waitFor('a, b and c balanced', () => partitionsOf(a.consumer).length === 2 && partitionsOf(b.consumer).length === 2 &&
    partitionsOf(c.consumer).length === 2 && h.since(t2, 'c', 'assigned').flatMap(e => e.partitions).length === 2 &&
    h.since(t2, 'a', 'assigned').length === 2 && h.since(t2, 'b', 'assigned').length === 2)
  const after2 = { a: partitionsOf(a.consumer), b: partitionsOf(b.consumer) }
  const cGot = h.since(t2, 'c', 'assigned').filter(e => e.partitions.length > 0).at(-1)!
  for (const who of ['a', 'b'] as const) {
    const kept = after2[who]
    t.ok(kept.every(p => before2[who].includes(p)), `${who} kept two of its partitions`)
    const revoked = h.since(t2, who, 'revoke-start').flatMap(e => e.partitions)
    t.same(revoked, before2[who].filter(p => !kept.includes(p)), `${who} revoked only the partition that moved`)
  }
  // a rejoined for the second round right after its revocation; the round ended with c's
  // assignment, once b (slower) had revoked too: a's kept partitions flowed in between.
  const aRejoined = h.since(t2, 'a', 'revoke-end')[0]!
  t.ok(h.since(t2, 'b', 'revoke-end')[0]!.seq > aRejoined.seq, 'b revoked after a rejoined (the round waited for b)')
  for (const p of after2.a) {
    const during = h.events.filter(e => e.who === 'a' && e.what === 'records' && e.seq > aRejoined.seq && e.seq < cGot.seq && e.partitions.includes(p))
    t.ok(during.length > 0, `a: records of kept partition ${p} kept coming during the rebalance (${during.length} polls)`)
  }
  assertHandOver(t, h, t2, [
    ...before2.a.filter(p => !after2.a.includes(p)).map(partition => ({ partition, oldOwner: 'a', newOwner: 'c' })),
    ...before2.b.filter(p => !after2.b.includes(p)).map(partition => ({ partition, oldOwner: 'b', newOwner: 'c' }))
  ])
  t.same(h.events.filter(e => e.what === 'lost'), [], 'nothing lost')
  const lastRevoke = h.events.filter(e => e.seq >= t2 && e.what === 'revoke-end').at(-1)!
  t.comment(`timing: c created -> c assigned ${cGot.at - cJoined} ms; last revocation done -> c assigned ${cGot.at - lastRevoke.at} ms (revocations take 300 and 1200 ms on purpose)`)

  // c leaves: a and b take its partitions in one round, revoking nothing.
  const cOwned = partitionsOf(c.consumer)
  const generation = a.consumer.groupMetadata()!.generationId
  await c.stop()
  const t3 = h.next()
  await c.consumer.close()
  await h.waitFor('a and b take over', () => partitionsOf(a.consumer).length === 3 && partitionsOf(b.consumer).length === 3 &&
    h.since(t3, 'a', 'assigned').length > 0 && h.since(t3, 'b', 'assigned').length > 0)
  t.same([...h.since(t3, 'a', 'assigned'), ...h.since(t3, 'b', 'assigned')].flatMap(e => e.partitions).sort(), cOwned, 'c\'s partitions went to a and b')
  t.equal(h.since(t3, 'a', 'assigned').length + h.since(t3, 'b', 'assigned').length, 2, `one round: one assignment each (${JSON.stringify(h.events.filter(e => e.seq >= t3 && e.what !== 'records'))})`)
  t.same(h.events.filter(e => e.seq >= t3 && e.what.startsWith('revoke')), [], 'nobody revoked anything')
  t.equal(a.consumer.groupMetadata()!.generationId, generation + 1, 'one generation later')
  t.same(h.failures, [], 'no poll failed')
}

/** A group of one protocol refuses a member of the other, without disturbing its members. */
export async function mixedProtocolScenario (t: Test, log: Log, topic: string, unique: (prefix: string) => string): Promise<void> {
  for (const [first, second] of [['eager', 'cooperative'], ['cooperative', 'eager']] as const) {
    const groupId = unique(`mixed-${first}`)
    const events: string[] = []
    const listener = (who: string): RebalanceListener => ({
      async onPartitionsRevoked (p) { events.push(`${who} revoked ${p.length}`) },
      async onPartitionsAssigned (p) { events.push(`${who} assigned ${p.length}`) },
      async onPartitionsLost (p) { events.push(`${who} lost ${p.length}`) }
    })
    const options = { groupId, topics: [topic], sessionTimeoutMs: 6000, rebalanceTimeoutMs: 30_000 }
    const one = log.createGroupConsumer({ ...options, clientId: 'one', listener: listener('one'), rebalanceProtocol: first })
    t.teardown(() => one.close())
    await one.poll(0)
    const generation = one.groupMetadata()!.generationId
    const other = log.createGroupConsumer({ ...options, clientId: 'other', listener: listener('other'), rebalanceProtocol: second })
    t.teardown(() => other.close())
    const refused = await other.poll(0).then(() => null, (error: unknown) => error)
    t.ok(isRewardsError(refused, 'CONFIG_INVALID'), `${first} group, ${second} member: refused (${String(refused)})`)
    await one.poll(0)
    t.equal(one.groupMetadata()!.generationId, generation, `${first} group: no rebalance`)
    t.same(events, ['one assigned ' + String(PARTITIONS)], `${first} group: its member kept everything`)
    const group = await log.admin.describeGroup(groupId)
    t.equal(group.members.length, 1, 'only the first member is in the group')
    t.equal(group.state, 'Stable', 'and it is not rebalancing')
  }
}

export { PARTITIONS as COOPERATIVE_SCENARIO_PARTITIONS }
