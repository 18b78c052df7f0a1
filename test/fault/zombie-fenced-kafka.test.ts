// A zombie under exactly-once: instance A stalls (its whole process, heartbeats included) longer
// than the session timeout while B runs in the same group, so A's tasks move to B. When A wakes
// up, its commit carries a stale generation and must be fenced: A drops its uncommitted work and
// rejoins. Every output must still exist exactly once.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { readAllCommitted } from './kafkajs-read.ts'
import { checkExactlyOnce, type Totals } from './exactly-once-check.ts'
import { kill9, startChild, type RunningChild } from './kill-harness.ts'
import { amountOf, keyOf, PARTITIONS } from './fixtures/aggregating-workload.ts'

const RECORDS = 20_000
const brokers = (process.env.REWARDS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
const suffix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`

function waitForLine (c: RunningChild, text: string, timeoutMs = 90_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${text}" within ${timeoutMs} ms:\n${c.output()}`)), timeoutMs)
    const check = (): void => { if (c.output().includes(text)) { clearTimeout(timer); resolve() } }
    c.child.stdout!.on('data', check)
    check()
  })
}

t.test('a stalled instance is fenced when it wakes up, and nothing is counted twice', async t => {
  const root = mkdtempSync(join(tmpdir(), 'rewards-zombie-'))
  const input = `zombie-in-${suffix}`
  const output = `zombie-out-${suffix}`
  const appId = `zombie-app-${suffix}`
  const kafka = new Kafka({ clientId: 'zombie-test', brokers, logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: input, numPartitions: PARTITIONS }, { topic: output, numPartitions: PARTITIONS }] })
  const children: RunningChild[] = []
  t.teardown(async () => {
    for (const c of children) if (c.child.exitCode === null) await kill9(c)
    await admin.deleteTopics({ topics: [input, output, `${appId}-totals-changelog`] }).catch(() => {})
    await admin.disconnect()
    rmSync(root, { recursive: true, force: true })
  })
  const base = { BACKEND: 'kafka', BROKERS: brokers.join(','), APP_ID: appId, IN: input, OUT: output }
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  let produced = 0
  const producing = (async () => {
    while (produced < RECORDS) {
      const messages = []
      for (const end = Math.min(RECORDS, produced + 250); produced < end; produced++) {
        messages.push({ key: keyOf(produced), value: JSON.stringify({ i: produced, amount: amountOf(produced) }) })
      }
      await producer.send({ topic: input, messages })
      await new Promise(resolve => setTimeout(resolve, 150)) // paced over ~12 s
    }
  })()

  const a = startChild({ ...base, STATE_DIR: join(root, 'a'), BLOCK_AFTER: '1500', BLOCK_MS: '12000' })
  children.push(a)
  await a.running
  const b = startChild({ ...base, STATE_DIR: join(root, 'b') })
  children.push(b)
  await b.running
  await waitForLine(a, 'BLOCKING')
  await waitForLine(a, 'UNBLOCKED')
  await waitForLine(a, 'FENCED')
  t.pass('the zombie\'s commit was fenced')
  await producing
  await producer.disconnect()
  await kill9(a)
  await kill9(b)
  const dumpFile = join(root, 'store.json')
  const last = startChild({ ...base, STATE_DIR: join(root, 'b'), DUMP: dumpFile, EXPECT: String(RECORDS) })
  children.push(last)
  t.equal(await last.exited, 0, 'final run exits cleanly')

  const inputs = (await readAllCommitted(kafka, input, RECORDS)).map(r => ({ key: r.key, value: JSON.parse(r.value) as { i: number, amount: number } }))
  const outputs = (await readAllCommitted(kafka, output, RECORDS)).map(r => ({ key: r.key, value: JSON.parse(r.value) as Totals }))
  const store = JSON.parse(readFileSync(dumpFile, 'utf8')) as Record<string, Totals>
  t.same(checkExactlyOnce(inputs, outputs, store).problems, [], 'no lost or doubled update, store equals the oracle')
})
