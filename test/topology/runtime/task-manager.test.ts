// The task manager (task-manager.ts) with fake tasks, stores, consumer and changelog reader, so
// each lifecycle decision is visible: new tasks restore with their inputs paused and run once the
// reader reports them restored (sought to their committed offsets); revocation suspends; the next
// assignment resumes kept tasks without a restore, closes revoked ones with a checkpoint at the
// changelog end, stops restoring ones where they got; lost partitions and failed commits close
// dirty at the last commit's checkpoint; an illegal move (a bug) throws.
import t from 'tap'
import type { LogAdmin, PartitionOffset, TopicPartition } from '../../../log/log-port.ts'
import type { Subtopology } from '../../../topology/topology.ts'
import type { ChangelogRestore, RestoredOwner } from '../../../topology/runtime/changelog-restore.ts'
import { partitionKey } from '../../../topology/runtime/partition-group.ts'
import { IllegalTaskTransitionError } from '../../../topology/runtime/task-lifecycle.ts'
import { TaskManager, type ManagedState, type ManagedTask, type TaskRestored } from '../../../topology/runtime/task-manager.ts'

const key = (tp: TopicPartition): string => `${tp.topic}-${tp.partition}`

/** Every call the fakes see, in order, as `task:call` lines. */
type Journal = string[]

class FakeTask implements ManagedTask {
  readonly name: string
  readonly inputs: TopicPartition[]
  readonly journal: Journal
  failInitialize = false
  constructor (name: string, inputs: TopicPartition[], journal: Journal) {
    this.name = name; this.inputs = inputs; this.journal = journal
  }

  initialize (): void {
    if (this.failInitialize) throw new Error('processor init failed')
    this.journal.push(`${this.name}:initialize`)
  }

  abortUncommitted (): void { this.journal.push(`${this.name}:abortUncommitted`) }
  close (): void { this.journal.push(`${this.name}:close`) }
}

class FakeState implements ManagedState {
  queryable = ''
  /** Changelog offsets the stores hold, as last told by restored(). */
  offsets: Array<TopicPartition & { offset: bigint }> = []
  closed = false
  readonly name: string
  readonly changelog: TopicPartition
  readonly journal: Journal
  constructor (name: string, changelog: TopicPartition, journal: Journal) {
    this.name = name; this.changelog = changelog; this.journal = journal
  }

  changelogRestores (): ChangelogRestore[] { return [{ changelog: this.changelog, store: 'sums', from: null, apply: () => {} }] }
  restored (offsets: ReadonlyArray<TopicPartition & { offset: bigint }>): void { this.offsets = [...offsets]; this.journal.push(`${this.name}:restored@${offsets.map(o => o.offset).join(',')}`) }
  setQueryableState (state: 'RESTORING' | 'READY' | 'CLOSED'): void { this.queryable = state }
  async checkpointAtEnd (): Promise<void> { this.journal.push(`${this.name}:checkpointAtEnd`) }
  writeCheckpoint (): void { this.journal.push(`${this.name}:writeCheckpoint@${this.offsets.map(o => o.offset).join(',')}`) }
  async close (): Promise<void> { this.closed = true; this.queryable = 'CLOSED'; this.journal.push(`${this.name}:closeStores`) }
}

class FakeConsumer {
  readonly paused = new Set<string>()
  readonly seeks: PartitionOffset[] = []
  assigned: TopicPartition[] = []
  pause (tps: TopicPartition[]): void { for (const tp of tps) this.paused.add(key(tp)) }
  resume (tps: TopicPartition[]): void { for (const tp of tps) this.paused.delete(key(tp)) }
  seek (o: PartitionOffset): void { this.seeks.push(o) }
  assignment (): TopicPartition[] { return this.assigned }
}

class FakeRestorer {
  readonly registered = new Map<string, ChangelogRestore[]>()
  /** What the next step() reports done. */
  done: RestoredOwner[] = []
  /** Where an unregistered owner's restore got. */
  position = 3n
  failRegister = false
  async register (owner: string, restores: ChangelogRestore[]): Promise<void> {
    if (this.failRegister) throw new Error('listOffsets failed')
    if (this.registered.has(owner)) throw new Error(`${owner} is already restoring`)
    this.registered.set(owner, restores)
  }

  unregister (owner: string): Array<TopicPartition & { offset: bigint }> {
    const restores = this.registered.get(owner) ?? []
    this.registered.delete(owner)
    return restores.map(r => ({ ...r.changelog, offset: this.position }))
  }

