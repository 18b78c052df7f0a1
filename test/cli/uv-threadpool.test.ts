// libuv's pool size of `rewards` processes (cli/uv-threadpool.ts): 16 unless the user set one,
// and set early enough that the pool starts with it.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { DEFAULT_UV_THREADPOOL_SIZE, uvThreadpoolSize } from '../../cli/uv-threadpool.ts'
import { cleanEnv } from './cli-helpers.ts'

t.test('the size to set: the default when unset or empty, nothing when the user set one', async t => {
  t.equal(uvThreadpoolSize({}), String(DEFAULT_UV_THREADPOOL_SIZE))
  t.equal(uvThreadpoolSize({ UV_THREADPOOL_SIZE: '' }), String(DEFAULT_UV_THREADPOOL_SIZE))
  t.equal(uvThreadpoolSize({ UV_THREADPOOL_SIZE: '4' }), undefined)
})

// The pool's threads, counted in /proc once it ran a task (Linux only).
const probe = `
import './cli/uv-threadpool.ts'
import { readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
const before = readdirSync('/proc/self/task').length
await readFile('package.json')
console.log(JSON.stringify({ size: process.env.UV_THREADPOOL_SIZE, started: readdirSync('/proc/self/task').length - before }))
`

t.test('the pool starts with that size', { skip: process.platform !== 'linux' || !readdirSync('/proc/self').includes('task') ? 'needs /proc/self/task' : false }, async t => {
  const run = (env: Record<string, string | undefined>): { size: string, started: number } => {
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: new URL('../..', import.meta.url), env, encoding: 'utf8' })
    t.equal(out.status, 0, out.stderr)
    return JSON.parse(out.stdout) as { size: string, started: number }
  }
  const byDefault = run({ ...cleanEnv(), UV_THREADPOOL_SIZE: undefined })
  t.equal(byDefault.size, String(DEFAULT_UV_THREADPOOL_SIZE))
  t.equal(byDefault.started, DEFAULT_UV_THREADPOOL_SIZE, 'the pool started with the default size')
  const mine = run({ ...cleanEnv(), UV_THREADPOOL_SIZE: '6' })
  t.equal(mine.size, '6', 'a size the user set is kept')
  t.equal(mine.started, 6, 'and the pool has it')
})
