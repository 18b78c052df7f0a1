// Standby and warm-up tasks in the task manager (task-manager.ts), with fake stores, consumer and
// changelog readers: an assignment's standbys open their stores and register with the standby
// reader (never with the restore reader, never running); checkpoints are written only when the
// stores moved; a standby whose task becomes active here hands its open stores (and the offsets
// it applied) to the active; a standby no longer assigned closes with a checkpoint; shutdown
// closes them too.
import t from 'tap'
import type { LogAdmin, PartitionOffset, TopicPartition } from '../../../log/log-port.ts'
import type { Subtopology } from '../../../topology/topology.ts'
import type { ChangelogRestore, RestoredOwner } from '../../../topology/runtime/changelog-restore.ts'
import { TaskManager, type ManagedState, type ManagedTask } from '../../../topology/runtime/task-manager.ts'

type Journal = string[]
const tp = (topic: string, partition: number): TopicPartition => ({ topic, partition })

class FakeTask implements ManagedTask {
  readonly name: string
  readonly inputs: TopicPartition[]
  readonly journal: Journal
  constructor (name: string, inputs: TopicPartition[], journal: Journal) { this.name = name; this.inputs = inputs; this.journal = journal }
  initialize (): void { this.journal.push(`${this.name}:initialize`) }
  abortUncommitted (): void {}
  close (): void { this.journal.push(`${this.name}:close`) }
}

class FakeState implements ManagedState {
  offsets: Array<TopicPartition & { offset: bigint }> = []
  closed = false
  readonly name: string
  readonly changelog: TopicPartition
  readonly journal: Journal
  constructor (name: string, changelog: TopicPartition, journal: Journal) { this.name = name; this.changelog = changelog; this.journal = journal }
  changelogRestores (): ChangelogRestore[] { return [{ changelog: this.changelog, store: 'sums', from: null, apply: () => {} }] }
  restored (offsets: ReadonlyArray<TopicPartition & { offset: bigint }>): void { this.offsets = [...offsets] }
  setQueryableState (): void {}
  async checkpointAtEnd (): Promise<void> { this.journal.push(`${this.name}:checkpointAtEnd`) }
  writeCheckpoint (): void { this.journal.push(`${this.name}:writeCheckpoint@${this.offsets.map(o => o.offset).join(',')}`) }
  async close (): Promise<void> { this.closed = true; this.journal.push(`${this.name}:closeStores`) }
}

/** A changelog reader: restore mode (completes owners on finish()) or standby mode (positions). */
class FakeReader {
  readonly registered = new Map<string, ChangelogRestore[]>()
  readonly journal: Journal
  readonly kind: string
  position = 0n
  done: RestoredOwner[] = []
  steps = 0
  constructor (kind: string, journal: Journal) { this.kind = kind; this.journal = journal }
  async register (owner: string, restores: ChangelogRestore[]): Promise<void> { this.registered.set(owner, restores); this.journal.push(`${owner}:register-${this.kind}`) }
  unregister (owner: string): Array<TopicPartition & { offset: bigint }> {
    const out = this.positions(owner)
    this.registered.delete(owner)
    return out
  }

  positions (owner: string): Array<TopicPartition & { offset: bigint }> { return (this.registered.get(owner) ?? []).map(r => ({ ...r.changelog, offset: this.position })) }
  async step (): Promise<RestoredOwner[]> { this.steps++; const d = this.done.filter(x => this.registered.delete(x.owner)); this.done = []; return d }
  finish (owner: string): void { this.done.push({ owner, offsets: this.positions(owner), records: 0, durationMs: 1 }) }
}

const SUBTOPOLOGIES: Subtopology[] = [{ id: 0, nodes: [], sourceTopics: ['in'], stores: ['sums'] }]

function setup (options: { deferStandbys?: boolean } = {}) {
  const journal: Journal = []
  const restorer = new FakeReader('restore', journal)
  const standbyReader = new FakeReader('standby', journal)
  const standbyClosed: string[] = []
  const consumer = {
    assigned: [] as TopicPartition[],
    pause (): void {},
    resume (): void {},
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
      return { task: new FakeTask(name, [tp('in', partition)], journal), state: standby?.state ?? new FakeState(name, tp('app-sums-changelog', partition), journal) }
    },
    createStandby: async (name, _sub, partition) => {
      journal.push(`${name}:create-standby`)
      return new FakeState(name, tp('app-sums-changelog', partition), journal)
    },
    onStandbyClosed: name => standbyClosed.push(name),
    ...options
  })
  return { manager, journal, restorer, standbyReader, consumer, standbyClosed }
}

