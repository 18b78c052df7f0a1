// Running the real `rewards` command in a child process: one-shot runs with their output, and
// long-running `rewards start` with its JSON log lines, readiness polling and a bounded wait for
// exit. Children get an environment without the REWARDS_* variables of the test run unless a
// test passes them explicitly.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url))
export const CLI = fileURLToPath(new URL('../../cli/rewards.ts', import.meta.url))
export const brokers = (process.env.REWARDS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map(s => s.trim()).filter(Boolean)

export function unique (prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
}

/** process.env without any REWARDS_* variable, plus `extra`. */
export function cleanEnv (extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('REWARDS_') && v !== undefined) env[k] = v
  return { ...env, ...extra }
}

export interface RunResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export function runCli (args: string[], options: { cwd?: string, env?: Record<string, string>, timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [CLI, ...args], { cwd: options.cwd ?? ROOT, env: options.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', chunk => { stdout += chunk })
    child.stderr.on('data', chunk => { stderr += chunk })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`rewards ${args.join(' ')} did not finish within ${options.timeoutMs ?? 60_000} ms\n${stderr}`)) }, options.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }) })
  })
}

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export function portIsFree (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

export interface LogLine {
  readonly level: string
  readonly msg: string
  readonly [field: string]: unknown
}

/** Where a failing test file (path from the repository root) leaves the log tails of the
 *  platforms it ran: test/tap-summary.ts prints them under the failure, as CI shows only the end of
 *  the output. test/run.sh empties the folder. */
export function platformLogsFile (testFile: string): string {
  return join(ROOT, '.tap', 'platform-logs', `${testFile.replaceAll('/', '__')}.log`)
}
const started: RunningCli[] = []

function keepLogsIfFailed (code: number): void {
  if (code === 0 || started.length === 0) return
  const testFile = process.argv.find(a => a.endsWith('.test.ts'))
  if (testFile === undefined) return
  const text = started.map(cli => `== rewards ${cli.args.join(' ')} (pid ${cli.child.pid ?? '?'}), last lines of its log ==\n${cli.stderrTail(40)}`).join('\n')
  try {
    const file = platformLogsFile(relative(ROOT, testFile))
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, text)
  } catch { /* diagnostics only */ }
}

export class RunningCli {
  readonly child: ChildProcess
  readonly args: readonly string[]
  readonly lines: LogLine[] = []
  stdout = ''
  stderr = ''
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  readonly #lineWaiters = new Set<() => void>()

  /** `detached`: the child leads a process group of its own, so killGroup() reaches everything it
   *  started (as a container runtime or systemd stops a service). `prefix`: a command that runs the
   *  CLI (e.g. `unshare --pid --fork`, another PID namespace). */
  constructor (args: string[], options: { cwd: string, env: Record<string, string>, detached?: boolean, prefix?: readonly string[] }) {
    const command = [...(options.prefix ?? []), NODE, CLI, ...args]
    this.child = spawn(command[0]!, command.slice(1), { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached === true })
    this.args = args
    if (started.push(this) === 1) process.once('exit', keepLogsIfFailed)
    this.child.stdout!.on('data', chunk => { this.stdout += chunk })
    let partial = ''
    this.child.stderr!.on('data', chunk => {
      this.stderr += chunk
      partial += chunk
      const parts = partial.split('\n')
      partial = parts.pop()!
      for (const part of parts) {
        try { this.lines.push(JSON.parse(part) as LogLine) } catch { /* not a log line */ }
      }
      for (const wake of this.#lineWaiters) wake()
    })
    // 'close', not 'exit': the output is then completely read.
    this.exited = new Promise(resolve => this.child.on('close', (code, signal) => {
      resolve({ code, signal })
      for (const wake of this.#lineWaiters) wake()
    }))
  }

  /** Resolves with the first log line matching `match` (rejects on exit or after timeoutMs). */
  waitForLine (match: (line: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.lines.find(match)
        if (found !== undefined) { done(); resolve(found); return }
        if (this.child.exitCode !== null || this.child.signalCode !== null) { done(); reject(new Error(`rewards exited (${this.child.exitCode ?? this.child.signalCode}) before the expected log line\n${this.stderr}`)) }
      }
      const timer = setTimeout(() => { done(); reject(new Error(`no matching log line within ${timeoutMs} ms\n${this.stderr}`)) }, timeoutMs)
      const done = (): void => { clearTimeout(timer); this.#lineWaiters.delete(check) }
      this.#lineWaiters.add(check)
      check()
    })
  }

  /** The last `count` lines the process wrote to stderr (its log), for a failure's diagnostics. */
  stderrTail (count: number): string {
    return this.stderr.split('\n').slice(-count - 1).join('\n')
  }

  /** The port the HTTP server bound (from its "HTTP listening" log line). */
  async httpPort (timeoutMs = 60_000): Promise<number> {
    const line = await this.waitForLine(l => typeof l.msg === 'string' && l.msg.startsWith('HTTP listening'), timeoutMs)
    return line.port as number
  }

  /** Exit code and signal, or throws when the process has not exited within timeoutMs. */
  async waitForExit (timeoutMs: number): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`rewards did not exit within ${timeoutMs} ms\n${this.stderr}`)), timeoutMs) })
    try {
      return await Promise.race([this.exited, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Sends `signal` to the child's whole process group (a child started with `detached`). */
  signalGroup (signal: NodeJS.Signals): void {
    if (this.child.pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return
    try {
      process.kill(-this.child.pid, signal)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error // already gone
    }
  }

  /** Kills the process if it still runs (test teardown). */
  async kill (): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL')
      await this.exited
    }
  }
}

/** A token from the built-in server at `base` (client_credentials, client_secret_basic); throws with
 *  the answer on anything but 200. `scope` narrows the client's scopes. */
export async function clientToken (base: string, clientId: string, clientSecret: string, scope?: string): Promise<string> {
  const response = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials${scope === undefined ? '' : `&scope=${encodeURIComponent(scope)}`}`
  })
  if (response.status !== 200) throw new Error(`token request answered ${response.status}: ${await response.text()}`)
  return ((await response.json()) as { access_token: string }).access_token
}

/** Polls GET url until it answers `status`, at most timeoutMs (a bounded wait on an event). */
export async function waitForStatus (url: string, status: number, timeoutMs = 90_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs
  let last: string
  for (;;) {
    try {
      const response = await fetch(url)
      if (response.status === status) return response
      last = `${response.status} ${await response.text()}`
    } catch (error) {
      last = (error as Error).message
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** A reward event of docs/contract.md "reward-events" as the bytes of a record value. */
export function rewardEvent (memberId: string, eventId: string, amountCents: number, occurredAt = '2026-03-01T12:00:00Z'): Buffer {
  return Buffer.from(JSON.stringify({ eventId, memberId, source: 'HOTEL', type: 'EARN', amountCents, currency: 'USD', occurredAt, propertyId: 'P-1' }))
}
