// The verifier of the Kafka exactly-once tests (kafkajs-read.ts, kafkajs read_committed) must not
// see records of aborted transactions. The broker lists a fetch's aborted transactions in the
// order they were aborted (its transaction index), not by first offset; kafkajs 2.2.4 assumed the
// latter and stepped into at most one per record, so the records of a transaction that began
// before another but was aborted after it were handed over as committed (patches/kafkajs+2.2.4.patch
// sorts them, as the Java consumer does). In zombie-fenced-kafka.test.ts the zombie's aborted
// outputs and a killed instance's aborted ones interleave so: they showed as doubled updates.
import t from 'tap'
import { createRequire } from 'node:module'
import { Kafka, logLevel } from 'kafkajs'
import { readAllCommitted } from './kafkajs-read.ts'

const require = createRequire(import.meta.url)
type Message = { offset: string, key: Buffer | null, batchContext: { producerId: string, inTransaction: boolean } }
const filterAbortedMessages = require('kafkajs/src/consumer/filterAbortedMessages.js') as (input: { messages: Message[], abortedTransactions: Array<{ producerId: string, firstOffset: string }> }) => Message[]

t.test('records of a transaction aborted after a later one are filtered out', async t => {
  // Offsets 0-1: producer 1 (aborted last); 2-3: producer 2 (aborted first); 4: producer 2's abort
  // marker; 5: producer 1's; 6: producer 3, committed.
  const record = (offset: number, producerId: string, key: Buffer | null = Buffer.from('k')): Message => ({ offset: String(offset), key, batchContext: { producerId, inTransaction: true } })
  const abortMarker = Buffer.from([0, 0, 0, 0])
  const messages = [record(0, '1'), record(1, '1'), record(2, '2'), record(3, '2'), record(4, '2', abortMarker), record(5, '1', abortMarker), record(6, '3')]
  // As the broker sends them: by abort.
  const kept = filterAbortedMessages({ messages, abortedTransactions: [{ producerId: '2', firstOffset: '2' }, { producerId: '1', firstOffset: '0' }] })
  t.same(kept.filter(m => m.key !== abortMarker).map(m => m.offset), ['6'], 'only the committed record is left')
})

t.test('kafkajs read_committed on the broker: interleaved aborted transactions stay hidden', async t => {
  const brokers = (process.env.REWARDS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
  const suffix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`
  const topic = `aborted-filter-${suffix}`
  const kafka = new Kafka({ clientId: 'aborted-filter-test', brokers, logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
  const early = kafka.producer({ transactionalId: `early-${suffix}`, idempotent: true, maxInFlightRequests: 1 })
  const late = kafka.producer({ transactionalId: `late-${suffix}`, idempotent: true, maxInFlightRequests: 1 })
  const committed = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  t.teardown(async () => {
    for (const p of [early, late, committed]) await p.disconnect().catch(() => {})
    await admin.deleteTopics({ topics: [topic] }).catch(() => {})
    await admin.disconnect()
  })
  for (const p of [early, late, committed]) await p.connect()
  const message = (value: string): { key: string, value: string } => ({ key: 'k', value })
  // `early` begins first and is aborted last: the broker lists it second.
  const first = await early.transaction()
  await first.send({ topic, messages: [message('early-1'), message('early-2'), message('early-3')] })
  const second = await late.transaction()
  await second.send({ topic, messages: [message('late-1'), message('late-2')] })
  await second.abort()
  await first.abort()
  await committed.send({ topic, messages: [message('committed-1'), message('committed-2')] })
  const read = await readAllCommitted(kafka, topic, 2, 60_000)
  t.same(read.map(r => r.value).sort(), ['committed-1', 'committed-2'], 'no record of an aborted transaction is read')
})
