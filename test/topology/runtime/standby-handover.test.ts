// A standby becoming active here hands its open stores over (task-manager.ts, TaskStateManager
// handOver, docs/engine.md "Standby tasks"), with real RocksDB stores in a temp state directory
// and fake changelog readers: the stores are never closed nor reopened (a read view taken on the
// standby keeps answering), the active serves the same answers, its restore starts where the
// standby reader got (only the delta), under exactly-once the standby's checkpoint is gone, and
// the active's writes go through the thread's cache budget.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { LogAdmin, PartitionOffset, TopicPartition } from '../../../log/log-port.ts'
import { StateDirectory } from '../../../stores/state-directory.ts'
import { ThreadCache } from '../../../stores/thread-cache.ts'
import { Serdes } from '../../../topology/serdes.ts'
import type { AnyStoreDefinition, Subtopology, Topology } from '../../../topology/topology.ts'
import { activeTaskCreator } from '../../../topology/runtime/active-task-creator.ts'
import type { ChangelogEntry, ChangelogRestore, RestoredOwner } from '../../../topology/runtime/changelog-restore.ts'
import { standbyTaskCreator } from '../../../topology/runtime/standby-task-creator.ts'
import { resolveStreamsConfig } from '../../../topology/runtime/streams-config.ts'
import { TaskManager } from '../../../topology/runtime/task-manager.ts'

const tp = (topic: string, partition: number): TopicPartition => ({ topic, partition })
const str = Serdes.string()
const entry = (key: string, value: string): ChangelogEntry => ({ key: str.serialize(key), value: str.serialize(value) })

/** A changelog reader that records registrations; its owners' stores are written by the test. */
class FakeReader {
  readonly registered = new Map<string, ChangelogRestore[]>()
  readonly position = new Map<string, bigint>()
  done: RestoredOwner[] = []
  async register (owner: string, restores: ChangelogRestore[]): Promise<void> {
    this.registered.set(owner, restores)
    this.position.set(owner, restores[0]?.from ?? 0n)
  }

  /** Writes `entries` into `owner`'s store as its reader would, moving its position by their count. */
  async apply (owner: string, entries: ChangelogEntry[]): Promise<void> {
    await this.registered.get(owner)![0]!.apply(entries)
    this.position.set(owner, this.position.get(owner)! + BigInt(entries.length))
  }

  unregister (owner: string): Array<TopicPartition & { offset: bigint }> { const out = this.positions(owner); this.registered.delete(owner); return out }
  positions (owner: string): Array<TopicPartition & { offset: bigint }> {
    return (this.registered.get(owner) ?? []).map(r => ({ ...r.changelog, offset: this.position.get(owner)! }))
  }

  async step (): Promise<RestoredOwner[]> { const d = this.done.filter(x => this.registered.has(x.owner)); for (const x of d) this.registered.delete(x.owner); this.done = []; return d }
  finish (owner: string): void { this.done.push({ owner, offsets: this.positions(owner), records: 0, durationMs: 1 }) }
}

const BALANCES: AnyStoreDefinition = { name: 'balances', kind: 'rocksdb', keySerde: str, valueSerde: str, changelog: true }
const SUB: Subtopology = { id: 0, nodes: [], sourceTopics: ['in'], stores: ['balances'] }
const CHANGELOG = tp('app-balances-changelog', 1)

function setup (t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'standby-handover-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const config = resolveStreamsConfig({ applicationId: 'app', stateDir: dir })
  const stateDirectory = new StateDirectory(dir, 'app')
  const topology = { storeDefinition: (name: string) => (name === 'balances' ? BALANCES : undefined) } as unknown as Topology
  const cache = new ThreadCache({ maxBytes: 1024 * 1024 })
  const restorer = new FakeReader()
  const standbyReader = new FakeReader()
  const admin = {
    async listCommittedOffsets (_g: string, tps: TopicPartition[]): Promise<PartitionOffset[]> { return tps.map(p => ({ ...p, offset: 0n })) },
    async listOffsets (tps: TopicPartition[]): Promise<PartitionOffset[]> { return tps.map(p => ({ ...p, offset: 0n })) }
  } satisfies Pick<LogAdmin, 'listOffsets' | 'listCommittedOffsets'>
  const manager = new TaskManager({
    applicationId: 'app',
    subtopologies: [SUB],
    admin,
    consumer: { pause () {}, resume () {}, seek () {}, assignment () { return [tp('in', 1)] } },
    restorer,
    standbyReader,
    createTask: activeTaskCreator({ config, topology, stateDirectory, exactlyOnce: true, clock: () => 0, consumer: { endOffset: () => undefined, position: () => 0n }, cache }),
    createStandby: standbyTaskCreator({ config, topology, stateDirectory, exactlyOnce: true })
  })
  t.teardown(async () => { await manager.closeAll(false) })
  return { manager, restorer, standbyReader, cache, stateDirectory }
}

