// Reads through a task's move (docs/engine.md "Interactive queries"): a standby handing over to its
// active here is marked until that active exists (TaskManager.handover), a restoring active is a
// readable copy like a standby (readable-copies.ts) once its restore is registered, and a read
// arriving during the hand-over waits for it and reads the restoring copy (standby-queries.ts);
// a copy that started running while it was measured is current; the wait is bounded.
import t from 'tap'
import type { LogAdmin, PartitionOffset, TopicPartition } from '../../../log/log-port.ts'
import type { Subtopology } from '../../../topology/topology.ts'
import type { ChangelogRestore, RestoredOwner } from '../../../topology/runtime/changelog-restore.ts'
import { readableCopy } from '../../../topology/runtime/readable-copies.ts'
import type { StandbyCopy } from '../../../topology/runtime/stream-thread.ts'
import { TaskManager, type ManagedState, type ManagedTask } from '../../../topology/runtime/task-manager.ts'
import type { TaskStateManager } from '../../../topology/runtime/task-state-manager.ts'
import { StandbyQueries } from '../../../topology/standby-queries.ts'

const tp = (topic: string, partition: number): TopicPartition => ({ topic, partition })
const CHANGELOG = tp('app-sums-changelog', 1)

class FakeTask implements ManagedTask {
  readonly name: string
  readonly inputs: TopicPartition[]
  constructor (name: string, inputs: TopicPartition[]) { this.name = name; this.inputs = inputs }
  initialize (): void {}
  abortUncommitted (): void {}
  close (): void {}
}

class FakeState implements ManagedState {
  readonly changelog: TopicPartition
  constructor (changelog: TopicPartition) { this.changelog = changelog }
  changelogRestores (): ChangelogRestore[] { return [{ changelog: this.changelog, store: 'sums', from: null, apply: () => {} }] }
  restored (): void {}
  setQueryableState (): void {}
  async checkpointAtEnd (): Promise<void> {}
  writeCheckpoint (): void {}
  async close (): Promise<void> {}
}

class FakeReader {
  readonly registered = new Map<string, ChangelogRestore[]>()
  position = 0n
  done: RestoredOwner[] = []
  async register (owner: string, restores: ChangelogRestore[]): Promise<void> { this.registered.set(owner, restores) }
  unregister (owner: string): Array<TopicPartition & { offset: bigint }> { const out = this.positions(owner); this.registered.delete(owner); return out }
  positions (owner: string): Array<TopicPartition & { offset: bigint }> { return (this.registered.get(owner) ?? []).map(r => ({ ...r.changelog, offset: this.position })) }
  appliedPositions (owner: string): Array<TopicPartition & { offset: bigint }> { return this.positions(owner) }
  get owners (): ReadonlySet<string> { return new Set(this.registered.keys()) }
  async step (): Promise<RestoredOwner[]> { const d = this.done.filter(x => this.registered.delete(x.owner)); this.done = []; return d }
  finish (owner: string): void { this.done.push({ owner, offsets: this.positions(owner), records: 0, durationMs: 1 }) }
}

const SUBTOPOLOGIES: Subtopology[] = [{ id: 0, nodes: [], sourceTopics: ['in'], stores: ['sums'] }]

