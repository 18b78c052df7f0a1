// Runs N full platform processes (`rewards start`, every role) as a user would: same application
// id, separate data directories and HTTP ports, each the leader of its own process group. kill()
// sends SIGKILL to the whole group; restart() starts the same instance again (same port and data
// directory, or a wiped one to force a full restore). A process that exits without being killed
// is recorded as an unexpected exit and restarted, so a run still converges and reports it.
import { appendFileSync, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { RunningCli, waitForStatus } from '../cli/cli-helpers.ts'

export interface UnexpectedExit {
  readonly instance: number
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly atMs: number
  /** Its last error or fatal log line (message and error), what it died of. */
  readonly reason: string
}

function lastError (cli: RunningCli): string {
  const line = [...cli.lines].reverse().find(l => l.level === 'error' || l.level === 'fatal')
  if (line === undefined) return cli.stderrTail(3).slice(-500)
  const err = line.err as { message?: string } | undefined
  return `${line.msg}${err?.message !== undefined && err.message !== line.msg ? `: ${err.message}` : ''}`.slice(0, 500)
}

export interface InstanceSpec {
  readonly dataDir: string
  readonly port: number
}

export class PlatformInstance {
  readonly index: number
  readonly spec: InstanceSpec
  cli: RunningCli | undefined
  starts = 0
  /** Set while the supervisor kills it: its exit is then expected. */
  killing = false

  constructor (index: number, spec: InstanceSpec) {
    this.index = index
    this.spec = spec
  }

  get url (): string {
    return `http://127.0.0.1:${this.spec.port}`
  }

  get alive (): boolean {
    return this.cli !== undefined && this.cli.child.exitCode === null && this.cli.child.signalCode === null
  }
}

export class PlatformSupervisor {
  readonly instances: PlatformInstance[]
  readonly unexpectedExits: UnexpectedExit[] = []
  readonly #env: Record<string, string>
  readonly #args: string[]
  #stopping = false

  /** Each instance's log (every start appended), kept for a failed run's diagnosis. */
  readonly logDir: string

  constructor (options: { env: Record<string, string>, specs: InstanceSpec[], logDir: string, args?: string[] }) {
    this.#env = options.env
    this.logDir = options.logDir
    mkdirSync(options.logDir, { recursive: true })
    this.#args = options.args ?? ['start', '--role', 'all']
    this.instances = options.specs.map((spec, i) => new PlatformInstance(i, spec))
  }

  /** Starts instance i (its data directory wiped first when `wipe`; `env` added to the
   *  supervisor's for this start only). Does not wait for readiness. */
  start (i: number, options: { wipe?: boolean, env?: Record<string, string> } = {}): RunningCli {
    const instance = this.instances[i]!
    if (instance.alive) throw new Error(`instance ${i} is already running`)
    if (options.wipe === true) rmSync(instance.spec.dataDir, { recursive: true, force: true })
    mkdirSync(instance.spec.dataDir, { recursive: true })
    const cli = new RunningCli(this.#args, {
      cwd: instance.spec.dataDir,
      env: { ...this.#env, ...options.env, REWARDS_DATA_DIR: instance.spec.dataDir, REWARDS_HTTP_PORT: String(instance.spec.port) },
      detached: true
    })
    instance.cli = cli
    instance.starts++
    const logFile = join(this.logDir, `instance-${i}.log`)
    appendFileSync(logFile, `==== start ${instance.starts} of instance ${i} at ${new Date().toISOString()} (pid ${cli.child.pid})${options.wipe === true ? ', data directory wiped' : ''}\n`)
    cli.child.stderr!.on('data', (chunk: Buffer) => appendFileSync(logFile, chunk))
    instance.killing = false
    void cli.exited.then(({ code, signal }) => {
      if (instance.cli !== cli || instance.killing || this.#stopping) return
      this.unexpectedExits.push({ instance: i, code, signal, atMs: Date.now(), reason: lastError(cli) })
      // Keep the run going: a dead instance would leave its tasks to the others anyway, but the
      // checks want the configured number of members at the end.
      setTimeout(() => { if (!this.#stopping && !instance.alive) this.start(i) }, 1000)
    })
    return cli
  }

  startAll (): void {
    for (let i = 0; i < this.instances.length; i++) this.start(i)
  }

  async waitReady (i: number, timeoutMs = 180_000): Promise<void> {
    await waitForStatus(`${this.instances[i]!.url}/health/ready`, 200, timeoutMs)
  }

  async waitAllReady (timeoutMs = 180_000): Promise<void> {
    await Promise.all(this.instances.map((_, i) => this.waitReady(i, timeoutMs)))
  }

  /** SIGKILL to the process group of instance i; resolves once it is gone. */
  async kill (i: number): Promise<void> {
    const instance = this.instances[i]!
    const cli = instance.cli
    if (cli === undefined || !instance.alive) return
    instance.killing = true
    cli.signalGroup('SIGKILL')
    await cli.exited
  }

  /** The instances answering HTTP now (alive processes; they may still be restoring). */
  liveUrls (): string[] {
    return this.instances.filter(i => i.alive).map(i => i.url)
  }

  /** SIGTERM to every instance (graceful: commit, checkpoint, leave), SIGKILL after `graceMs`.
   *  Returns the exit of each. */
  async stopAll (graceMs = 30_000): Promise<Array<{ code: number | null, signal: NodeJS.Signals | null } | undefined>> {
    this.#stopping = true
    return await Promise.all(this.instances.map(async instance => {
      const cli = instance.cli
      if (cli === undefined) return undefined
      if (!instance.alive) return await cli.exited
      cli.child.kill('SIGTERM')
      try {
        return await cli.waitForExit(graceMs)
      } catch {
        cli.signalGroup('SIGKILL')
        return await cli.exited
      }
    }))
  }

  /** Teardown: nothing left running, whatever happened. */
  async killAll (): Promise<void> {
    this.#stopping = true
    await Promise.all(this.instances.map(async instance => {
      if (instance.alive) instance.cli!.signalGroup('SIGKILL')
      await instance.cli?.exited
    }))
  }
}

export function instanceSpecs (baseDir: string, ports: number[]): InstanceSpec[] {
  return ports.map((port, i) => ({ dataDir: join(baseDir, `instance-${i}`), port }))
}