for (const protocol of ['cooperative', 'eager'] as const) {
  t.test(`${protocol}: a standby becoming active keeps its stores open, answers the same, restores only the delta`, async t => {
    const { manager, restorer, standbyReader, cache, stateDirectory } = setup(t)
    const assign = async (partitions: TopicPartition[], standby: string[]): Promise<void> => {
      const replicas = { standby: new Set(standby), warmup: new Set<string>() }
      if (protocol === 'cooperative') await manager.handleIncrementalAssignment(partitions, replicas)
      else await manager.handleAssignment(partitions, replicas)
    }
    await assign([], ['0_1'])
    const standby = manager.standbys.get('0_1')!
    t.equal(standbyReader.registered.get('0_1')![0]!.from, null, 'a fresh standby reads its changelog from the start')
    await standbyReader.apply('0_1', [entry('m1', '100'), entry('m2', '200'), entry('m1', '150')])
    manager.checkpointStandbys()
    const checkpoint = join(stateDirectory.taskDir('0_1'), '.checkpoint')
    t.ok(existsSync(checkpoint), 'the standby checkpointed at what it applied')
    const standbyView = standby.state.standbyReadView('balances')!
    t.equal(standbyView.get('m1'), '150', 'the standby\'s copy')

    await assign([tp('in', 1)], [])
    t.equal(manager.standbys.size, 0, 'the standby ended')
    const active = manager.restoring.get('0_1')!
    t.equal(active.state, standby.state, 'the active task took the standby\'s stores')
    t.equal(standbyView.get('m1'), '150', 'never closed: a view taken on the standby still reads them')
    t.same(restorer.registered.get('0_1')!.map(r => ({ changelog: r.changelog, from: r.from })), [{ changelog: CHANGELOG, from: 3n }], 'the restore starts where the standby reader got')
    t.notOk(existsSync(checkpoint), 'exactly-once: the checkpoint is deleted, as an active\'s once opened')

    // The delta only, then the task runs on the same stores.
    await restorer.apply('0_1', [entry('m3', '300')])
    restorer.finish('0_1')
    await manager.restoreStep(0)
    t.ok(manager.running.has('0_1'), 'restored and running')
    const queryable = active.state.queryableStore('balances')!
    t.same([queryable.get('m1'), queryable.get('m2'), queryable.get('m3')], ['150', '200', '300'], 'the active answers what the standby held, plus the delta')

    // The task's own writes go through the thread's cache budget.
    const store = active.state.taskStores().get('balances')!
    store.store.put('m4', '400')
    t.equal(store.store.get('m4'), '400')
    t.ok(cache.stats.dirtyBytes > 0, 'the write cache counts against the thread\'s budget')
  })
}

t.test('handed-over stores no active takes are closed with a checkpoint', async t => {
  const { manager, standbyReader, stateDirectory } = setup(t)
  await manager.handleAssignment([], { standby: new Set(['0_1']), warmup: new Set() })
  await standbyReader.apply('0_1', [entry('m1', '100')])
  const state = manager.standbys.get('0_1')!.state
  // The active's creation fails after the hand-over: its stores must not leak open.
  const failing = manager as unknown as { createTasks: (tps: TopicPartition[]) => Promise<void> }
  failing.createTasks = async () => { throw new Error('disk full') }
  await t.rejects(manager.handleAssignment([tp('in', 1)]), /disk full/)
  t.throws(() => state.standbyReadView('balances')!.get('m1'), { code: 'STORE_CLOSED' }, 'closed')
  t.ok(existsSync(join(stateDirectory.taskDir('0_1'), '.checkpoint')), 'at the offsets applied')
  t.equal(manager.handover('0_1'), undefined, 'no hand-over left behind')
})
