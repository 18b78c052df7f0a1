// The task manager (task-manager.ts) under the cooperative protocol, with fake tasks, stores,
// consumer and changelog readers (docs/engine.md "Group protocol and rebalancing"): a revocation
// suspends and closes only the tasks of the revoked partitions (clean after a commit, dirty
// otherwise, a restoring one where its restore got) and never touches the others; an incremental
// assignment creates tasks only for the added partitions; an active the leader wants here whose
// partitions are still being revoked elsewhere runs as a warm-up until the follow-up round, then
// becomes active with that standby's open stores; the standby of a task revoked here opens only
// after the active closed.
import t from 'tap'
import type { LogAdmin, PartitionOffset, TopicPartition } from '../../../log/log-port.ts'
import type { Subtopology } from '../../../topology/topology.ts'
import type { ChangelogRestore, RestoredOwner } from '../../../topology/runtime/changelog-restore.ts'
import { partitionKey } from '../../../topology/runtime/partition-group.ts'
import { TaskManager, type ManagedState, type ManagedTask } from '../../../topology/runtime/task-manager.ts'

type Journal = string[]
const tp = (topic: string, partition: number): TopicPartition => ({ topic, partition })

class FakeTask implements ManagedTask {
  readonly name: string
  readonly inputs: TopicPartition[]
  readonly journal: Journal
  constructor (name: string, inputs: TopicPartition[], journal: Journal) { this.name = name; this.inputs = inputs; this.journal = journal }
  initialize (): void { this.journal.push(`${this.name}:initialize`) }
  abortUncommitted (): void { this.journal.push(`${this.name}:abortUncommitted`) }
  close (): void { this.journal.push(`${this.name}:close`) }
}

class FakeState implements ManagedState {
  offsets: Array<TopicPartition & { offset: bigint }> = []
  queryable = ''
  closed = false
  readonly name: string
  readonly changelog: TopicPartition
  readonly journal: Journal
  constructor (name: string, changelog: TopicPartition, journal: Journal) { this.name = name; this.changelog = changelog; this.journal = journal }
  changelogRestores (): ChangelogRestore[] { return [{ changelog: this.changelog, store: 'sums', from: null, apply: () => {} }] }
  restored (offsets: ReadonlyArray<TopicPartition & { offset: bigint }>): void { this.offsets = [...offsets] }
  setQueryableState (state: 'RESTORING' | 'READY' | 'CLOSED'): void { this.queryable = state }
  async checkpointAtEnd (): Promise<void> { this.journal.push(`${this.name}:checkpointAtEnd`) }
  writeCheckpoint (): void { this.journal.push(`${this.name}:writeCheckpoint@${this.offsets.map(o => o.offset).join(',')}`) }
  async close (): Promise<void> { this.closed = true; this.queryable = 'CLOSED'; this.journal.push(`${this.name}:closeStores`) }
}

class FakeReader {
  readonly registered = new Map<string, ChangelogRestore[]>()
  readonly journal: Journal
  readonly kind: string
  position = 0n
  done: RestoredOwner[] = []
  constructor (kind: string, journal: Journal) { this.kind = kind; this.journal = journal }
  async register (owner: string, restores: ChangelogRestore[]): Promise<void> { this.registered.set(owner, restores); this.journal.push(`${owner}:register-${this.kind}`) }
  unregister (owner: string): Array<TopicPartition & { offset: bigint }> {
    const out = this.positions(owner)
    this.registered.delete(owner)
    return out
  }

  positions (owner: string): Array<TopicPartition & { offset: bigint }> { return (this.registered.get(owner) ?? []).map(r => ({ ...r.changelog, offset: this.position })) }
  async step (): Promise<RestoredOwner[]> { const d = this.done.filter(x => this.registered.delete(x.owner)); this.done = []; return d }
  finish (...owners: string[]): void { for (const owner of owners) this.done.push({ owner, offsets: this.positions(owner), records: 0, durationMs: 1 }) }
}

// Sub-topology 0 is stateful, 1 is stateless (no store: no warm-up for it).
const SUBTOPOLOGIES: Subtopology[] = [
  { id: 0, nodes: [], sourceTopics: ['in'], stores: ['sums'] },
  { id: 1, nodes: [], sourceTopics: ['plain'], stores: [] }
]
const stateful = (task: string): boolean => task.startsWith('0_')

