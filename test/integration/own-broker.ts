// A Kafka broker of a test's (or a chaos run's) own, to stop and start again: the shared broker on
// 9092 serves other tests and is never touched. infra/local/services.sh on free ports under a
// home of its own (REWARDS_LOCAL_HOME / REWARDS_LOCAL_KAFKA_PORT / REWARDS_LOCAL_CONTROLLER_PORT),
// reusing the jars already fetched for the shared broker (a symlink; nothing is downloaded). A TCP
// proxy in front of the shared broker cannot stand in for this: clients reconnect to the broker's
// advertised 127.0.0.1:9092.
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { cleanEnv, freePort, ROOT } from '../cli/cli-helpers.ts'

const run = promisify(execFile)
const SERVICES = join(ROOT, 'infra', 'local', 'services.sh')

export class OwnBroker {
  readonly home: string
  readonly port: number
  readonly controllerPort: number

  private constructor (home: string, port: number, controllerPort: number) {
    this.home = home
    this.port = port
    this.controllerPort = controllerPort
  }

  /** Prepares a home whose jars are those of the shared broker's cache; throws when there are none. */
  static async create (sharedHome = join(homedir(), '.cache', 'rewards-local')): Promise<OwnBroker> {
    const kafkaDirs = existsSync(sharedHome) ? readdirSync(sharedHome).filter(d => d.startsWith('kafka-') && existsSync(join(sharedHome, d, 'libs', '.complete'))) : []
    if (kafkaDirs.length === 0) throw new Error(`no Kafka jars under ${sharedHome}: run infra/local/services.sh up once`)
    const home = mkdtempSync(join(tmpdir(), 'rewards-own-broker-'))
    for (const dir of kafkaDirs) {
      mkdirSync(join(home, dir))
      symlinkSync(join(sharedHome, dir, 'libs'), join(home, dir, 'libs'))
    }
    const port = await freePort()
    let controllerPort = await freePort()
    while (controllerPort === port) controllerPort = await freePort()
    return new OwnBroker(home, port, controllerPort)
  }

  get bootstrap (): string {
    return `127.0.0.1:${this.port}`
  }

  #env (): Record<string, string> {
    return cleanEnv({ REWARDS_LOCAL_HOME: this.home, REWARDS_LOCAL_KAFKA_PORT: String(this.port), REWARDS_LOCAL_CONTROLLER_PORT: String(this.controllerPort), NODE: process.execPath })
  }

  /** Starts the broker (or starts it again, on its data) and waits until it answers. */
  async start (): Promise<void> {
    await run('bash', [SERVICES, 'up'], { env: this.#env(), timeout: 180_000 })
  }

  /** Stops it (SIGTERM, as services.sh does) and waits until it is gone. */
  async stop (): Promise<void> {
    await run('bash', [SERVICES, 'down'], { env: this.#env(), timeout: 90_000 })
  }

  async destroy (): Promise<void> {
    await this.stop().catch(() => undefined)
    rmSync(this.home, { recursive: true, force: true })
  }
}
