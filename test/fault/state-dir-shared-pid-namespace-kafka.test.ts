// One owner per state directory, across PID namespaces, on the real broker
// (docs/decisions/0009-state-directory-lock.md). While a `rewards start --role processor` is
// processing events an independent client (kafkajs) produces, a second one on the same data
// directory and application id — started in its own PID namespace (`unshare --pid --fork
// --mount-proc`), where the first one's pid does not exist — exits 1 at once, naming the holder,
// without having created a Kafka client (it never joins the group nor fences the first). Then the
// first is SIGKILLed mid-stream and restarted: it takes the lock at once. Every event is confirmed
// exactly once (kafkajs, read_committed).
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { readlinkSync } from 'node:fs'
import { hostname } from 'node:os'
import { Kafka, logLevel } from 'kafkajs'
import { brokers, CLI, NODE, RunningCli, unique, waitForStatus, type LogLine } from '../cli/cli-helpers.ts'
import { kafkaPlatformWorld } from '../cli/kafka-platform-world.ts'
import { readCommittedUntil, type CommittedRecord } from './kafkajs-read.ts'

const MEMBERS = 20
const BATCHES = 40
const PER_BATCH = 25

/** `unshare --pid` needs root (or user namespaces); without it the second process runs in our
 *  namespace, which still tests the lock but not across namespaces (said in the output). */
const canUnshare = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0

/** Values of `topic` read committed (kafkajs) until `done(values)`. */
async function readUntil (kafka: Kafka, topic: string, done: (values: string[]) => boolean): Promise<string[]> {
  const values = (records: CommittedRecord[]): string[] => records.map(r => r.value)
  return values(await readCommittedUntil(kafka, topic, records => done(values(records)), { timeoutMs: 180_000 }))
}