  async step (): Promise<RestoredOwner[]> {
    const done = this.done.filter(d => this.registered.delete(d.owner))
    this.done = []
    return done
  }

  finish (...owners: string[]): void {
    for (const owner of owners) {
      const restores = this.registered.get(owner)!
      this.done.push({ owner, offsets: restores.map(r => ({ ...r.changelog, offset: 10n })), records: 10, durationMs: 5 })
    }
  }
}

// Two sub-topologies: 0 reads `in` (2 partitions), 1 reads `a` and `b` co-partitioned.
const SUBTOPOLOGIES: Subtopology[] = [
  { id: 0, nodes: [], sourceTopics: ['in'], stores: ['sums'] },
  { id: 1, nodes: [], sourceTopics: ['a', 'b'], stores: ['sums'] }
]
const tp = (topic: string, partition: number): TopicPartition => ({ topic, partition })

function setup (): { manager: TaskManager<FakeTask, FakeState>, consumer: FakeConsumer, restorer: FakeRestorer, journal: Journal, tasks: Map<string, FakeTask>, states: Map<string, FakeState>, restoredEvents: TaskRestored[], closed: string[] } {
  const journal: Journal = []
  const consumer = new FakeConsumer()
  const restorer = new FakeRestorer()
  const tasks = new Map<string, FakeTask>()
  const states = new Map<string, FakeState>()
  const restoredEvents: TaskRestored[] = []
  const closed: string[] = []
  // Committed offsets: 42 for every input partition except `in`-1, which has none (log start 7).
  const admin = {
    async listCommittedOffsets (_group: string, tps: TopicPartition[]): Promise<PartitionOffset[]> {
      return tps.filter(p => key(p) !== 'in-1').map(p => ({ ...p, offset: 42n }))
    },
    async listOffsets (tps: TopicPartition[]): Promise<PartitionOffset[]> { return tps.map(p => ({ ...p, offset: 7n })) }
  } satisfies Pick<LogAdmin, 'listOffsets' | 'listCommittedOffsets'>
  const manager = new TaskManager<FakeTask, FakeState>({
    applicationId: 'app',
    subtopologies: SUBTOPOLOGIES,
    admin,
    consumer,
    restorer,
    createTask: async (name, sub, partition) => {
      journal.push(`${name}:create`)
      const task = new FakeTask(name, sub.sourceTopics.map(topic => tp(topic, partition)), journal)
      const state = new FakeState(name, tp(`app-sums-changelog-${sub.id}`, partition), journal)
      state.setQueryableState('RESTORING')
      tasks.set(name, task); states.set(name, state)
      return { task, state }
    },
    onTaskRestored: r => restoredEvents.push(r),
    onTaskClosed: name => closed.push(name)
  })
  return { manager, consumer, restorer, journal, tasks, states, restoredEvents, closed }
}

const ASSIGNMENT = [tp('in', 0), tp('in', 1), tp('a', 0), tp('b', 0)]

t.test('assigned tasks restore with their inputs paused, then run from their committed offsets', async t => {
  const { manager, consumer, restorer, states, restoredEvents } = setup()
  consumer.assigned = ASSIGNMENT
  await manager.handleAssignment(ASSIGNMENT)
  t.same([...manager.restoring.keys()].sort(), ['0_0', '0_1', '1_0'], 'one task per (sub-topology, partition)')
  t.equal(manager.running.size, 0, 'none runs before its restore')
  t.same([...manager.activeTasks.keys()].sort(), ['0_0', '0_1', '1_0'], 'restoring tasks are visible to queries')
  t.same([...consumer.paused].sort(), ['a-0', 'b-0', 'in-0', 'in-1'], 'their inputs are paused')
  t.same([...restorer.registered.keys()].sort(), ['0_0', '0_1', '1_0'], 'their changelogs are registered')
  t.equal(states.get('0_0')!.queryable, 'RESTORING')

  t.equal(await manager.restoreStep(0), 0, 'nothing restored yet')
  restorer.finish('0_0', '0_1')
  t.equal(await manager.restoreStep(0), 2)
  t.same([...manager.running.keys()].sort(), ['0_0', '0_1'])
  t.same([...manager.restoring.keys()], ['1_0'])
  t.equal(manager.running.get('0_0')!.lifecycle.state, 'RUNNING')
  t.equal(states.get('0_0')!.queryable, 'READY', 'a running task answers queries')
  t.same(states.get('0_0')!.offsets.map(o => o.offset), [10n], 'its stores hold the changelog up to where the restore ended')
  t.same([...consumer.paused].sort(), ['a-0', 'b-0'], 'restored inputs resume')
  t.same(consumer.seeks.map(s => `${key(s)}@${s.offset}`).sort(), ['in-0@42', 'in-1@7'], 'sought to committed offsets (the log start without)')
  t.same(restoredEvents.map(r => r.task).sort(), ['0_0', '0_1'])
  t.equal(manager.taskForInput(partitionKey(tp('in', 1)))?.task.name, '0_1', 'running tasks are found by input partition')
  t.equal(manager.taskForInput(partitionKey(tp('a', 0))), undefined, 'restoring ones are not fed')
})

