// One instance per state directory: a second lock fails with STATE_DIR_LOCKED naming the dir and
// its holder; the lock of a dead process is free at once (the kernel dropped it).
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type { RewardsError } from '../../lib/errors.ts'
import { StateDirectory } from '../../stores/state-directory.ts'
import { tempDir } from './helpers.ts'

t.test('a second lock on the same application dir fails, naming the holder', async t => {
  const dir = tempDir(t)
  const first = new StateDirectory(dir, 'rewards')
  first.lock()
  t.teardown(() => first.unlock())
  t.ok(first.locked)
  const second = new StateDirectory(dir, 'rewards')
  const error = (() => { try { second.lock() } catch (e) { return e as RewardsError } })()
  t.equal(error?.code, 'STATE_DIR_LOCKED')
  t.equal(error?.retriable, true)
  t.match(error?.message, join(dir, 'rewards'), 'names the directory')
  t.match(error?.message, `pid ${process.pid} on host ${hostname()}`, 'names the holder')
  t.match(error?.message, first.lockHolder!.since, 'and since when')
  t.notOk(second.locked)

  const other = new StateDirectory(dir, 'other-app')
  other.lock()
  t.ok(other.locked, 'another application id has its own lock')
  other.unlock()

  first.unlock()
  second.lock()
  t.ok(second.locked, 'free again after unlock')
  second.unlock()
})

/** A child process that takes the lock, prints its pid, and holds it until stdin closes. */
function holder (dir: string): { child: ChildProcess, pid: Promise<number> } {
  const script = `
    import { StateDirectory } from ${JSON.stringify(new URL('../../stores/state-directory.ts', import.meta.url).href)}
    new StateDirectory(${JSON.stringify(dir)}, 'rewards').lock()
    process.stdout.write(String(process.pid) + '\\n')
    process.stdin.resume()
    process.stdin.on('end', () => process.exit(0))
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] })
  const pid = new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())))
    child.once('exit', code => reject(new Error(`holder exited with ${code} before locking`)))
  })
  return { child, pid }
}

t.test('a lock held by another live process fails, naming it', async t => {
  const dir = tempDir(t)
  const { child, pid } = holder(dir)
  t.teardown(() => { child.kill('SIGKILL') })
  const holderPid = await pid
  t.throws(() => new StateDirectory(dir, 'rewards').lock(), { code: 'STATE_DIR_LOCKED', message: new RegExp(`pid ${holderPid} on host `) })
})

t.test('the lock of a SIGKILLed process is taken over at once', async t => {
  const dir = tempDir(t)
  const { child, pid } = holder(dir)
  await pid
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
  const left = JSON.parse(readFileSync(join(dir, 'rewards', '.lock'), 'utf8')) as { pid: number }
  t.equal(left.pid, child.pid, 'the killed holder is still named in the file')
  const state = new StateDirectory(dir, 'rewards')
  state.lock()
  t.ok(state.locked, 'taken over without waiting')
  t.equal((JSON.parse(readFileSync(join(dir, 'rewards', '.lock'), 'utf8')) as { pid: number }).pid, process.pid, 'now names us')
  state.unlock()
})

t.test('a lock file left by an older version (pid-based) does not lock anything', async t => {
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
