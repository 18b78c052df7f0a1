// A throwaway single-node Kafka broker (KRaft) with a SASL_SSL listener, for tests of the client's
// authentication and encryption: SCRAM-SHA-512 over TLS, as on MSK. It runs from the jars
// infra/local/services.sh fetched (~/.cache/rewards-local), on free ports, with everything (TLS
// keys, properties, data, log) in a temp dir that stop() removes.
//
//   SASL_SSL  127.0.0.1:<port>      the clients' listener (SCRAM-SHA-512 user created at format time)
//   INTERNAL  127.0.0.1:<internal>  inter-broker, PLAINTEXT (one node: it only talks to itself)
//   CONTROLLER 127.0.0.1:<ctrl>     KRaft controller, PLAINTEXT
//
// The TLS material is made with Java's keytool: a CA, and a broker certificate it signs for
// 127.0.0.1 and localhost; the CA is exported as PEM for the Node client (REWARDS_KAFKA_TLS_CA_FILE).
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { homedir, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const KAFKA_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'infra', 'local', 'kafka')
/** Keystore password: the keystores live in a temp dir of this test only. */
const STORE_PASSWORD = 'rewards-test-store'

export interface SaslSslBrokerOptions {
  readonly username: string
  /** Must not contain ',', '[', ']' or '=' (the StorageTool's --add-scram syntax). */
  readonly password: string
  /** Start-up bound. Default 180 s (two cores shared with other test runs). */
  readonly startTimeoutMs?: number
}

export interface SaslSslBroker {
  /** 'host:port' of the SASL_SSL listener. */
  readonly bootstrap: string
  /** PEM file of the CA that signed the broker's certificate. */
  readonly caFile: string
  /** Stops the broker (SIGKILL: nothing in it is kept) and removes its directory. */
  stop (): Promise<void>
}

