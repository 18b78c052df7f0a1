// Kafka with SASL/SCRAM-SHA-512 over TLS (as on MSK), on a real throwaway broker with a SASL_SSL
// listener: with the right credentials and CA the platform's log (built from REWARDS_* settings)
// creates topics, produces, and runs a stream application (consumer group, transactions, a store
// with its changelog); wrong credentials, no TLS, or an untrusted certificate fail with
// LOG_SECURITY quickly instead of retrying or hanging; the `rewards` command reports it without
// printing the password.
import t from 'tap'
import type { Test } from 'tap'
import { loadConfig } from '../../../lib/config.ts'
import { isRewardsError } from '../../../lib/errors.ts'
import { openLogFromConfig } from '../../../lib/open-log.ts'
import type { Log } from '../../../log/log-port.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import { cleanEnv, runCli, unique } from '../../cli/cli-helpers.ts'
import { readUntil, tempStateDir } from '../../topology/integration/backends.ts'
import { startSaslSslBroker, type SaslSslBroker } from './sasl-ssl-broker.ts'

const USERNAME = 'rewards-app'
const PASSWORD = `pw-${unique('secret')}`
/** A refused connection must be reported within this (the client's own retries included). */
const FAILS_WITHIN_MS = 30_000

const broker: SaslSslBroker = await startSaslSslBroker({ username: USERNAME, password: PASSWORD })
t.teardown(() => broker.stop())

function settings (overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    REWARDS_KAFKA_BROKERS: broker.bootstrap,
    REWARDS_KAFKA_SASL_MECHANISM: 'scram-sha-512',
    REWARDS_KAFKA_SASL_USERNAME: USERNAME,
    REWARDS_KAFKA_SASL_PASSWORD: PASSWORD,
    REWARDS_KAFKA_TLS: 'true',
    REWARDS_KAFKA_TLS_CA_FILE: broker.caFile,
    ...overrides
  }
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined))
}

async function openLog (overrides: Record<string, string | undefined> = {}): Promise<Log> {
  return await openLogFromConfig(loadConfig({ env: settings(overrides) }), { clientId: unique('sasl-test') })
}