t.test('revocation suspends; the next assignment resumes kept, closes revoked, creates added', async t => {
  const { manager, consumer, restorer, journal, states, closed } = setup()
  consumer.assigned = ASSIGNMENT
  await manager.handleAssignment(ASSIGNMENT)
  restorer.finish('0_0', '0_1', '1_0')
  await manager.restoreStep(0)
  t.equal(manager.running.size, 3)

  journal.length = 0
  manager.suspendAll(true)
  t.equal(manager.running.size, 0)
  t.same([...manager.suspended.keys()].sort(), ['0_0', '0_1', '1_0'])
  t.equal(manager.suspended.get('0_0')!.lifecycle.state, 'SUSPENDED')
  t.equal(manager.taskForInput(partitionKey(tp('in', 0))), undefined, 'a suspended task is not fed')
  t.same(journal.sort(), ['0_0:abortUncommitted', '0_1:abortUncommitted', '1_0:abortUncommitted'], 'committed: buffered records dropped')
  t.equal(states.get('0_0')!.closed, false, 'stores stay open')

  // Kept: 0_0 (in-0). Revoked: 0_1, 1_0. Added: 1_1.
  journal.length = 0
  const next = [tp('in', 0), tp('a', 1), tp('b', 1)]
  consumer.assigned = next
  await manager.handleAssignment(next)
  t.same([...manager.running.keys()], ['0_0'], 'the kept task runs again')
  t.notOk(journal.includes('0_0:create') || restorer.registered.has('0_0'), 'without a restore')
  t.same([...manager.restoring.keys()], ['1_1'], 'the added task restores')
  t.equal(manager.suspended.size, 0)
  for (const name of ['0_1', '1_0']) {
    t.ok(journal.includes(`${name}:checkpointAtEnd`), `${name} checkpoints at the changelog end (clean)`)
    t.ok(journal.indexOf(`${name}:checkpointAtEnd`) < journal.indexOf(`${name}:closeStores`), `${name}: checkpoint before the stores close`)
    t.ok(journal.includes(`${name}:close`), `${name} closes`)
    t.equal(states.get(name)!.closed, true)
  }
  t.same(closed.sort(), ['0_1', '1_0'])
  t.equal(manager.taskForInput(partitionKey(tp('in', 0)))?.task.name, '0_0')
  t.equal(manager.taskForInput(partitionKey(tp('in', 1))), undefined)
})

t.test('a task revoked while restoring stops where it got and checkpoints there', async t => {
  const { manager, consumer, restorer, journal } = setup()
  consumer.assigned = ASSIGNMENT
  await manager.handleAssignment(ASSIGNMENT)
  manager.suspendAll(true) // nothing running: restoring tasks stay restoring
  t.equal(manager.restoring.size, 3)
  consumer.paused.clear() // a rebalance clears pauses (docs/engine.md "Processing model", Bounds)
  const next = [tp('in', 0)]
  consumer.assigned = next
  await manager.handleAssignment(next)
  t.same([...manager.restoring.keys()], ['0_0'], 'the kept restoring task goes on restoring')
  t.same([...consumer.paused], ['in-0'], 'its input is paused again')
  t.ok(journal.includes('0_1:restored@3') && journal.includes('0_1:writeCheckpoint@3'), 'the revoked one checkpoints where its restore got')
  t.notOk(journal.includes('0_1:checkpointAtEnd'), 'not at the changelog end')
  t.notOk(restorer.registered.has('0_1'), 'and is unregistered from the reader')
  t.same([...restorer.registered.keys()], ['0_0'])
})