t.test('standbys: created, never running, checkpointed when moved, handed over to their active', async t => {
  const { manager, journal, restorer, standbyReader, consumer, standbyClosed } = setup()
  consumer.assigned = [tp('in', 0)]
  await manager.handleAssignment([tp('in', 0)], { standby: new Set(['0_1']), warmup: new Set(['0_2']) })
  t.same([...manager.standbys.keys()].sort(), ['0_1', '0_2'])
  t.equal(manager.standbys.get('0_1')!.warmup, false)
  t.equal(manager.standbys.get('0_2')!.warmup, true, 'a warm-up is a standby flagged as such')
  t.ok([...manager.standbys.values()].every(s => s.lifecycle.is('RUNNING') && s.lifecycle.type === 'standby'))
  t.same([...standbyReader.registered.keys()].sort(), ['0_1', '0_2'], 'registered with the standby reader')
  t.same([...restorer.registered.keys()], ['0_0'], 'the restore reader has only the active')
  t.notOk(manager.activeTasks.has('0_1'), 'not an active task (no queries, no processing)')

  await manager.standbyStep()
  t.equal(standbyReader.steps, 1, 'standbyStep() steps the standby reader')

  // Checkpoints: only when the stores moved.
  standbyReader.position = 5n
  journal.length = 0
  manager.checkpointStandbys()
  t.same(journal.sort(), ['0_1:writeCheckpoint@5', '0_2:writeCheckpoint@5'])
  journal.length = 0
  manager.checkpointStandbys()
  t.same(journal, [], 'unchanged: no checkpoint written')

  // 0_1 becomes active here, 0_2 stays a warm-up promoted to a standby.
  standbyReader.position = 9n
  journal.length = 0
  consumer.assigned = [tp('in', 0), tp('in', 1)]
  await manager.handleAssignment([tp('in', 0), tp('in', 1)], { standby: new Set(['0_2']), warmup: new Set() })
  t.ok(journal.includes('0_1:create-active-from-standby@9'), `the standby hands its open stores over, at what it applied: ${journal.join(' ')}`)
  t.notOk(journal.includes('0_1:closeStores'), 'no close, no reopen')
  t.same([...manager.standbys.keys()], ['0_2'])
  t.equal(manager.standbys.get('0_2')!.warmup, false, 'the role follows the assignment')
  t.notOk(journal.includes('0_2:create-standby'), 'a kept standby is not reopened')
  t.same(standbyClosed, ['0_1'])
  t.ok(restorer.registered.has('0_1'), 'the new active restores (from where the standby got)')

  // Not assigned any more: closed with a checkpoint.
  journal.length = 0
  await manager.handleAssignment([tp('in', 0), tp('in', 1)])
  t.same(journal.filter(l => l.startsWith('0_2')), ['0_2:writeCheckpoint@9', '0_2:closeStores'])
  t.equal(manager.standbys.size, 0)

  // Shutdown closes standbys too.
  await manager.handleAssignment([tp('in', 0), tp('in', 1)], { standby: new Set(['0_3']), warmup: new Set() })
  journal.length = 0
  await manager.closeAll(true)
  t.ok(journal.includes('0_3:closeStores'), 'closeAll closes the standbys')
  t.equal(manager.standbys.size, 0)
})

t.test('no standby creator: standby assignments are ignored', async t => {
  const journal: Journal = []
  const manager = new TaskManager<FakeTask, FakeState>({
    applicationId: 'app',
    subtopologies: SUBTOPOLOGIES,
    admin: { async listCommittedOffsets () { return [] }, async listOffsets () { return [] } },
    consumer: { pause () {}, resume () {}, seek () {}, assignment () { return [] } },
    restorer: new FakeReader('restore', journal),
    createTask: async (name, _sub, partition) => ({ task: new FakeTask(name, [tp('in', partition)], journal), state: new FakeState(name, tp('c', partition), journal) })
  })
  await manager.handleAssignment([], { standby: new Set(['0_1']), warmup: new Set() })
  t.equal(manager.standbys.size, 0)
})

