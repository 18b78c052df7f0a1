// Kill -9 of a windowed application on the real broker: the embedded-log test
// (kill-windowed-embedded.test.ts) on Kafka. An independent client (kafkajs) produces the input;
// the child (a tumbling windowed count and a session count, both suppressed to final results,
// exactly-once) is killed at random moments while it processes and restarted, restoring its
// window, session and suppression stores from checkpoints and changelogs. Then kafkajs
// (read_committed) reads the final results: every window and session once with its exact count;
// the engine's own reader counts every committed record up to the end offsets (so a duplicate
// beyond what kafkajs waited for shows too); the stores, read by interactive queries, equal the
// oracle. Timestamps start at now (workload epoch) so no broker retention touches a changelog.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { createKafkaLog } from '../../log/kafka/index.ts'
import { Serdes } from '../../topology/serdes.ts'
import { WindowedSerdes } from '../../topology/dsl/windowed-serdes.ts'
import { kill9, randomPause, startChild } from './kill-harness.ts'
import { readCommittedUntil, type CommittedRecord } from './kafkajs-read.ts'
import { oracle, PARTITIONS, recordAt, WINDOW_MS } from './fixtures/windowed-workload.ts'

const RECORDS = Number(process.env.KILL_TEST_RECORDS ?? 8000)
const KILLS = 3
const APP = join(import.meta.dirname, 'fixtures', 'windowed-app.ts')
const brokers = (process.env.REWARDS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
const suffix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`

t.test(`kill -9 ${KILLS} times while a windowed and a session count run on the real broker`, async t => {
  const root = mkdtempSync(join(tmpdir(), 'rewards-kill-windowed-kafka-'))
  const input = `killw-in-${suffix}`
  const windowsOut = `killw-windows-${suffix}`
  const sessionsOut = `killw-sessions-${suffix}`
  const appId = `killw-app-${suffix}`
  const epochMs = Math.floor(Date.now() / 1_000_000) * 1_000_000
  const kafka = new Kafka({ clientId: 'kill-windowed-test', brokers, logLevel: logLevel.NOTHING })
  const log = createKafkaLog({ brokers, clientId: 'kill-windowed-verify' })
  // retention.ms=-1: the terminators are ~20 min in the future, the rest near now.
  await log.admin.createTopics([input, windowsOut, sessionsOut].map(name => ({ name, partitions: PARTITIONS, config: { 'retention.ms': '-1' } })))
  t.teardown(async () => {
    const internal = (await log.admin.listTopics()).filter(name => name.startsWith(`${appId}-`))
    await log.admin.deleteTopics([input, windowsOut, sessionsOut, ...internal]).catch(() => {})
    await log.admin.deleteGroup(appId).catch(() => {})
    await log.close()
    rmSync(root, { recursive: true, force: true })
  })

  // The whole input first (the independent producer, idempotent: a retry never doubles a record).
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  for (let i = 0; i < RECORDS + PARTITIONS;) {
    const messages = []
    for (const end = Math.min(RECORDS + PARTITIONS, i + 500); i < end; i++) {
      const { key, timestamp } = recordAt(i, RECORDS, epochMs)
      messages.push({ key, value: String(i), timestamp: String(timestamp) })
    }
    await producer.send({ topic: input, messages })
  }
  await producer.disconnect()

  const env = { BACKEND: 'kafka', BROKERS: brokers.join(','), STATE_DIR: join(root, 'state'), APP_ID: appId, IN: input, WINDOWS_OUT: windowsOut, SESSIONS_OUT: sessionsOut }
  const inputPartitions = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: input, partition }))
  const committedTotal = async (): Promise<number> =>
    (await log.admin.listCommittedOffsets(appId, inputPartitions)).reduce((n, o) => n + Math.max(0, Number(o.offset)), 0)
  let killedMidStream = 0
  for (let k = 0; k < KILLS; k++) {
    const c = startChild({ ...env, PRINT_COMMITS: '1' }, APP)
    t.teardown(() => { if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL') })
    await c.running
    // Kill once this run has committed progress (a transaction landed after the restore), at a
    // random moment after that: the poll is the event a commit gives us, not a guess of its time.
    const before = await committedTotal()
    const progressed = async (): Promise<boolean> => { const n = await committedTotal(); return n > before || n >= RECORDS + PARTITIONS }
    while (!await progressed()) {
      if (c.child.exitCode !== null) throw new Error(`run ${k + 1} exited (${c.child.exitCode}) before committing:\n${c.output().split('\n').filter(l => !l.startsWith('PROCESSED')).join('\n')}`)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    await randomPause(0, 1000)
    await kill9(c)
    const committed = await committedTotal()
    if (committed < RECORDS) killedMidStream++
    t.pass(`killed run ${k + 1} with ${committed} of ${RECORDS + PARTITIONS} records committed`)
    // All processed already: a next run would never print PROCESSED.
    if (committed >= RECORDS + PARTITIONS) break
  }
  t.ok(killedMidStream > 0, 'at least one kill landed before all input was processed')
  const dumpFile = join(root, 'stores.json')
  const last = startChild({ ...env, DUMP: dumpFile, PRINT_COMMITS: '1' }, APP)
  t.teardown(() => {
    // Still running at the teardown (a timeout): say what it did, and stop it.
    if (last.child.exitCode === null && last.child.signalCode === null) {
      t.comment(`final run still running:\n${last.output().split('\n').filter(l => !l.startsWith('PROCESSED')).slice(-40).join('\n')}`)
      last.child.kill('SIGKILL')
    }
  })
  const code = await last.exited
  t.equal(code, 0, `final run exits cleanly${code === 0 ? '' : ':\n' + last.output()}`)

  const expected = oracle(RECORDS, epochMs)
  const timeWindowed = WindowedSerdes.timeWindowed(Serdes.string(), WINDOW_MS)
  const sessionWindowed = WindowedSerdes.sessionWindowed(Serdes.string())
  const windowId = (k: Buffer): string => { const w = timeWindowed.deserialize(k); return `${w.key}@${w.window.start}` }
  const sessionId = (k: Buffer): string => { const w = sessionWindowed.deserialize(k); return `${w.key}@${w.window.start}-${w.window.end}` }
  /** Final results per id; an id emitted twice shows as an array. */
  const finals = (records: Array<{ key: Buffer, value: string }>, id: (key: Buffer) => string): Record<string, number | number[]> => {
    const out: Record<string, number | number[]> = {}
    for (const r of records) {
      const key = id(r.key)
      if (key.startsWith('end-')) continue
      const value = JSON.parse(r.value) as number
      const seen = out[key]
      out[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value]
    }
    return out
  }
  // kafkajs-read hands keys over as strings: the windowed keys are binary, so read them as latin1.
  const asBytes = (records: CommittedRecord[]): Array<{ key: Buffer, value: string }> => records.map(r => ({ key: Buffer.from(r.key, 'latin1'), value: r.value }))
  // Both topics at once, by consumers of their own.
  const [windowRecords, sessionRecords] = await Promise.all([
    readCommittedUntil(kafka, windowsOut, records => records.length >= expected.windows.size, { keyEncoding: 'latin1' }),
    readCommittedUntil(kafka, sessionsOut, records => records.length >= expected.sessions.size, { keyEncoding: 'latin1' })
  ])
  const windows = finals(asBytes(windowRecords), windowId)
  const sessions = finals(asBytes(sessionRecords), sessionId)
  t.same(windows, Object.fromEntries(expected.windows), `${expected.windows.size} windows: each final result once, counts exact (kafkajs)`)
  t.same(sessions, Object.fromEntries(expected.sessions), `${expected.sessions.size} sessions: each final result once, counts exact (kafkajs)`)

  // Everything committed up to the end offsets, read by the engine's reader (its position moves
  // past transaction markers): no result beyond those kafkajs waited for.
  for (const [topic, size] of [[windowsOut, expected.windows.size], [sessionsOut, expected.sessions.size]] as const) {
    const tps = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }))
    const ends = await log.admin.listOffsets(tps, 'latest')
    const reader = log.createPartitionReader({ clientId: 'kill-windowed-verify' })
    reader.assign(tps.map(tp => ({ ...tp, offset: 0n })))
    let n = 0
    while (ends.some(e => reader.position(e) < e.offset)) n += (await reader.poll(500)).length
    await reader.close()
    t.equal(n, size, `${topic}: ${size} committed records up to the end offsets`)
  }

  const stores = JSON.parse(readFileSync(dumpFile, 'utf8')) as { windows: Record<string, number>, sessions: Record<string, number> }
  t.same(stores.windows, Object.fromEntries(expected.windows), 'the window store equals the oracle')
  t.same(stores.sessions, Object.fromEntries(expected.sessions), 'the session store equals the oracle')
})
