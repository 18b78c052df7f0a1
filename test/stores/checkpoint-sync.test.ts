// Task stores apply commits without fsync; a checkpoint is written only after every RocksDB store
// written to since its last sync has synced its WAL (the checkpoint never claims a batch a power
// loss could take: docs/engine.md "State, checkpoints, restore").
import t from 'tap'
import type { Test } from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { RocksDbStore } from '../../stores/rocksdb-store.ts'
import { StateDirectory } from '../../stores/state-directory.ts'
import { TaskStateManager } from '../../topology/runtime/task-state-manager.ts'
import { Serdes } from '../../topology/serdes.ts'
import { tempDir } from './helpers.ts'

/** A task's stores over RocksDB, opened; every syncWal() is recorded (by store name) and checked
 *  to come before the task's checkpoint file exists. Closed and unpatched at teardown. */
async function openTaskState (t: Test, applicationId: string, storeNames: string[], exactlyOnce: boolean): Promise<{ state: TaskStateManager, synced: string[], checkpointFile: string }> {
  const stateDirectory = new StateDirectory(tempDir(t), applicationId)
  const definitions = storeNames.map(name => ({ name, kind: 'rocksdb' as const, keySerde: Serdes.string(), valueSerde: Serdes.string(), changelog: true }))
  const state = new TaskStateManager({ applicationId, taskName: '0_0', partition: 0, definitions, stateDirectory, exactlyOnce })
  await state.open()
  const synced: string[] = []
  const checkpointFile = join(stateDirectory.taskDir('0_0'), '.checkpoint')
  const syncWal = Object.getOwnPropertyDescriptor(RocksDbStore.prototype, 'syncWal')!.value as (this: RocksDbStore) => void
  RocksDbStore.prototype.syncWal = function (this: RocksDbStore) {
    t.notOk(existsSync(checkpointFile), `${this.name} syncs before the checkpoint is written`)
    synced.push(this.name)
    syncWal.call(this)
  }
  t.teardown(async () => {
    RocksDbStore.prototype.syncWal = syncWal
    await state.close()
  })
  return { state, synced, checkpointFile }
}

t.test('rocksdb: unsynced writes are tracked until syncWal()', async t => {
  const dir = tempDir(t)
  const unsynced = new RocksDbStore('a', { syncWrites: false })
  await unsynced.open(join(dir, 'a'))
  t.teardown(() => unsynced.close())
  t.equal(unsynced.hasUnsyncedWrites, false, 'nothing written')
  await unsynced.write([])
  t.equal(unsynced.hasUnsyncedWrites, false, 'an empty batch writes nothing')
  await unsynced.write([{ key: Buffer.from('k'), value: Buffer.from('v') }])
  t.equal(unsynced.hasUnsyncedWrites, true, 'written without fsync')
  unsynced.syncUnsynced()
  t.equal(unsynced.hasUnsyncedWrites, false, 'synced')
  unsynced.restoreWriteSync([{ key: Buffer.from('r'), value: Buffer.from('v') }])
  t.equal(unsynced.hasUnsyncedWrites, true, 'a restore batch is unsynced too')
  unsynced.syncWal()
  t.equal(unsynced.hasUnsyncedWrites, false)

  const synced = new RocksDbStore('b')
  await synced.open(join(dir, 'b'))
  t.teardown(() => synced.close())
  await synced.write([{ key: Buffer.from('k'), value: Buffer.from('v') }])
  t.equal(synced.hasUnsyncedWrites, false, 'syncWrites (the default) fsyncs each batch')
})

t.test('task state: commits apply without fsync, writeCheckpoint syncs the written stores first', async t => {
  const names = ['balances', 'ledger', 'idle']
  const { state, synced, checkpointFile } = await openTaskState(t, 'app-sync', names, true)
  state.restored(names.map(name => ({ topic: `app-sync-${name}-changelog`, partition: 0, offset: 0n })))

  const stores = state.taskStores()
  for (const name of ['balances', 'ledger']) {
    const store = stores.get(name)!
    store.store.put('m1', name)
    store.flush()
    await store.applyFlushed()
  }
  t.same(synced, [], 'no fsync when a commit is applied')

  state.advanceChangelog({ topic: 'app-sync-balances-changelog', partition: 0 }, 1n)
  state.advanceChangelog({ topic: 'app-sync-ledger-changelog', partition: 0 }, 1n)
  state.writeCheckpoint()
  t.same(synced.sort(), ['balances', 'ledger'], 'the two written stores sync, the idle one does not')
  t.match(readFileSync(checkpointFile, 'utf8'), /app-sync-balances-changelog/)

  state.writeCheckpoint()
  t.same(synced.sort(), ['balances', 'ledger'], 'nothing written since: no second fsync')
})

t.test('task state: a restore applies without fsync, the checkpoint that claims it syncs first', async t => {
  const names = ['balances', 'idle']
  const { state, synced, checkpointFile } = await openTaskState(t, 'app-restore-sync', names, false)

  const balances = state.changelogRestores().find(r => r.store === 'balances')!
  balances.apply([{ key: Buffer.from('m1'), value: Buffer.from('100') }])
  state.restored(names.map(name => ({ topic: `app-restore-sync-${name}-changelog`, partition: 0, offset: name === 'balances' ? 1n : 0n })))
  t.same(synced, [], 'the end of a restore does not fsync on the loop')
  t.equal(state.taskStores().get('balances')!.store.get('m1'), '100', 'the restored record is readable')

  state.writeCheckpoint()
  t.same(synced, ['balances'], 'the checkpoint claiming the restored record syncs its store first')
  t.match(readFileSync(checkpointFile, 'utf8'), /app-restore-sync-balances-changelog/)
})
