// Kill -9 under exactly-once on the real broker: an independent client (kafkajs) produces 100k
// records while the aggregating child is killed at random moments 5 times and restarted; then
// kafkajs (read_committed) reads every output: each key's updates must be exactly 1..N once,
// and the child's final store must equal the oracle computed from the input topic.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { readAllCommitted } from './kafkajs-read.ts'
import { checkExactlyOnce, type Totals } from './exactly-once-check.ts'
import { kill9, randomPause, startChild } from './kill-harness.ts'
import { amountOf, keyOf, PARTITIONS } from './fixtures/aggregating-workload.ts'

const RECORDS = Number(process.env.KILL_TEST_RECORDS ?? 100_000)
const KILLS = 5
const brokers = (process.env.REWARDS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
const suffix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`

t.test('kill -9 five times while 100k records flow through the real broker', async t => {
  const root = mkdtempSync(join(tmpdir(), 'rewards-kill-kafka-'))
  const input = `kill-in-${suffix}`
  const output = `kill-out-${suffix}`
  const appId = `kill-app-${suffix}`
  const kafka = new Kafka({ clientId: 'kill-test', brokers, logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: input, numPartitions: PARTITIONS }, { topic: output, numPartitions: PARTITIONS }] })
  t.teardown(async () => {
    await admin.deleteTopics({ topics: [input, output, `${appId}-totals-changelog`] }).catch(() => {})
    await admin.deleteGroups([appId]).catch(() => {})
    await admin.disconnect()
    rmSync(root, { recursive: true, force: true })
  })
  const env = { BACKEND: 'kafka', BROKERS: brokers.join(','), STATE_DIR: join(root, 'state'), APP_ID: appId, IN: input, OUT: output }

  // The independent producer (idempotent: a retry never duplicates an input record).
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  let produced = 0
  const producing = (async () => {
    while (produced < RECORDS) {
      const messages = []
      for (const end = Math.min(RECORDS, produced + 500); produced < end; produced++) {
        messages.push({ key: keyOf(produced), value: JSON.stringify({ i: produced, amount: amountOf(produced) }), timestamp: String(Date.now()) })
      }
      await producer.send({ topic: input, messages })
      // Paced so that production spans the kills (~25 s in all), not to wait for anything.
      await new Promise(resolve => setTimeout(resolve, Math.floor(25_000 / (RECORDS / 500))))
    }
  })()

  for (let k = 0; k < KILLS; k++) {
    const c = startChild(env)
    await c.running
    await randomPause(500, 4000)
    await kill9(c)
    t.pass(`killed run ${k + 1} (${produced} records produced so far)`)
  }
  await producing
  await producer.disconnect()
  const dumpFile = join(root, 'store.json')
  const last = startChild({ ...env, DUMP: dumpFile, EXPECT: String(RECORDS) })
  const code = await last.exited
  t.equal(code, 0, `final run exits cleanly${code === 0 ? '' : ':\n' + last.output()}`)

  // Both topics at once, by consumers of their own.
  const [inputRecords, outputRecords] = await Promise.all([readAllCommitted(kafka, input, RECORDS), readAllCommitted(kafka, output, RECORDS)])
  const inputs = inputRecords.map(r => ({ key: r.key, value: JSON.parse(r.value) as { i: number, amount: number } }))
  const outputs = outputRecords.map(r => ({ key: r.key, value: JSON.parse(r.value) as Totals }))
  t.equal(inputs.length, RECORDS, 'every input record once')
  const store = JSON.parse(readFileSync(dumpFile, 'utf8')) as Record<string, Totals>
  const { problems } = checkExactlyOnce(inputs, outputs, store)
  t.same(problems, [], 'no lost or doubled update, store equals the oracle')
  // Outputs beyond RECORDS would be duplicates: the group's committed offsets cover all input,
  // and the end offsets of the output topic count exactly RECORDS data records (checked by the
  // per-key 1..N check above for everything read).
  t.equal(outputs.length, RECORDS, 'one output per input record')
})