/** The broker jars infra/local/services.sh fetched (same path rule as the script). */
export function kafkaLibsDir (): string {
  const pom = readFileSync(join(KAFKA_DIR, 'pom.xml'))
  const version = /<kafka\.version>(.*)<\/kafka\.version>/.exec(pom.toString())?.[1]
  const hash = createHash('sha256').update(pom).digest('hex').slice(0, 12)
  const home = process.env.REWARDS_LOCAL_HOME ?? join(homedir(), '.cache', 'rewards-local')
  const libs = join(home, `kafka-${version}-${hash}`, 'libs')
  if (!existsSync(join(libs, '.complete'))) throw new Error(`No Kafka jars in ${libs}: run "bash infra/local/services.sh up" once (it fetches them)`)
  return libs
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

async function keytool (dir: string, ...args: string[]): Promise<void> {
  await run('keytool', args, { cwd: dir, timeout: 60_000 })
}

/** CA + broker certificate signed by it (SAN 127.0.0.1, localhost) in broker.p12; CA as ca.pem. */
async function makeTlsMaterial (dir: string): Promise<{ keystore: string, caFile: string }> {
  const key = ['-keyalg', 'EC', '-groupname', 'secp256r1', '-validity', '2', '-storetype', 'PKCS12', '-storepass', STORE_PASSWORD, '-keypass', STORE_PASSWORD]
  await keytool(dir, '-genkeypair', '-alias', 'ca', '-dname', 'CN=rewards-test-ca', '-ext', 'bc:c', '-keystore', 'ca.p12', ...key)
  await keytool(dir, '-exportcert', '-rfc', '-alias', 'ca', '-keystore', 'ca.p12', '-storepass', STORE_PASSWORD, '-file', 'ca.pem')
  await keytool(dir, '-genkeypair', '-alias', 'broker', '-dname', 'CN=localhost', '-keystore', 'broker.p12', ...key)
  await keytool(dir, '-certreq', '-alias', 'broker', '-keystore', 'broker.p12', '-storepass', STORE_PASSWORD, '-file', 'broker.csr')
  await keytool(dir, '-gencert', '-rfc', '-alias', 'ca', '-keystore', 'ca.p12', '-storepass', STORE_PASSWORD, '-infile', 'broker.csr', '-outfile', 'broker.pem',
    '-validity', '2', '-ext', 'SAN=IP:127.0.0.1,DNS:localhost', '-ext', 'KU=digitalSignature', '-ext', 'EKU=serverAuth')
  await keytool(dir, '-importcert', '-noprompt', '-alias', 'ca', '-file', 'ca.pem', '-keystore', 'broker.p12', '-storepass', STORE_PASSWORD)
  await keytool(dir, '-importcert', '-noprompt', '-alias', 'broker', '-file', 'broker.pem', '-keystore', 'broker.p12', '-storepass', STORE_PASSWORD)
  return { keystore: join(dir, 'broker.p12'), caFile: join(dir, 'ca.pem') }
}

/** A KRaft cluster id: 16 random bytes, base64url (Kafka's Uuid; never starting with '-'). */
function clusterId (): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

function serverProperties (dir: string, keystore: string, ports: { sasl: number, internal: number, controller: number }): string {
  // The local broker's settings (internal topics with one replica, quick group joins, …) minus its
  // listeners, which are replaced.
  const listenerKeys = /^(listeners|advertised\.listeners|listener\.security\.protocol\.map|inter\.broker\.listener\.name|controller\.quorum\.bootstrap\.servers|log\.dirs)=/
  const base = readFileSync(join(KAFKA_DIR, 'server.properties.template'), 'utf8').split('\n').filter(line => !listenerKeys.test(line))
  return [
    ...base,
    `controller.quorum.bootstrap.servers=127.0.0.1:${ports.controller}`,
    `listeners=SASL_SSL://127.0.0.1:${ports.sasl},INTERNAL://127.0.0.1:${ports.internal},CONTROLLER://127.0.0.1:${ports.controller}`,
    `advertised.listeners=SASL_SSL://127.0.0.1:${ports.sasl},INTERNAL://127.0.0.1:${ports.internal}`,
    'listener.security.protocol.map=SASL_SSL:SASL_SSL,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=INTERNAL',
    `log.dirs=${join(dir, 'data')}`,
    'sasl.enabled.mechanisms=SCRAM-SHA-512',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'ssl.keystore.type=PKCS12',
    `ssl.keystore.location=${keystore}`,
    `ssl.keystore.password=${STORE_PASSWORD}`,
    `ssl.key.password=${STORE_PASSWORD}`,
    ''
  ].join('\n')
}

/** Waits until the broker logs that it started; rejects with the log's tail if it exits or the
 *  bound passes first. */
async function awaitStarted (broker: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const tail = (): string => readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n')
  await new Promise<void>((resolve, reject) => {
    let seen = ''
    const done = (error?: Error): void => {
      clearTimeout(timer)
      broker.stdout?.removeListener('data', onData)
      broker.removeListener('exit', onExit)
      if (error) reject(error); else resolve()
    }
    const onData = (chunk: Buffer): void => {
      // Keep only what a line split across chunks needs.
      seen = (seen + chunk.toString()).slice(-4096)
      if (/Kafka Server started/.test(seen)) done()
    }
    const onExit = (code: number | null): void => done(new Error(`the SASL_SSL broker exited (${code}) during start-up:\n${tail()}`))
    const timer = setTimeout(() => done(new Error(`the SASL_SSL broker did not start within ${timeoutMs} ms:\n${tail()}`)), timeoutMs)
    broker.stdout?.on('data', onData)
    broker.once('exit', onExit)
  })
}

export async function startSaslSslBroker (options: SaslSslBrokerOptions): Promise<SaslSslBroker> {
  if (/[,[\]=]/.test(options.password) || /[,[\]=]/.test(options.username)) throw new Error('username and password must not contain , [ ] =')
  const libs = kafkaLibsDir()
  const dir = mkdtempSync(join(tmpdir(), 'rewards-sasl-broker-'))
  let broker: ChildProcess | undefined
  const stop = async (): Promise<void> => {
    const child = broker
    broker = undefined
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const { keystore, caFile } = await makeTlsMaterial(dir)
    const ports = { sasl: await freePort(), internal: await freePort(), controller: await freePort() }
    const properties = join(dir, 'server.properties')
    writeFileSync(properties, serverProperties(dir, keystore, ports))
    const logConfig = `-Dlog4j2.configurationFile=${join(KAFKA_DIR, 'log4j2.properties')}`
    await run('java', ['-cp', `${libs}/*`, logConfig, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', properties, '--standalone',
      '--add-scram', `SCRAM-SHA-512=[name=${options.username},password=${options.password}]`], { timeout: 120_000 })
    const logFile = join(dir, 'broker.log')
    const logFd = openSync(logFile, 'a')
    // stdout is piped (to see "started") and copied to the log; stderr goes straight to it.
    const java = ['java', '-Xms256m', '-Xmx512m', '-XX:+UseG1GC', '-XX:TieredStopAtLevel=1', logConfig, '-cp', `${libs}/*`, 'kafka.Kafka', properties]
    // setpriv --pdeathsig: the kernel kills the broker if the test process dies without stop()
    // (a tap timeout, a crash), so no broker outlives its test.
    const [command, ...args] = existsSync('/usr/bin/setpriv') ? ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--', ...java] : java
    broker = spawn(command!, args, { stdio: ['ignore', 'pipe', logFd] })
    closeSync(logFd)
    broker.stdout?.on('data', (chunk: Buffer) => { try { writeFileSync(logFile, chunk, { flag: 'a' }) } catch { /* removed by stop() */ } })
    await awaitStarted(broker, logFile, options.startTimeoutMs ?? 180_000)
    return { bootstrap: `127.0.0.1:${ports.sasl}`, caFile, stop }
  } catch (error) {
    await stop()
    throw error
  }
}