/** A task manager whose active task creation waits for `openActive()` (stores opening). */
function setup () {
  const restorer = new FakeReader()
  const standbyReader = new FakeReader()
  let gate: Promise<void> = Promise.resolve()
  let open: () => void = () => {}
  const groupAdmin = {
    async listCommittedOffsets (_g: string, tps: TopicPartition[]): Promise<PartitionOffset[]> { return tps.map(p => ({ ...p, offset: 0n })) },
    async listOffsets (tps: TopicPartition[]): Promise<PartitionOffset[]> { return tps.map(p => ({ ...p, offset: 0n })) }
  } satisfies Pick<LogAdmin, 'listOffsets' | 'listCommittedOffsets'>
  const manager = new TaskManager<FakeTask, FakeState>({
    applicationId: 'app',
    subtopologies: SUBTOPOLOGIES,
    admin: groupAdmin,
    consumer: { pause () {}, resume () {}, seek () {}, assignment () { return [tp('in', 1)] } },
    restorer,
    standbyReader,
    createTask: async (name, _sub, partition) => {
      await gate
      return { task: new FakeTask(name, [tp('in', partition)]), state: new FakeState(tp('app-sums-changelog', partition)) }
    },
    createStandby: async (_name, _sub, partition) => new FakeState(tp('app-sums-changelog', partition))
  })
  const holdActive = (): void => { gate = new Promise(resolve => { open = resolve }) }
  const sources = () => ({ tasks: manager as unknown as TaskManager, standbyReader, restorer })
  return { manager, restorer, standbyReader, holdActive, openActive: () => open(), sources }
}

const STANDBY_1 = { standby: new Set(['0_1']), warmup: new Set<string>() }

for (const protocol of ['cooperative', 'eager'] as const) {
  t.test(`${protocol}: a standby becoming active here is handing over until its active exists`, async t => {
    const { manager, restorer, standbyReader, holdActive, openActive, sources } = setup()
    if (protocol === 'cooperative') await manager.handleIncrementalAssignment([], STANDBY_1)
    else await manager.handleAssignment([], STANDBY_1)
    standbyReader.position = 7n
    t.equal(manager.handover('0_1'), undefined, 'a standby that stays: no hand-over')
    const standbyCopy = readableCopy(sources(), '0_1')
    t.same(standbyCopy?.applied, [{ ...CHANGELOG, offset: 7n }], 'the standby is the readable copy')

    holdActive()
    const assigned = protocol === 'cooperative'
      ? manager.handleIncrementalAssignment([tp('in', 1)], { standby: new Set(), warmup: new Set() })
      : manager.handleAssignment([tp('in', 1)])
    await new Promise(resolve => setImmediate(resolve))
    const pending = manager.handover('0_1')
    t.ok(pending instanceof Promise, 'while the standby closes and the active opens: a hand-over')
    t.equal(readableCopy(sources(), '0_1'), undefined, 'no copy meanwhile (the stores reopen)')
    let settled = false
    void pending!.then(() => { settled = true })
    await new Promise(resolve => setImmediate(resolve))
    t.notOk(settled, 'not settled before the active exists')
    openActive()
    await assigned
    t.ok(settled, 'settled once the active was created')
    t.equal(manager.handover('0_1'), undefined, 'and forgotten')
    t.ok(manager.restoring.has('0_1'), 'the active restores')

    restorer.position = 9n
    const restoringCopy = readableCopy(sources(), '0_1')
    t.equal(restoringCopy?.state, manager.restoring.get('0_1')!.state as unknown, 'the restoring active is the readable copy')
    t.same(restoringCopy?.applied, [{ ...CHANGELOG, offset: 9n }], 'at what its restore applied')

    restorer.finish('0_1')
    await manager.restoreStep(0)
    t.ok(manager.running.has('0_1'))
    t.equal(readableCopy(sources(), '0_1'), undefined, 'running: the active answers, no stale copy')
  })
}

t.test('a hand-over that fails to create the active still ends', async t => {
  const failing = new TaskManager<FakeTask, FakeState>({
    applicationId: 'app',
    subtopologies: SUBTOPOLOGIES,
    admin: { async listCommittedOffsets () { return [] }, async listOffsets () { return [] } },
    consumer: { pause () {}, resume () {}, seek () {}, assignment () { return [] } },
    restorer: new FakeReader(),
    standbyReader: new FakeReader(),
    createTask: async () => { throw new Error('disk full') },
    createStandby: async (_name, _sub, partition) => new FakeState(tp('app-sums-changelog', partition))
  })
  await failing.handleIncrementalAssignment([], STANDBY_1)
  const assigned = failing.handleIncrementalAssignment([tp('in', 1)], { standby: new Set(), warmup: new Set() }).then(() => null, (error: unknown) => error)
  const pending = failing.handover('0_1')
  t.match(await assigned, /disk full/, 'the assignment fails')
  t.ok(pending instanceof Promise)
  await pending
  t.equal(failing.handover('0_1'), undefined, 'no hand-over left behind')
})