function setup () {
  const journal: Journal = []
  const restorer = new FakeReader('restore', journal)
  const standbyReader = new FakeReader('standby', journal)
  const suspended: string[] = []
  const states = new Map<string, FakeState>()
  const consumer = {
    assigned: [] as TopicPartition[],
    paused: new Set<string>(),
    pause (tps: TopicPartition[]): void { for (const p of tps) this.paused.add(partitionKey(p)) },
    resume (tps: TopicPartition[]): void { for (const p of tps) this.paused.delete(partitionKey(p)) },
    seek (): void {},
    assignment (): TopicPartition[] { return this.assigned }
  }
  const admin = {
    async listCommittedOffsets (_g: string, tps: TopicPartition[]): Promise<PartitionOffset[]> { return tps.map(p => ({ ...p, offset: 1n })) },
    async listOffsets (tps: TopicPartition[]): Promise<PartitionOffset[]> { return tps.map(p => ({ ...p, offset: 0n })) }
  } satisfies Pick<LogAdmin, 'listOffsets' | 'listCommittedOffsets'>
  const manager = new TaskManager<FakeTask, FakeState>({
    applicationId: 'app',
    subtopologies: SUBTOPOLOGIES,
    admin,
    consumer,
    restorer,
    standbyReader,
    createTask: async (name, sub, partition, standby) => {
      journal.push(standby === undefined ? `${name}:create-active` : `${name}:create-active-from-standby@${standby.offsets.map(o => o.offset).join(',')}`)
      const state = standby?.state ?? new FakeState(name, tp(`app-sums-changelog-${sub.id}`, partition), journal)
      states.set(name, state)
      return { task: new FakeTask(name, sub.sourceTopics.map(topic => tp(topic, partition)), journal), state }
    },
    createStandby: async (name, sub, partition) => {
      journal.push(`${name}:create-standby`)
      return new FakeState(name, tp(`app-sums-changelog-${sub.id}`, partition), journal)
    },
    onTaskSuspended: name => suspended.push(name)
  })
  return { manager, journal, restorer, standbyReader, consumer, suspended, states }
}

const NONE = { standby: new Set<string>(), warmup: new Set<string>() }

/** A manager running 0_0, 0_1, 0_2 and 1_0. */
async function running () {
  const s = setup()
  const all = [tp('in', 0), tp('in', 1), tp('in', 2), tp('plain', 0)]
  s.consumer.assigned = all
  await s.manager.handleIncrementalAssignment(all, NONE, new Set(['0_0', '0_1', '0_2', '1_0']), stateful)
  s.restorer.finish('0_0', '0_1', '0_2', '1_0')
  await s.manager.restoreStep(0)
  s.journal.length = 0
  return s
}

t.test('a revocation closes only the revoked tasks; the others keep running and queryable', async t => {
  const { manager, journal, suspended, states } = await running()
  t.equal(manager.running.size, 4)
  const kept = manager.running.get('0_0')!
  const closed = await manager.handleRevocation([tp('in', 1), tp('plain', 0)], true)
  await manager.closed()
  t.same(closed.sort(), ['0_1', '1_0'])
  t.same(suspended.sort(), ['0_1', '1_0'], 'only the revoked tasks are suspended')
  t.same([...manager.running.keys()].sort(), ['0_0', '0_2'])
  t.equal(manager.running.get('0_0'), kept, 'a kept task is the same task, never suspended')
  t.equal(kept.lifecycle.state, 'RUNNING')
  t.equal(states.get('0_0')!.queryable, 'READY', 'its stores stay open and answer queries')
  t.equal(states.get('0_1')!.closed, true)
  t.ok(journal.includes('0_1:checkpointAtEnd'), 'a revoked task closes clean after the commit')
  t.ok(journal.indexOf('0_1:abortUncommitted') < journal.indexOf('0_1:close'), 'its buffered records are dropped first')
  t.notOk(journal.some(line => line.startsWith('0_0:') || line.startsWith('0_2:')), 'nothing happens to the kept tasks')
  t.equal(manager.taskForInput(partitionKey(tp('in', 1))), undefined)
  t.equal(manager.taskForInput(partitionKey(tp('in', 0)))?.task.name, '0_0')
  t.equal(manager.suspended.size, 0, 'nothing left suspended')
})

t.test('after a failed commit the revoked tasks close dirty', async t => {
  const { manager, journal } = await running()
  await manager.handleRevocation([tp('in', 2)], false)
  await manager.closed()
  t.notOk(journal.includes('0_2:checkpointAtEnd'))
  t.ok(journal.some(line => line.startsWith('0_2:writeCheckpoint@')), 'checkpoint of the last commit')
  t.equal(manager.running.size, 3)
})

t.test('a revoked restoring task stops where it got; an incremental assignment creates only what is added', async t => {
  const { manager, journal, restorer, consumer } = setup()
  consumer.assigned = [tp('in', 0), tp('in', 1)]
  await manager.handleIncrementalAssignment([tp('in', 0), tp('in', 1)], NONE, null, stateful)
  restorer.finish('0_0')
  await manager.restoreStep(0)
  restorer.position = 4n
  journal.length = 0
  await manager.handleRevocation([tp('in', 1)], true)
  await manager.closed()
  t.ok(journal.includes('0_1:writeCheckpoint@4'), 'checkpointed where its restore got')
  t.notOk(journal.includes('0_1:checkpointAtEnd'))
  t.same([...restorer.registered.keys()], [], 'unregistered from the reader')

  journal.length = 0
  await manager.handleIncrementalAssignment([tp('in', 2)], NONE, null, stateful)
  t.same(journal.filter(line => line.endsWith('create-active')), ['0_2:create-active'], 'only the added partition makes a task')
  t.same([...manager.running.keys()], ['0_0'], 'the kept one keeps running')
  t.same([...manager.restoring.keys()], ['0_2'])
  t.ok(consumer.paused.has(partitionKey(tp('in', 2))) && !consumer.paused.has(partitionKey(tp('in', 0))), 'only the new task\'s input is paused')

  journal.length = 0
  await manager.handleIncrementalAssignment([], NONE, null, stateful)
  t.same(journal, [], 'a round that adds nothing changes nothing')
})