/** Runs `rewards start` (in a new PID namespace when possible) and collects its output. */
function startSecond (args: string[], cwd: string, env: Record<string, string>): Promise<{ code: number | null, stderr: string, namespace: string, ms: number }> {
  const started = Date.now()
  // The shell prints the namespace the command runs in, then becomes the command.
  const script = `readlink /proc/self/ns/pid >&2; exec "$0" "$@"`
  const command = canUnshare
    ? spawn('unshare', ['--pid', '--fork', '--mount-proc', 'sh', '-c', script, NODE, CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('sh', ['-c', script, NODE, CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  command.stderr.on('data', chunk => { stderr += chunk })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { command.kill('SIGKILL'); reject(new Error(`the second instance did not exit within 60 s\n${stderr}`)) }, 60_000)
    command.on('close', code => {
      clearTimeout(timer)
      resolve({ code, stderr, namespace: stderr.split('\n')[0] ?? '', ms: Date.now() - started })
    })
  })
}

t.test('a second instance on the same state directory, in another PID namespace, fails fast; a SIGKILLed one is taken over at once', async t => {
  if (!canUnshare) t.comment('unshare --pid is not available here: the second instance runs in this PID namespace')
  const { prefix, dataDir, env } = kafkaPlatformWorld(t, 'lock', 2)
  // kafkajs, an independent client, produces and verifies.
  const kafka = new Kafka({ clientId: unique('lock-test'), brokers, logLevel: logLevel.NOTHING })

  const first = new RunningCli(['start', '--role', 'processor', '--create-topics'], { cwd: dataDir, env })
  t.teardown(() => first.kill())
  await waitForStatus(`http://127.0.0.1:${await first.httpPort()}/health/ready`, 200)

  // Events flow for the rest of the test: BATCHES sends of PER_BATCH, paced.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  t.teardown(() => producer.disconnect())
  const topic = `${prefix}reward-events`
  let sent = 0
  const produce = async (batches: number): Promise<void> => {
    for (let b = 0; b < batches; b++) {
      const messages = []
      for (let i = 0; i < PER_BATCH; i++, sent++) {
        const memberId = `M-${sent % MEMBERS}`
        messages.push({ key: memberId, value: JSON.stringify({ eventId: `e-${sent}`, memberId, source: 'HOTEL', type: 'EARN', amountCents: 1000, currency: 'USD', occurredAt: new Date(Date.parse('2026-03-01T00:00:00Z') + sent * 1000).toISOString(), propertyId: 'P-1' }) })
      }
      await producer.send({ topic, messages })
      await new Promise(resolve => setTimeout(resolve, 100)) // pacing, so that the faults land while records flow
    }
  }

  // The second instance while the first processes (its transactions open and commit meanwhile).
  const firstWave = produce(BATCHES / 2)
  await first.waitForLine(l => l.msg.startsWith('role processor started'))
  const second = await startSecond(['start', '--role', 'processor'], dataDir, env)
  await firstWave
  const ownNamespace = readlinkSync('/proc/self/ns/pid')
  if (canUnshare) t.not(second.namespace, ownNamespace, `the second ran in another PID namespace (${second.namespace})`)
  t.equal(second.code, 1, 'the second exits 1')
  t.ok(second.ms < 15_000, `and fast (${second.ms} ms)`)
  t.match(second.stderr, `is locked by another instance: pid ${first.child.pid} on host ${hostname()}`, 'naming the holder')
  t.match(second.stderr, /since \d{4}-\d\d-\d\dT/, 'and since when')
  const secondLines = second.stderr.split('\n').flatMap(l => { try { return [JSON.parse(l) as LogLine] } catch { return [] } })
  t.ok(secondLines.some(l => l.event === 'state_dir.lock_refused'), 'logged as state_dir.lock_refused')
  t.notOk(secondLines.some(l => /starting the stream application|topics|listening/.test(l.msg)), 'it stopped before any role, log client or listener')
  t.notOk(first.lines.some(l => l.event === 'commit.failed'), 'the first never failed a commit (it was not fenced)')
  t.notOk(first.lines.some(l => l.msg.includes('RUNNING -> REBALANCING')), 'nor made to rebalance (nobody joined its group)')

  // SIGKILL the holder while the second wave flows, and restart it at once.
  const secondWave = produce(BATCHES / 2)
  await new Promise(resolve => setTimeout(resolve, 700))
  await first.kill()
  const restartedAt = Date.now()
  const restarted = new RunningCli(['start', '--role', 'processor'], { cwd: dataDir, env })
  t.teardown(() => restarted.kill())
  const locked = await restarted.waitForLine(l => l.event === 'state_dir.locked', 30_000)
  t.equal(locked.pid, restarted.child.pid, 'the restarted instance holds the lock')
  t.ok(Date.now() - restartedAt < 10_000, `taken at once after the SIGKILL (${Date.now() - restartedAt} ms from spawn, module loading included)`)
  await secondWave
  // One last event per member: once each is confirmed, all of that member's earlier
  // confirmations (same output partition, processing order) have been read.
  const last = Array.from({ length: MEMBERS }, (_, m) => ({ key: `M-${m}`, value: JSON.stringify({ eventId: `last-${m}`, memberId: `M-${m}`, source: 'HOTEL', type: 'EARN', amountCents: 1000, currency: 'USD', occurredAt: '2026-04-01T00:00:00Z', propertyId: 'P-1' }) }))
  await producer.send({ topic, messages: last })

  const confirmed = await readUntil(kafka, `${prefix}reward-confirmed`, values => {
    const seen = new Set(values.map(v => (JSON.parse(v) as { eventId: string }).eventId))
    return last.every((_, m) => seen.has(`last-${m}`))
  })
  const counts = new Map<string, number>()
  for (const v of confirmed) {
    const id = (JSON.parse(v) as { eventId: string }).eventId
    counts.set(id, (counts.get(id) ?? 0) + 1)
  }
  t.same([...counts].filter(([, n]) => n > 1).map(([id]) => id), [], 'nothing confirmed twice')
  const missing = Array.from({ length: sent }, (_, i) => `e-${i}`).filter(id => !counts.has(id))
  t.same(missing, [], `nothing lost (${sent} events + ${MEMBERS} last ones)`)
  t.equal(counts.size, sent + MEMBERS)

  restarted.child.kill('SIGTERM')
  t.same(await restarted.waitForExit(30_000), { code: 0, signal: null })
})