t.test('lost partitions and failed commits close dirty, at the last commit', async t => {
  const { manager, consumer, restorer, journal } = setup()
  consumer.assigned = ASSIGNMENT
  await manager.handleAssignment(ASSIGNMENT)
  restorer.finish('0_0', '0_1')
  await manager.restoreStep(0)

  journal.length = 0
  await manager.handleLost([tp('in', 1)])
  t.same([...manager.running.keys()], ['0_0'])
  t.same(journal, ['0_1:close', '0_1:abortUncommitted', '0_1:writeCheckpoint@10', '0_1:closeStores'], 'dirty: uncommitted work dropped, last commit checkpointed')
  t.equal(manager.taskForInput(partitionKey(tp('in', 1))), undefined)

  journal.length = 0
  const owned = await manager.closeAllDirty()
  t.same(owned.map(key).sort(), ['a-0', 'b-0', 'in-0'], 'the inputs of running and restoring tasks, to rebuild')
  t.equal(manager.activeTasks.size, 0)
  t.ok(journal.includes('0_0:writeCheckpoint@10') && journal.includes('1_0:writeCheckpoint@3'), 'running at the last commit, restoring where it got')
  t.notOk(journal.some(line => line.endsWith('checkpointAtEnd')), 'nothing closes clean')

  // Rebuilt: new task objects restore from the checkpoint.
  await manager.createTasks(owned)
  t.same([...manager.restoring.keys()].sort(), ['0_0', '1_0'])
})

t.test('shutdown closes running and suspended tasks clean after a commit, restoring ones where they got', async t => {
  const { manager, consumer, restorer, journal } = setup()
  consumer.assigned = ASSIGNMENT
  await manager.handleAssignment(ASSIGNMENT)
  restorer.finish('0_0')
  await manager.restoreStep(0)
  journal.length = 0
  await manager.closeAll(true)
  t.ok(journal.includes('0_0:checkpointAtEnd'))
  t.ok(journal.includes('0_1:writeCheckpoint@3') && journal.includes('1_0:writeCheckpoint@3'))
  t.equal(manager.activeTasks.size, 0)
  t.equal(restorer.registered.size, 0)
})

t.test('rewind drops uncommitted work and seeks to the committed offsets of assigned inputs', async t => {
  const { manager, consumer, restorer, journal } = setup()
  consumer.assigned = ASSIGNMENT
  await manager.handleAssignment(ASSIGNMENT)
  restorer.finish('0_0', '0_1')
  await manager.restoreStep(0)
  consumer.seeks.length = 0
  journal.length = 0
  consumer.assigned = [tp('in', 0)] // in-1 moved away meanwhile: not sought
  await manager.rewind(manager.running.values())
  t.same(journal.sort(), ['0_0:abortUncommitted', '0_1:abortUncommitted'])
  t.same(consumer.seeks.map(s => `${key(s)}@${s.offset}`), ['in-0@42'])
})

t.test('failures while creating or initialising leave no half-made task', async t => {
  const failing = setup()
  failing.restorer.failRegister = true
  await t.rejects(failing.manager.handleAssignment([tp('in', 0)]), /listOffsets failed/)
  t.equal(failing.manager.activeTasks.size, 0)
  t.equal(failing.states.get('0_0')!.closed, true, 'its stores are closed')

  const { manager, restorer, tasks, states } = setup()
  await manager.handleAssignment([tp('in', 0)])
  tasks.get('0_0')!.failInitialize = true
  restorer.finish('0_0')
  await t.rejects(manager.restoreStep(0), /processor init failed/)
  t.equal(manager.activeTasks.size, 0)
  t.equal(states.get('0_0')!.closed, true)
})

t.test('an illegal move throws instead of corrupting the bookkeeping', async t => {
  const { manager, consumer, restorer } = setup()
  consumer.assigned = [tp('in', 0)]
  await manager.handleAssignment([tp('in', 0)])
  restorer.finish('0_0')
  await manager.restoreStep(0)
  const active = manager.running.get('0_0')!
  manager.suspendAll(false)
  t.throws(() => active.lifecycle.transitionTo('RESTORING'), IllegalTaskTransitionError, 'a suspended task resumes, it does not restore again')
  await manager.closeAll(false)
  t.equal(active.lifecycle.state, 'CLOSED')
  t.throws(() => active.lifecycle.transitionTo('RUNNING'), IllegalTaskTransitionError, 'a closed task stays closed')
})