t.test('an active still being revoked elsewhere opens nothing here until its hand-over; a standby of it warms up', async t => {
  const { manager, journal, restorer, standbyReader, consumer } = await running()
  // Round 0: 0_5 runs here as a standby.
  await manager.handleIncrementalAssignment([], { standby: new Set(['0_5']), warmup: new Set() }, new Set(['0_0', '0_1', '0_2', '1_0']), stateful)
  journal.length = 0
  // Round 1: the leader wants 0_3 and 0_5 (stateful) and 1_1 (stateless) here, their owner still holds them.
  await manager.handleIncrementalAssignment([], { standby: new Set(['0_4']), warmup: new Set() }, new Set(['0_0', '0_1', '0_2', '1_0', '0_3', '0_5', '1_1']), stateful)
  t.same([...manager.standbys.keys()].sort(), ['0_4', '0_5'])
  t.notOk(journal.includes('0_3:create-standby'), 'no store opened for a pending active without a copy here')
  t.same([...manager.pendingActives], ['0_3'], 'reported as a warm-up at the next join, from its checkpoint (thread-subscription.ts)')
  t.equal(manager.standbys.get('0_5')!.warmup, true, 'a pending active with a standby here keeps it, as a warm-up')
  t.equal(manager.standbys.get('0_4')!.warmup, false)
  t.notOk(manager.standbys.has('1_1'), 'no warm-up for a stateless task')
  t.equal(manager.running.size, 4, 'the running tasks are untouched')

  // Round 2: the owner revoked them; their partitions are added here.
  standbyReader.position = 7n
  journal.length = 0
  consumer.assigned = [...consumer.assigned, tp('in', 3), tp('in', 5), tp('plain', 1)]
  await manager.handleIncrementalAssignment([tp('in', 3), tp('in', 5), tp('plain', 1)], { standby: new Set(['0_4']), warmup: new Set() }, new Set(['0_0', '0_1', '0_2', '1_0', '0_3', '0_5', '1_1']), stateful)
  t.ok(journal.includes('0_5:create-active-from-standby@7'), `the warm-up hands its stores over at what it applied: ${journal.join(' ')}`)
  t.notOk(journal.includes('0_5:closeStores'), 'the warm-up\'s stores stay open')
  t.ok(journal.includes('0_3:create-active'), 'the other opens as an active straight away')
  t.same([...manager.standbys.keys()], ['0_4'])
  t.same([...manager.pendingActives], [], 'nothing pending any more')
  t.same([...manager.restoring.keys()].sort(), ['0_3', '0_5', '1_1'])
  t.ok(restorer.registered.has('0_3') && restorer.registered.has('0_5'), 'the actives restore (only what the checkpoint or the warm-up had not applied)')
})

t.test('a revoked task closes after the revocation returns; the same task opens again only once it closed', async t => {
  const { manager, journal } = await running()
  let release!: () => void
  const slow = new Promise<void>(resolve => { release = resolve })
  const state = manager.running.get('0_1')!.state as unknown as { close: () => Promise<void> }
  const close = state.close.bind(state)
  state.close = async () => { await slow; await close() }
  const closed = await manager.handleRevocation([tp('in', 1)], true)
  t.same(closed, ['0_1'], 'the revocation returns with the tasks it closes')
  t.notOk(manager.activeTasks.has('0_1'), 'out of the maps at once')
  t.notOk(journal.includes('0_1:closeStores'), 'still closing')
  const standby = manager.handleIncrementalAssignment([], { standby: new Set(['0_1']), warmup: new Set() }, new Set(['0_0', '0_2', '1_0']), stateful)
  await new Promise(resolve => setImmediate(resolve))
  t.notOk(journal.includes('0_1:create-standby'), 'the standby waits for the close')
  release()
  await standby
  t.ok(journal.indexOf('0_1:closeStores') < journal.indexOf('0_1:create-standby'), 'closed, then opened as a standby')
  await manager.closed()
})

t.test('a task revoked here that stays as a standby opens its standby after the active closed', async t => {
  const { manager, journal } = await running()
  // The owner side of a move: the revocation runs first (both log backends call it before the
  // assignment), then the assignment names the task as a standby here.
  await manager.handleRevocation([tp('in', 1)], true)
  await manager.handleIncrementalAssignment([], { standby: new Set(['0_1']), warmup: new Set() }, new Set(['0_0', '0_2', '1_0']), stateful)
  t.ok(journal.indexOf('0_1:closeStores') < journal.indexOf('0_1:create-standby'), 'closed as an active before it opens as a standby')
  t.ok(journal.indexOf('0_1:checkpointAtEnd') < journal.indexOf('0_1:closeStores'))
  t.equal(manager.standbys.get('0_1')?.lifecycle.state, 'RUNNING')
  t.notOk(manager.activeTasks.has('0_1'))
})
