// A Kafka broker of one test's own, on free ports, for faults that stop the broker (the shared one
// on 9092 must never be stopped: other tests run on it). Started and stopped by
// infra/local/services.sh with REWARDS_LOCAL_HOME / REWARDS_LOCAL_KAFKA_PORT /
// REWARDS_LOCAL_CONTROLLER_PORT, reusing the broker jars already fetched into the default cache
// (linked, not downloaded again). A TCP proxy in front of the shared broker cannot stand in for
// this: clients reconnect to the broker's advertised 127.0.0.1:9092.
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort, NODE, ROOT } from '../cli/cli-helpers.ts'

const run = promisify(execFile)
const SHARED_CACHE = join(homedir(), '.cache', 'rewards-local')

export class OwnBroker {
  readonly home: string
  readonly port: number
  readonly #env: Record<string, string>

  private constructor (home: string, port: number, controllerPort: number) {
    this.home = home
    this.port = port
    this.#env = { ...process.env as Record<string, string>, REWARDS_LOCAL_HOME: home, REWARDS_LOCAL_KAFKA_PORT: String(port), REWARDS_LOCAL_CONTROLLER_PORT: String(controllerPort), NODE }
  }

  /** A fresh broker (formatted on first start), ready when this resolves. */
  static async start (): Promise<OwnBroker> {
    const home = mkdtempSync(join(tmpdir(), 'rewards-own-broker-'))
    for (const entry of existsSync(SHARED_CACHE) ? readdirSync(SHARED_CACHE) : []) {
      if (entry.startsWith('kafka-')) symlinkSync(join(SHARED_CACHE, entry), join(home, entry))
    }
    const broker = new OwnBroker(home, await freePort(), await freePort())
    await broker.up()
    return broker
  }

  get address (): string {
    return `127.0.0.1:${this.port}`
  }

  /** Starts the broker (again) and waits until a client can fetch metadata. */
  async up (): Promise<void> {
    await run('bash', [join(ROOT, 'infra/local/services.sh'), 'up'], { env: this.#env, timeout: 180_000 })
  }

  /** Stops the broker (SIGTERM, waits for it to exit). */
  async down (): Promise<void> {
    await run('bash', [join(ROOT, 'infra/local/services.sh'), 'down'], { env: this.#env, timeout: 120_000 })
  }

  async destroy (): Promise<void> {
    await this.down().catch(() => undefined)
    rmSync(this.home, { recursive: true, force: true })
  }
}
