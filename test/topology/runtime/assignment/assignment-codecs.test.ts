// Subscription and assignment info encodings (docs/engine.md, "High-availability assignor"):
// round trips of random values, rejection of garbage (random bytes, every truncation, trailing
// bytes, every single-byte corruption either rejected or read back as what it now says), future
// versions, and compatibility with the version 1 JSON of co-partition-assignor.ts.
import fc from 'fast-check'
import t from 'tap'
import { coPartitionAssignor, decodeAssignmentInfo as decodeV1Assignment, encodeSubscription as encodeV1Subscription } from '../../../../topology/runtime/co-partition-assignor.ts'
import { decodeAssignmentInfo, encodeAssignmentInfo, type AssignmentInput, type HostTasks } from '../../../../topology/runtime/assignment/assignment-info.ts'
import { decodeSubscriptionInfo, encodeSubscriptionInfo, RUNNING_OFFSET_SUM, type SubscriptionInput } from '../../../../topology/runtime/assignment/subscription-info.ts'
import { AssignmentCodecError } from '../../../../topology/runtime/assignment/wire.ts'

const RUNS = Number(process.env.PROPERTY_RUNS ?? 200)
const taskIds = (subs: number, partitions: number) => fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: subs - 1 }), fc.integer({ min: 0, max: partitions - 1 })).map(([s, p]) => `${s}_${p}`), { maxLength: 20 })
const endpoint = fc.oneof(
  fc.tuple(fc.constantFrom('localhost', 'proc-1.rewards.svc', '10.0.0.7'), fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`),
  fc.constant('[::1]:8080')
)

const subscription: fc.Arbitrary<SubscriptionInput> = fc.record({
  processId: fc.string({ minLength: 1, maxLength: 40 }),
  endpoint: fc.option(endpoint, { nil: null }),
  roles: taskIds(4, 64).chain(ids => fc.tuple(fc.constant(ids), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: ids.length, maxLength: ids.length }), fc.array(fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }), { minLength: ids.length, maxLength: ids.length })))
}).map(({ processId, endpoint, roles: [ids, role, sums] }) => {
  const previousActive = ids.filter((_, i) => role[i] === 0)
  const taskOffsetSums = new Map<string, bigint>()
  ids.forEach((id, i) => { if (role[i] !== 3 || i % 2 === 0) taskOffsetSums.set(id, role[i] === 0 && i % 3 === 0 ? RUNNING_OFFSET_SUM : sums[i]!) })
  return { processId, endpoint, previousActive, previousStandby: ids.filter((_, i) => role[i] === 1), previousWarmup: ids.filter((_, i) => role[i] === 2), taskOffsetSums }
})

const assignment: fc.Arbitrary<AssignmentInput> = fc.record({
  partitions: fc.array(fc.integer({ min: 1, max: 32 }), { minLength: 1, maxLength: 3 }),
  hosts: fc.uniqueArray(endpoint, { maxLength: 5 }),
  seed: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 100, maxLength: 100 }),
  probing: fc.option(fc.integer({ min: 0, max: 4_000_000_000_000 }), { nil: null })
}).map(({ partitions, hosts, seed, probing }) => {
  const all = partitions.flatMap((n, s) => Array.from({ length: n }, (_, p) => `${s}_${p}`))
  // Each task: active on one host (or none), standby/warm-up on others.
  const lists = new Map<string, { active: string[], standby: string[], warmup: string[] }>(hosts.map(h => [h, { active: [], standby: [], warmup: [] }]))
  all.forEach((id, i) => {
    hosts.forEach((h, j) => {
      const roll = seed[(i * 7 + j * 13) % seed.length]!
      const l = lists.get(h)!
      if (j === i % Math.max(1, hosts.length) && roll !== 3) l.active.push(id)
      else if (roll === 1) l.standby.push(id)
      else if (roll === 2) l.warmup.push(id)
    })
  })
  const mine = hosts.length > 0 ? lists.get(hosts[0]!)! : { active: all.slice(0, 2), standby: [], warmup: [] }
  return {
    activeTasks: mine.active,
    standbyTasks: mine.standby,
    warmupTasks: mine.warmup,
    partitionsPerSubtopology: new Map(partitions.map((n, s) => [s, n])),
    hosts: new Map<string, HostTasks>(lists),
    probingRebalanceAtMs: probing
  }
})

/** `data` with the header's latest-supported version set to ours: a newer member may send any,
 *  and re-encoding writes ours. */
const ourLatest = (data: Buffer): Buffer => {
  const copy = Buffer.from(data)
  if (copy.length >= 7 && copy[0] === 0x52) copy.writeUInt16BE(2, 5)
  return copy
}
const sorted = (ids: readonly string[]): string[] => [...ids].sort()
const rejects = (f: () => unknown): boolean => {
  try {
    f()
    return false
  } catch (error) {
    if (error instanceof AssignmentCodecError) return true
    throw error // anything else is a bug in the decoder
  }
}

t.test('subscription round trip', t => {
  fc.assert(fc.property(subscription, s => {
    const d = decodeSubscriptionInfo(encodeSubscriptionInfo(s), 'member-1')
    t.equal(d.version, 2)
    t.equal(d.processId, s.processId)
    t.equal(d.endpoint, s.endpoint)
    t.same(sorted(d.previousActive), sorted([...s.previousActive!]))
    t.same(sorted(d.previousStandby), sorted([...s.previousStandby!]))
    t.same(sorted(d.previousWarmup), sorted([...s.previousWarmup!]))
    t.same(new Map([...d.taskOffsetSums].sort()), new Map([...s.taskOffsetSums!].sort()))
  }), { numRuns: RUNS })
  t.end()
})

t.test('assignment round trip', t => {
  fc.assert(fc.property(assignment, a => {
    const d = decodeAssignmentInfo(encodeAssignmentInfo(a))
    t.equal(d.version, 2)
    t.same(sorted(d.activeTasks), sorted(a.activeTasks))
    t.same(sorted(d.standbyTasks), sorted(a.standbyTasks))
    t.same(sorted(d.warmupTasks), sorted(a.warmupTasks))
    t.same(d.partitionsPerSubtopology, a.partitionsPerSubtopology)
    t.same([...d.hosts.keys()].sort(), [...a.hosts.keys()].sort())
    for (const [h, tasks] of a.hosts) t.same({ a: sorted(d.hosts.get(h)!.active), s: sorted(d.hosts.get(h)!.standby), w: sorted(d.hosts.get(h)!.warmup) }, { a: sorted(tasks.active), s: sorted(tasks.standby), w: sorted(tasks.warmup) })
    t.equal(d.probingRebalanceAtMs, a.probingRebalanceAtMs)
    // The encoding is canonical: encoding what was decoded gives the same bytes.
    t.same(encodeAssignmentInfo(d), encodeAssignmentInfo(a))
  }), { numRuns: RUNS })
  t.end()
})

t.test('random bytes are rejected (or, if they happen to decode, re-encode to themselves)', t => {
  let rejected = 0
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, prefixed) => {
    // Half of them with a valid header, so the body checks are exercised too.
    const data = Buffer.concat([prefixed ? Buffer.from([0x52, 0x53, 1, 0, 2, 0, 2]) : Buffer.alloc(0), Buffer.from(bytes)])
    if (rejects(() => decodeSubscriptionInfo(data, 'm'))) rejected++
    else t.same(encodeSubscriptionInfo(decodeSubscriptionInfo(data, 'm')), ourLatest(data))
    const asAssignment = Buffer.from(data)
    if (prefixed) asAssignment[2] = 2
    if (rejects(() => decodeAssignmentInfo(asAssignment))) rejected++
    else t.same(encodeAssignmentInfo(decodeAssignmentInfo(asAssignment)), ourLatest(asAssignment))
  }), { numRuns: RUNS * 5 })
  t.ok(rejected > RUNS * 9, `${rejected} rejected`)
  t.end()
})

t.test('every truncation, trailing bytes and every single-byte corruption', t => {
  fc.assert(fc.property(subscription, assignment, (s, a) => {
    for (const [data, decode, encode] of [
      [encodeSubscriptionInfo(s), (b: Buffer) => decodeSubscriptionInfo(b, 'm'), (b: Buffer) => encodeSubscriptionInfo(decodeSubscriptionInfo(b, 'm'))],
      [encodeAssignmentInfo(a), (b: Buffer) => decodeAssignmentInfo(b), (b: Buffer) => encodeAssignmentInfo(decodeAssignmentInfo(b))]
    ] as const) {
      for (let n = 0; n < data.length; n++) if (!rejects(() => decode(data.subarray(0, n)))) throw new Error(`prefix of ${n} of ${data.length} bytes accepted`)
      if (!rejects(() => decode(Buffer.concat([data, Buffer.from([0])])))) throw new Error('trailing byte accepted')
      for (let i = 0; i < data.length; i++) {
        const bad = Buffer.from(data)
        bad[i] = bad[i]! ^ (1 << (i % 8))
        if (!rejects(() => decode(bad)) && !encode(bad).equals(ourLatest(bad))) throw new Error(`corrupted byte ${i} decoded to something else`)
      }
    }
  }), { numRuns: Math.ceil(RUNS / 4) })
  t.pass('all rejected or faithful')
  t.end()
})

t.test('invalid values are refused on both sides', t => {
  const base = { processId: 'p', endpoint: 'h:1' }
  t.throws(() => encodeSubscriptionInfo({ ...base, processId: '' }), AssignmentCodecError)
  t.throws(() => encodeSubscriptionInfo({ ...base, endpoint: 'no-port' }), AssignmentCodecError)
  t.throws(() => encodeSubscriptionInfo({ ...base, endpoint: 'h:70000' }), AssignmentCodecError)
  t.throws(() => encodeSubscriptionInfo({ ...base, previousActive: ['0_1'], previousStandby: ['0_1'] }), /both a previous active and a previous standby/)
  t.throws(() => encodeSubscriptionInfo({ ...base, previousActive: ['x'] }), AssignmentCodecError)
  t.throws(() => encodeSubscriptionInfo({ ...base, taskOffsetSums: new Map([['0_1', -5n]]) }), /negative/)
  t.throws(() => encodeSubscriptionInfo({ ...base, taskOffsetSums: new Map([['0_1', RUNNING_OFFSET_SUM]]) }), /not a previous active/)
  const a: AssignmentInput = { activeTasks: ['0_0'], standbyTasks: [], warmupTasks: [], partitionsPerSubtopology: new Map([[0, 2]]), hosts: new Map(), probingRebalanceAtMs: null }
  t.throws(() => encodeAssignmentInfo({ ...a, activeTasks: ['0_2'] }), /not a task of the topology/)
  t.throws(() => encodeAssignmentInfo({ ...a, standbyTasks: ['0_0'] }), /both active and standby/)
  t.throws(() => encodeAssignmentInfo({ ...a, hosts: new Map([['a:1', { active: ['0_1'], standby: [], warmup: [] }], ['b:1', { active: ['0_1'], standby: [], warmup: [] }]]) }), /active on both/)
  t.throws(() => encodeAssignmentInfo(a, 3), AssignmentCodecError)
  t.end()
})

t.test('future versions and the wrong kind are refused', t => {
  const s = encodeSubscriptionInfo({ processId: 'p', endpoint: null })
  const future = Buffer.from(s)
  future.writeUInt16BE(3, 3)
  future.writeUInt16BE(3, 5)
  t.throws(() => decodeSubscriptionInfo(future, 'm'), /version 3 is not supported/)
  t.throws(() => decodeAssignmentInfo(s), /kind 1, expected 2/)
  const lying = Buffer.from(s)
  lying.writeUInt16BE(1, 5) // latest supported below the version
  t.throws(() => decodeSubscriptionInfo(lying, 'm'), /below version/)
  t.throws(() => decodeSubscriptionInfo(Buffer.from('{"host": 5}'), 'm'), /host is not a string/)
  t.throws(() => decodeSubscriptionInfo(Buffer.from('{"host'), 'm'), /not JSON/)
  t.throws(() => decodeAssignmentInfo(Buffer.from('{"version": 2}')), /not 1/)
  t.throws(() => decodeAssignmentInfo(Buffer.alloc(0)), AssignmentCodecError)
  t.end()
})

t.test('version 1 (co-partition-assignor.ts) is read, and written so version 1 members read it', t => {
  const v1 = decodeSubscriptionInfo(encodeV1Subscription({ host: 'old:8080', previousTasks: ['0_1', '0_0'] }), 'member-7')
  t.same({ ...v1, taskOffsetSums: [...v1.taskOffsetSums] }, {
    version: 1, latestSupportedVersion: 1, processId: 'member-7', endpoint: 'old:8080', previousActive: ['0_0', '0_1'], previousStandby: [], previousWarmup: [],
    taskOffsetSums: [['0_0', RUNNING_OFFSET_SUM], ['0_1', RUNNING_OFFSET_SUM]]
  })
  // The old assignor's output decodes.
  const old = coPartitionAssignor([['in']])({ members: [{ memberId: 'm1', userData: encodeV1Subscription({ host: 'h1:1', previousTasks: [] }) }, { memberId: 'm2', userData: encodeV1Subscription({ host: null, previousTasks: [] }) }], partitionsPerTopic: new Map([['in', 3]]) })
  const decoded = decodeAssignmentInfo(old.get('m1')!.userData!)
  t.equal(decoded.version, 1)
  t.same(decoded.partitionsPerSubtopology, new Map([[0, 3]]))
  t.same([...decoded.hosts.keys()], ['h1:1'])
  t.equal(decoded.hosts.get('h1:1')!.active.length, 2)
  // And the old decoder reads what we write as version 1.
  const written = encodeAssignmentInfo({ activeTasks: ['0_0'], standbyTasks: [], warmupTasks: [], partitionsPerSubtopology: new Map([[0, 2]]), hosts: new Map([['h:1', { active: ['0_0'], standby: ['0_1'], warmup: [] }]]), probingRebalanceAtMs: null }, 1)
  t.same(decodeV1Assignment(written), { version: 1, owners: { '0_0': 'h:1', '0_1': null }, partitions: { 0: 2 } })
  t.end()
})
