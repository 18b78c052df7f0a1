// Runs one side of a side-by-side benchmark as a child process: started, measured from the spawn
// until its consumer group's committed offsets reach the input's end offsets (start-up included),
// then stopped with SIGTERM. CPU time and peak RSS are the child's own (/proc), read at that moment.
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import type { Log, PartitionOffset } from '../../log/log-port.ts'
import { procStats, type ProcStats } from './proc-stats.ts'
import { nowMs, waitForCommitted } from './timing.ts'

export interface ChildRun {
  /** Spawn to committed offsets at the end of the input, ms. */
  readonly drainMs: number
  readonly stats: ProcStats
}

const TAIL_LINES = 40

export async function runChild (log: Log, command: string, args: string[], options: { groupId: string, ends: PartitionOffset[], timeoutMs: number, cwd: string, env?: NodeJS.ProcessEnv, /** Also write all its output here. */ logFile?: string }): Promise<ChildRun> {
  const tail: string[] = []
  const file = options.logFile === undefined ? undefined : createWriteStream(options.logFile)
  const keep = (chunk: Buffer): void => {
    file?.write(chunk)
    tail.push(...chunk.toString('utf8').split('\n').filter(line => line !== ''))
    if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES)
  }
  const t0 = nowMs()
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  let exited: string | undefined
  const exit = new Promise<void>(resolve => child.once('exit', (code, signal) => { exited = `exited (${signal ?? code})`; resolve() }))
  child.once('error', error => { exited = `failed to start: ${error.message}` })
  try {
    const done = await waitForCommitted(log, options.groupId, options.ends, {
      timeoutMs: options.timeoutMs,
      intervalMs: 100,
      isFailed: () => exited === undefined ? undefined : new Error(`${command} ${exited} before draining its input; last output:\n${tail.join('\n')}`)
    })
    const stats = procStats(child.pid!)
    if (stats === undefined) throw new Error(`${command} gone before its stats were read`)
    return { drainMs: done - t0, stats }
  } catch (error) {
    if (exited === undefined && !(error as Error).message.includes('last output')) (error as Error).message += `\nlast output of ${command}:\n${tail.join('\n')}`
    throw error
  } finally {
    await stop(child, exit)
    file?.end()
  }
}

async function stop (child: ChildProcess, exit: Promise<void>): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  await exit
  clearTimeout(timer)
}
