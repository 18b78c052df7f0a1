// Helpers of the kill -9 tests: start the aggregating child, wait for its RUNNING line, kill it.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'

const NODE = process.execPath
const APP = join(import.meta.dirname, 'fixtures', 'aggregating-app.ts')

export interface RunningChild {
  readonly child: ChildProcess
  readonly running: Promise<void>
  readonly exited: Promise<number | null>
  output (): string
}

/** `app`: the child's script (default the aggregating app). */
export function startChild (env: Record<string, string>, app = APP): RunningChild {
  const child = spawn(NODE, [app], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let resolveRunning!: () => void
  let rejectRunning!: (e: Error) => void
  const running = new Promise<void>((resolve, reject) => { resolveRunning = resolve; rejectRunning = reject })
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString()
    if (out.includes('RUNNING')) resolveRunning()
  })
  child.stderr!.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const exited = once(child, 'exit').then(([code]) => {
    rejectRunning(new Error(`child exited (${String(code)}) before RUNNING:\n${out}`))
    return code as number | null
  })
  running.catch(() => {}) // observed by the caller
  return { child, running, exited, output: () => out }
}

export async function kill9 (c: RunningChild): Promise<void> {
  c.child.kill('SIGKILL')
  await c.exited
}

/** A random pause, to pick the moment of a kill (not used to wait for anything). */
export function randomPause (minMs: number, maxMs: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, minMs + Math.floor(Math.random() * (maxMs - minMs))))
}