t.test('deferStandbys: an assignment opens no standby itself; they open after it, a few at a time, while the active restores', async t => {
  const { manager, journal, standbyReader, consumer } = setup({ deferStandbys: true })
  consumer.assigned = [tp('in', 0)]
  await manager.handleAssignment([tp('in', 0)], { standby: new Set(['0_1', '0_3']), warmup: new Set(['0_2']) })
  t.same([...manager.pendingStandbys].sort(), [['0_1', false], ['0_2', true], ['0_3', false]], 'pending, with their roles (reported at the next join)')
  t.same([...manager.restoring.keys()], ['0_0'], 'the active is created at once')
  t.same(journal.filter(line => line.endsWith('create-standby')), ['0_2:create-standby', '0_1:create-standby'],
    'two (the default) started opening once the assignment was applied, the warm-up first, while the active restores (a cold start waited for its actives)')

  await manager.standbysOpened()
  t.same([...manager.standbys.keys()].sort(), ['0_1', '0_2', '0_3'], 'each open that ended started the next')
  t.equal(manager.pendingStandbys.size, 0)
  await manager.createPendingStandbys()
  t.equal(manager.standbys.get('0_2')!.warmup, true, 'a warm-up keeps its role')
  t.same([...standbyReader.registered.keys()].sort(), ['0_1', '0_2', '0_3'])

  // A new assignment replaces what is pending; open standbys follow it at once.
  await manager.handleAssignment([tp('in', 0)], { standby: new Set(['0_1', '0_4']), warmup: new Set() })
  t.same([...manager.pendingStandbys.keys()], ['0_4'])
  t.same([...manager.standbys.keys()], ['0_1'], 'standbys no longer assigned closed at once')
  await manager.closeAll(true)
  t.equal(manager.pendingStandbys.size, 0, 'closeAll forgets what is pending')
})

t.test('deferStandbys (cooperative): a pending active without a copy opens first, as a warm-up, and hands over', async t => {
  const { manager, journal, standbyReader, consumer } = setup({ deferStandbys: true })
  consumer.assigned = [tp('in', 0)]
  // 0_2 is assigned here but its owner still revokes it (not among the added partitions).
  await manager.handleIncrementalAssignment([tp('in', 0)], { standby: new Set(['0_1']), warmup: new Set() }, new Set(['0_0', '0_2']))
  t.same([...manager.pendingStandbys], [['0_2', true], ['0_1', false]], 'the pending active first, as a warm-up')
  t.same([...manager.pendingActives], [], 'reported with the pending standbys')
  t.same(journal.filter(line => line.endsWith('create-standby')), ['0_2:create-standby', '0_1:create-standby'], 'it starts opening first, after the callback')
  await manager.createPendingStandbys(1)
  await manager.standbysOpened()
  t.same([...manager.standbys.keys()].sort(), ['0_1', '0_2'])
  t.equal(manager.standbys.get('0_2')!.warmup, true)

  // The follow-up round adds its partitions: the warm-up's stores become the active's.
  standbyReader.position = 4n
  consumer.assigned = [tp('in', 0), tp('in', 2)]
  await manager.handleIncrementalAssignment([tp('in', 2)], { standby: new Set(['0_1']), warmup: new Set() }, new Set(['0_0', '0_2']))
  t.ok(journal.includes('0_2:create-active-from-standby@4'), `handed over: ${journal.join(' ')}`)
  t.notOk(journal.includes('0_2:closeStores'))
  t.same([...manager.restoring.keys()].sort(), ['0_0', '0_2'])
})

t.test('cooperative: a standby no longer assigned closes after the assignment returns', async t => {
  const { manager, journal } = setup()
  await manager.handleIncrementalAssignment([], { standby: new Set(['0_1']), warmup: new Set() })
  const state = manager.standbys.get('0_1')!.state
  let release!: () => void
  const slow = new Promise<void>(resolve => { release = resolve })
  const close = state.close.bind(state)
  state.close = async () => { await slow; await close() }
  await manager.handleIncrementalAssignment([], { standby: new Set(), warmup: new Set() })
  t.equal(manager.standbys.size, 0, 'gone at once')
  t.ok(journal.includes('0_1:writeCheckpoint@0'), 'checkpointed')
  t.notOk(state.closed, 'its stores still closing')
  const reopen = manager.handleIncrementalAssignment([], { standby: new Set(['0_1']), warmup: new Set() })
  await new Promise(resolve => setImmediate(resolve))
  t.notOk(manager.standbys.has('0_1'), 'opened again only once closed')
  release()
  await reopen
  t.ok(state.closed)
  t.ok(manager.standbys.has('0_1'))
  await manager.closeAll(true)
})