/** Runs `operation`, expecting LOG_SECURITY within FAILS_WITHIN_MS; returns its message. */
async function refused (t: Test, operation: () => Promise<unknown>): Promise<string> {
  const started = Date.now()
  let timer: NodeJS.Timeout | undefined
  const bound = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${FAILS_WITHIN_MS} ms`)), FAILS_WITHIN_MS) })
  try {
    await Promise.race([operation(), bound])
    t.fail('expected LOG_SECURITY, it succeeded')
    return ''
  } catch (error) {
    t.ok(isRewardsError(error, 'LOG_SECURITY'), `LOG_SECURITY (got ${(error as { code?: string }).code}: ${(error as Error).message})`)
    t.ok(Date.now() - started < FAILS_WITHIN_MS, `reported in ${Date.now() - started} ms`)
    return (error as Error).message
  } finally {
    clearTimeout(timer)
  }
}

t.test('right credentials and CA: topics, produce, a stream application (group, transactions, changelog)', async t => {
  const log = await openLog()
  const input = unique('sasl-in')
  const output = unique('sasl-out')
  const appId = unique('sasl-app')
  const state = tempStateDir()
  const builder = new StreamsBuilder()
  builder.stream<string, number>(input, { valueSerde: Serdes.json<number>() })
    .groupByKey()
    .aggregate(() => 0, (_k, v, sum) => sum + v, { storeName: 'sums', valueSerde: Serdes.json<number>() })
    .toStream()
    .to(output, { valueSerde: Serdes.json<number>() })
  const app = new StreamsApplication(builder.build(), { log, config: { applicationId: appId, stateDir: state.dir, processingGuarantee: 'exactly_once_v2', tableRecordCache: false } })
  t.teardown(async () => {
    await app.close()
    await log.admin.deleteTopics([input, output, `${appId}-sums-changelog`]).catch(() => undefined)
    await log.close()
    state.remove()
  })
  await log.admin.createTopics([{ name: input, partitions: 2 }, { name: output, partitions: 2 }])
  t.ok((await log.admin.listTopics()).includes(input), 'topics created over SASL_SSL')

  await app.start()
  await app.waitForState('RUNNING', 120_000)

  const producer = await log.createProducer({ clientId: unique('sasl-producer') })
  const expected = new Map<string, number>()
  const records = Array.from({ length: 200 }, (_, i) => {
    const key = `member-${i % 10}`
    expected.set(key, (expected.get(key) ?? 0) + i)
    return { topic: input, key: Buffer.from(key), value: Buffer.from(String(i)), timestamp: Date.now() }
  })
  await producer.send(records)
  await producer.close()

  // Committed output only (read_committed): the application's transactions went through.
  const out = await readUntil(log, output, 2, all => all.length >= records.length, 120_000)
  const last = new Map<string, number>()
  for (const r of out) last.set(r.key!.toString(), JSON.parse(r.value!.toString()) as number)
  t.same(Object.fromEntries(last), Object.fromEntries(expected), 'every sum arrived, each once')
  t.same(Object.fromEntries([...expected.keys()].map(k => [k, app.store<string, number>('sums').get(k)])), Object.fromEntries(expected), 'the store answers the same')
})

t.test('a wrong password is refused with LOG_SECURITY, quickly, by the admin and by a producer', async t => {
  const log = await openLog({ REWARDS_KAFKA_SASL_PASSWORD: 'not-the-password' })
  t.teardown(() => log.close())
  const message = await refused(t, () => log.admin.listTopics())
  t.match(message, /SASL authentication refused/)
  t.match(message, /username and password/)
  await refused(t, () => log.createProducer({ clientId: unique('sasl-producer'), transactionalId: unique('sasl-txn') }))
})

t.test('SASL without TLS against the TLS listener is refused with LOG_SECURITY, quickly', async t => {
  const log = await openLog({ REWARDS_KAFKA_TLS: undefined, REWARDS_KAFKA_TLS_CA_FILE: undefined })
  t.teardown(() => log.close())
  t.match(await refused(t, () => log.admin.listTopics()), /TLS listener reached without TLS/)
})

t.test('TLS without the private CA: the certificate is not trusted (LOG_SECURITY)', async t => {
  const log = await openLog({ REWARDS_KAFKA_TLS_CA_FILE: undefined })
  t.teardown(() => log.close())
  t.match(await refused(t, () => log.admin.listTopics()), /certificate is not trusted/)
})

t.test('the rewards command: works with the settings, and names LOG_SECURITY without the password', async t => {
  const prefix = `${unique('sasl-cli')}.`
  const good = await runCli(['topics', 'create', '--partitions', '1', '--json'], { env: cleanEnv({ ...settings(), REWARDS_TOPIC_PREFIX: prefix }), timeoutMs: 120_000 })
  t.equal(good.code, 0, good.stderr)
  t.match(JSON.parse(good.stdout), { log: 'kafka', topics: [{ status: 'created' }] }, 'topics created through the CLI over SASL_SSL')
  const wrongPassword = 'wrong-pw-never-printed'
  const bad = await runCli(['topics', 'create', '--partitions', '1'], { env: cleanEnv({ ...settings({ REWARDS_KAFKA_SASL_PASSWORD: wrongPassword }), REWARDS_TOPIC_PREFIX: prefix }), timeoutMs: 120_000 })
  t.equal(bad.code, 1, 'fails')
  t.match(bad.stderr, /\[LOG_SECURITY\].*SASL authentication refused/)
  t.notMatch(bad.stderr + bad.stdout, wrongPassword, 'the password is not printed')
  t.notMatch(bad.stderr + bad.stdout, PASSWORD)
  const log = await openLog()
  const created = (await log.admin.listTopics()).filter(name => name.startsWith(prefix))
  await log.admin.deleteTopics(created)
  await log.close()
})
