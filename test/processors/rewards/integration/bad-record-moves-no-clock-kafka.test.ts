// On the real broker, through the platform (`rewards start --role processor`): a malformed record,
// a schema violation and a key mismatch, produced with the producer's wall clock among events
// months old, expire no dedupe entry. An independent client (kafkajs) produces the old events,
// waits until the three bad records are dead-lettered (read_committed), then re-sends every old
// event and a last new event per member; reading reward-confirmed (read_committed) up to those
// last events, every eventId is confirmed exactly once (docs/rewards.md, "Event time and order").
//
// Each send is its own batch of close timestamps (kafkajs encodes any spread correctly; the
// platform's own client needed a fix for batches > 24.9 days apart: issue 14, item 0).
import t from 'tap'
import { Kafka, logLevel } from 'kafkajs'
import { brokers, RunningCli, unique, waitForStatus } from '../../../cli/cli-helpers.ts'
import { kafkaPlatformWorld } from '../../../cli/kafka-platform-world.ts'
import { readCommittedUntil, type CommittedRecord } from '../../../fault/kafkajs-read.ts'

const DAY = 86_400_000
const MEMBERS = 8
const EVENTS_PER_MEMBER = 5

/** Values of `topic` read committed (kafkajs) until `done(values)`. */
async function readUntil (kafka: Kafka, topic: string, done: (values: string[]) => boolean): Promise<string[]> {
  const values = (records: CommittedRecord[]): string[] => records.map(r => r.value)
  return values(await readCommittedUntil(kafka, topic, records => done(values(records)), { timeoutMs: 120_000 }))
}

t.test('a bad record stamped now among months-old events expires no dedupe entry', async t => {
  const { prefix, dataDir, env } = kafkaPlatformWorld(t, 'clock', 2)
  // kafkajs, an independent client, produces and verifies.
  const kafka = new Kafka({ clientId: unique('clock-test'), brokers, logLevel: logLevel.NOTHING })

  const cli = new RunningCli(['start', '--role', 'processor', '--create-topics'], { cwd: dataDir, env })
  t.teardown(() => cli.kill())
  await waitForStatus(`http://127.0.0.1:${await cli.httpPort()}/health/ready`, 200)

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  t.teardown(() => producer.disconnect())
  const topic = `${prefix}reward-events`
  const monthsAgo = Date.now() - 200 * DAY
  const event = (member: number, id: string, atMs: number): { key: string, value: string, timestamp: string } => {
    const memberId = `M-${member}`
    const occurredAt = new Date(atMs).toISOString()
    return { key: memberId, value: JSON.stringify({ eventId: id, memberId, source: 'HOTEL', type: 'EARN', amountCents: 1000, currency: 'USD', occurredAt, propertyId: 'P-1' }), timestamp: String(atMs) }
  }
  const old = []
  for (let m = 0; m < MEMBERS; m++) for (let i = 0; i < EVENTS_PER_MEMBER; i++) old.push(event(m, `old-${m}-${i}`, monthsAgo + (m * EVENTS_PER_MEMBER + i) * 60_000))
  await producer.send({ topic, messages: old })

  // Bad records with the producer's wall clock (kafkajs stamps Date.now()), one per member on
  // both partitions; the schema violation and key mismatch also carry an occurredAt of now.
  const nowIso = new Date().toISOString()
  const bad = [
    { key: 'M-0', value: '{"eventId":"bad-1","memberId":"M-0","occurredAt":"' + nowIso + '"' },
    { key: 'M-1', value: JSON.stringify({ ...JSON.parse(event(1, 'bad-2', Date.now()).value) as object, amountCents: -1 }) },
    { key: 'M-3', value: event(2, 'bad-3', Date.now()).value } // key M-3, memberId M-2
  ]
  await producer.send({ topic, messages: bad })
  const dead = await readUntil(kafka, `${prefix}reward-events-dlq`, values => values.length >= 3)
  t.equal(dead.length, 3, 'the three bad records are dead-lettered (and committed) before the re-sends')

  // Every old event again (a producer's re-send), then one last new event per member.
  await producer.send({ topic, messages: old })
  const last = Array.from({ length: MEMBERS }, (_, m) => event(m, `last-${m}`, monthsAgo + DAY))
  await producer.send({ topic, messages: last })

  // A member's confirmations are in one partition in processing order: once its last event is
  // confirmed, any confirmation of its re-sends would have been read before it.
  const lastIds = new Set(last.map(e => (JSON.parse(e.value) as { eventId: string }).eventId))
  const confirmed = await readUntil(kafka, `${prefix}reward-confirmed`, values => {
    const seen = new Set(values.map(v => (JSON.parse(v) as { eventId: string }).eventId))
    return [...lastIds].every(id => seen.has(id))
  })
  const counts = new Map<string, number>()
  for (const v of confirmed) {
    const id = (JSON.parse(v) as { eventId: string }).eventId
    counts.set(id, (counts.get(id) ?? 0) + 1)
  }
  const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id)
  t.same(twice, [], 'no eventId confirmed twice')
  t.equal(counts.size, MEMBERS * (EVENTS_PER_MEMBER + 1), 'every event confirmed')

  cli.child.kill('SIGTERM')
  t.same(await cli.waitForExit(30_000), { code: 0, signal: null })
})