t.test('deferStandbys: createPendingStandbys() returns before the stores are open, at most `max` opening', async t => {
  const journal: Journal = []
  const standbyReader = new FakeReader('standby', journal)
  const restorer = new FakeReader('restore', journal)
  const gates: Array<() => void> = []
  let fail = false
  const manager = new TaskManager<FakeTask, FakeState>({
    applicationId: 'app',
    subtopologies: SUBTOPOLOGIES,
    admin: { async listCommittedOffsets () { return [] }, async listOffsets () { return [] } },
    consumer: { pause () {}, resume () {}, seek () {}, assignment () { return [] } },
    restorer,
    standbyReader,
    createTask: async (name, _sub, partition) => ({ task: new FakeTask(name, [tp('in', partition)], journal), state: new FakeState(name, tp('c', partition), journal) }),
    createStandby: async (name, _sub, partition) => {
      await new Promise<void>(resolve => gates.push(resolve))
      if (fail) throw new Error('disk full')
      return new FakeState(name, tp('app-sums-changelog', partition), journal)
    },
    deferStandbys: true
  })
  await manager.handleAssignment([tp('in', 0)], { standby: new Set(['0_1', '0_2', '0_3']), warmup: new Set() })
  t.equal(gates.length, 2, 'two opening at once while the active restores (a cold start waited for its actives)')
  restorer.finish('0_0')
  await manager.restoreStep(0)
  await manager.createPendingStandbys(2)
  t.equal(gates.length, 2, 'two opening, the call returned')
  t.equal(manager.pendingStandbys.size, 3, 'those opening are still pending (reported at a join)')
  await manager.createPendingStandbys(2)
  t.equal(gates.length, 2, 'no third while two are opening')
  gates.shift()!()
  await new Promise(resolve => setImmediate(resolve))
  t.equal(manager.standbys.size, 1, 'the first is open and registered')
  t.equal(gates.length, 2, 'and the last pending one started opening, without another call')
  fail = true
  gates.shift()!()
  await new Promise(resolve => setImmediate(resolve))
  await t.rejects(manager.createPendingStandbys(2), /disk full/, 'a failed open is thrown by the next call')
  await manager.createPendingStandbys(2)
  t.equal(gates.length, 1, 'the last one still opening')
  // An assignment waits for the opens under way.
  const assigned = manager.handleAssignment([], { standby: new Set(['0_1']), warmup: new Set() })
  await new Promise(resolve => setImmediate(resolve))
  fail = false
  gates.shift()!()
  await assigned
  t.same([...manager.standbys.keys()], ['0_1'], 'the assignment applied once the open settled')
  await manager.closeAll(true)
})

t.test('deferStandbys (cooperative): an assignment waits only for the opens of tasks it moves or drops; the others go on', async t => {
  const journal: Journal = []
  const standbyReader = new FakeReader('standby', journal)
  const restorer = new FakeReader('restore', journal)
  const gates = new Map<string, () => void>()
  const manager = new TaskManager<FakeTask, FakeState>({
    applicationId: 'app',
    subtopologies: SUBTOPOLOGIES,
    admin: { async listCommittedOffsets () { return [] }, async listOffsets () { return [] } },
    consumer: { pause () {}, resume () {}, seek () {}, assignment () { return [] } },
    restorer,
    standbyReader,
    createTask: async (name, _sub, partition, standby) => {
      journal.push(standby === undefined ? `${name}:create-active` : `${name}:create-active-from-standby`)
      return { task: new FakeTask(name, [tp('in', partition)], journal), state: standby?.state ?? new FakeState(name, tp('c', partition), journal) }
    },
    createStandby: async (name, _sub, partition) => {
      journal.push(`${name}:create-standby`)
      await new Promise<void>(resolve => gates.set(name, resolve))
      return new FakeState(name, tp('app-sums-changelog', partition), journal)
    },
    deferStandbys: true
  })
  const settled = async (p: Promise<void>): Promise<boolean> => {
    let done = false
    void p.then(() => { done = true })
    for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve))
    return done
  }
  await manager.handleIncrementalAssignment([], { standby: new Set(['0_1', '0_3']), warmup: new Set(['0_2']) })
  await manager.createPendingStandbys(3)
  t.same([...gates.keys()].sort(), ['0_1', '0_2', '0_3'], 'three opening')

  // 0_2 becomes active here, 0_3 is no longer assigned, 0_1 stays a standby (now a warm-up).
  const assigned = manager.handleIncrementalAssignment([tp('in', 2)], { standby: new Set(), warmup: new Set(['0_1']) })
  t.notOk(await settled(assigned), 'waits for the open of the task it makes active')
  gates.get('0_2')!()
  t.notOk(await settled(assigned), 'and for the open of the task it drops')
  gates.get('0_3')!()
  t.ok(await settled(assigned), 'not for the open of the standby it keeps')
  await assigned
  t.ok(journal.includes('0_2:create-active-from-standby'), 'the opened stores handed over to the active')
  t.same([...manager.standbys.keys()], [], '0_3 closed, 0_1 still opening')
  t.notOk(manager.restoring.has('0_1'))
  gates.get('0_1')!()
  await manager.standbysOpened()
  t.same([...manager.standbys.keys()], ['0_1'], 'the kept one opened')
  t.equal(manager.standbys.get('0_1')!.warmup, true, 'with the role of the assignment that kept it')
  t.equal(journal.filter(line => line === '0_1:create-standby').length, 1, 'opened once')
  t.ok(journal.includes('0_3:closeStores'), 'the dropped one closed once opened')
  await manager.closeAll(true)
})
