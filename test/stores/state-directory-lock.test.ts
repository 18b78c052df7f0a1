// One instance per state directory: a second lock fails with STATE_DIR_LOCKED naming the dir; a
// lock left by a dead process is taken over.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { StateDirectory } from '../../stores/state-directory.ts'
import { tempDir } from './helpers.ts'

t.test('a second lock on the same application dir fails', async t => {
  const dir = tempDir(t)
  const first = new StateDirectory(dir, 'rewards')
  first.lock()
  t.teardown(() => first.unlock())
  t.ok(first.locked)
  const second = new StateDirectory(dir, 'rewards')
  t.throws(() => second.lock(), { code: 'STATE_DIR_LOCKED', retriable: true, message: new RegExp(join(dir, 'rewards').replaceAll('/', '\\/')) })
  t.notOk(second.locked)

  const other = new StateDirectory(dir, 'other-app')
  other.lock()
  t.ok(other.locked, 'another application id has its own lock')
  other.unlock()

  first.unlock()
  t.notOk(existsSync(first.lockPath), 'unlock removes the file')
  second.lock()
  t.ok(second.locked, 'free again after unlock')
  second.unlock()
})

t.test('a lock held by another live process fails', async t => {
  const dir = tempDir(t)
  const lockPath = join(dir, 'rewards', '.lock')
  new StateDirectory(dir, 'rewards').instanceId() // creates the app dir
  writeFileSync(lockPath, JSON.stringify({ pid: process.ppid, startTime: null, token: 'parent' }))
  t.throws(() => new StateDirectory(dir, 'rewards').lock(), { code: 'STATE_DIR_LOCKED', message: new RegExp(`pid ${process.ppid}`) })
})

t.test('a lock left by a dead process is taken over', async t => {
  const dir = tempDir(t)
  // A child takes the lock and exits without unlocking (as kill -9 would leave it).
  const script = `
    import { StateDirectory } from ${JSON.stringify(new URL('../../stores/state-directory.ts', import.meta.url).href)}
    const d = new StateDirectory(${JSON.stringify(dir)}, 'rewards')
    d.lock()
    process.stdout.write(String(process.pid))
    process.exit(0)
  `
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
  t.equal(child.status, 0, child.stderr)
  const lockPath = join(dir, 'rewards', '.lock')
  const left = JSON.parse(readFileSync(lockPath, 'utf8')) as { pid: number }
  t.equal(String(left.pid), child.stdout, 'the dead child left its lock behind')

  const state = new StateDirectory(dir, 'rewards')
  state.lock()
  t.ok(state.locked, 'stale lock taken over')
  t.equal((JSON.parse(readFileSync(lockPath, 'utf8')) as { pid: number }).pid, process.pid, 'now ours')
  state.unlock()
})

t.test('a lock with a recycled pid (same pid, other start time) is stale', async t => {
  const dir = tempDir(t)
  new StateDirectory(dir, 'rewards').instanceId()
  writeFileSync(join(dir, 'rewards', '.lock'), JSON.stringify({ pid: process.ppid, startTime: '1', token: 'old' }))
  const state = new StateDirectory(dir, 'rewards')
  state.lock()
  t.ok(state.locked)
  state.unlock()
})

t.test('instance id, task dirs, wipe', async t => {
  const dir = tempDir(t)
  const state = new StateDirectory(dir, 'rewards')
  const id = state.instanceId()
  t.match(id, /^[0-9a-f-]{36}$/)
  t.equal(new StateDirectory(dir, 'rewards').instanceId(), id, 'stable across objects (restarts)')
  t.equal(readFileSync(join(dir, 'rewards', 'instance-id'), 'utf8').trim(), id)

  t.same(state.listTaskDirs(), [])
  state.taskDir('0_10')
  state.taskDir('0_2')
  state.taskDir('1_0')
  t.equal(state.storeDir('0_2', 'balances'), join(dir, 'rewards', '0_2', 'balances'))
  t.same(state.listTaskDirs(), ['0_2', '0_10', '1_0'], 'numeric order; other entries ignored')
  writeFileSync(join(state.taskDir('0_2'), '.checkpoint'), '{}')
  state.wipeTask('0_2')
  t.same(state.listTaskDirs(), ['0_10', '1_0'])
  t.throws(() => state.taskDir('../x'), { code: 'CONFIG_INVALID' })
  t.throws(() => state.storeDir('0_1', '../x'), { code: 'CONFIG_INVALID' })
  t.throws(() => new StateDirectory(dir, 'a/b'), { code: 'CONFIG_INVALID' })
})