t.test('a restoring task is a copy only once its restore is registered', async t => {
  const restorer = new FakeReader()
  const state = new FakeState(CHANGELOG)
  const tasks = { standbys: new Map(), restoring: new Map([['0_1', { state }]]) } as unknown as TaskManager
  t.equal(readableCopy({ tasks, standbyReader: new FakeReader(), restorer }, '0_1'), undefined, 'not registered: its applied offsets are unknown (never lag 0)')
  await restorer.register('0_1', state.changelogRestores())
  t.ok(readableCopy({ tasks, standbyReader: new FakeReader(), restorer }, '0_1'))
  t.equal(readableCopy({ tasks, standbyReader: new FakeReader(), restorer: undefined }, '0_1'), undefined)
})

// ---- reads (standby-queries.ts) ----

const ENDS = new Map([[`${CHANGELOG.topic}:${CHANGELOG.partition}`, 10n]])
const admin = {
  listOffsets: async (partitions: TopicPartition[]): Promise<PartitionOffset[]> => partitions.map(p => ({ ...p, offset: ENDS.get(`${p.topic}:${p.partition}`) ?? 0n }))
} as unknown as LogAdmin

function fakeStore (values: Record<string, unknown>): TaskStateManager {
  return {
    standbyReadView: () => ({ get: (key: string) => values[key], range: () => [], prefixScan: () => [], approximateNumEntries: () => 0 })
  } as unknown as TaskStateManager
}

t.test('a read during a hand-over waits for it and reads the restoring copy', async t => {
  const restoring: StandbyCopy = { state: fakeStore({ m1: 300 }), applied: [{ ...CHANGELOG, offset: 10n }] }
  const here: { copy?: StandbyCopy } = {}
  let handover: (() => void) | undefined
  let pending: Promise<void> | undefined = new Promise(resolve => { handover = resolve })
  const queries = new StandbyQueries({ admin: () => admin, copy: () => here.copy, pending: () => pending })
  const read = queries.view('0_1', 0)
  await new Promise(resolve => setImmediate(resolve))
  here.copy = restoring
  pending = undefined
  handover!()
  const view = await read
  t.equal(view.lagRecords, 0)
  t.equal(view.store('balances').get('m1'), 300, 'read from the restoring active')
})

t.test('a hand-over longer than the wait: refused (STORE_NOT_READY)', async t => {
  const queries = new StandbyQueries({ admin: () => admin, copy: () => undefined, pending: () => new Promise(() => {}), handoverWaitMs: 20 })
  await t.rejects(queries.view('0_1', 0), { code: 'STORE_NOT_READY', details: { lagRecords: null } })
})

t.test('a restoring copy that starts running while measured is current, and its views stay open', async t => {
  const state = fakeStore({ m1: 300 })
  let copy: StandbyCopy | undefined = { state, applied: [{ ...CHANGELOG, offset: 4n }] }
  let running: TaskStateManager | undefined
  const slowAdmin = {
    listOffsets: async (partitions: TopicPartition[]): Promise<PartitionOffset[]> => {
      // The restore completes and the task runs while the end is being asked.
      copy = undefined
      running = state
      return await admin.listOffsets(partitions, 'latest')
    }
  } as unknown as LogAdmin
  const queries = new StandbyQueries({ admin: () => slowAdmin, copy: () => copy, running: () => running })
  const view = await queries.view('0_1', 0)
  t.equal(view.lagRecords, 0, 'running: current')
  t.equal(view.store('balances').get('m1'), 300)
  running = undefined
  t.throws(() => view.store('balances').get('m1'), { code: 'STORE_NOT_READY' }, 'closed (moved away): refused')
})
