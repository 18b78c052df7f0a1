// Outputs the broker refuses, inside exactly-once transactions, on the real broker: the
// application keeps RUNNING, the production exception handler's dead letter of the input lands
// once, and every other output is exactly once (the refused input counts nowhere).
// - INVALID_TIMESTAMP: an output stamped three hours ahead (Kafka 4's
//   message.timestamp.after.max.ms is one hour); the broker names the record (record_errors).
// - MESSAGE_TOO_LARGE: an output over the topic's max.message.bytes; the broker names only the
//   partition batch, so the engine sends that partition one record per request to find it.
import t from 'tap'
import type { LogRecord } from '../../../log/log-port.ts'
import type { ProductionExceptionHandler } from '../../../topology/runtime/production-exception-handler.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import { BACKENDS, readUntil, tempStateDir, uniqueName } from './backends.ts'

const PARTITIONS = 2
const HOUR = 3_600_000
const kafka = BACKENDS.find(b => b.name === 'kafka')

/** Dead-letters the input to `dlq`, unchanged, with the reason in headers. */
function toDlq (dlq: string): ProductionExceptionHandler {
  return ({ input, code }) => ({
    response: 'CONTINUE',
    deadLetterRecords: [{ topic: dlq, key: input.key, value: input.value, timestamp: input.timestamp, headers: { ...input.headers, 'error.code': Buffer.from(code), 'source.offset': Buffer.from(String(input.offset)) } }]
  })
}

async function metric (app: StreamsApplication, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const values = (await app.registry.getSingleMetric(name)?.get())?.values ?? []
  return values.find(v => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value
}

t.test('an output stamped 3 h ahead: its input to the DLQ once, everything else exactly once', { skip: kafka === undefined }, async t => {
  const { log, cleanup } = await kafka!.open()
  const input = uniqueName('refused-in')
  const output = uniqueName('refused-out')
  const dlq = `${input}-dlq`
  const appId = uniqueName('refused')
  await log.admin.createTopics([{ name: input, partitions: PARTITIONS }, { name: output, partitions: PARTITIONS }, { name: dlq, partitions: 1 }])
  const state = tempStateDir()
  const builder = new StreamsBuilder()
  // The value "future" carries an event time three hours ahead: its count is stamped with it.
  builder.stream<string, string>(input, { valueSerde: Serdes.string(), timestampExtractor: r => r.value?.toString() === 'future' ? Date.now() + 3 * HOUR : r.timestamp })
    .groupByKey()
    .count({ storeName: 'counts' })
    .toStream()
    .to(output, { valueSerde: Serdes.json<number>() })
  const app = new StreamsApplication(builder.build(), { log, productionExceptionHandler: toDlq(dlq), config: { applicationId: appId, stateDir: state.dir, processingGuarantee: 'exactly_once_v2', tableRecordCache: false } })
  const events: string[] = []
  app.onRecovery(e => events.push(e.event))
  t.teardown(async () => {
    await app.close()
    await log.admin.deleteTopics([input, output, dlq, `${appId}-counts-changelog`])
    await cleanup()
    state.remove()
  })
  await app.start()
  await app.waitForState('RUNNING')

  const keys = ['a', 'b', 'c', 'd']
  const expected = new Map<string, number>()
  const producer = await log.createProducer({ clientId: 'refused-input' })
  t.teardown(() => producer.close())
  let outputs: LogRecord[] = []
  for (let b = 0; b < 3; b++) {
    const records = []
    for (let i = 0; i < 200; i++) {
      const key = keys[i % keys.length]!
      // Batch 1, record 101: the one refused. Its key is counted by the others around it.
      const value = b === 1 && i === 101 ? 'future' : `${b}.${i}`
      if (value !== 'future') expected.set(key, (expected.get(key) ?? 0) + 1)
      records.push({ topic: input, key: Buffer.from(key), value: Buffer.from(value) })
    }
    await producer.send(records)
    outputs = await readUntil(log, output, PARTITIONS, all => {
      const latest = new Map<string, number>()
      for (const r of all) latest.set(r.key!.toString(), JSON.parse(r.value!.toString()) as number)
      return keys.every(k => (latest.get(k) ?? 0) >= (expected.get(k) ?? 0))
    }, 120_000)
  }
  const dead = await readUntil(log, dlq, 1, all => all.length >= 1, 60_000)

  t.equal(app.state, 'RUNNING', 'the application kept running')
  t.equal(dead.length, 1, 'one dead letter')
  t.equal(dead[0]?.value?.toString(), 'future', 'the refused input, unchanged')
  t.equal(dead[0]?.headers['error.code']?.toString(), 'INVALID_TIMESTAMP', 'with the reason')
  const seen = new Map<string, number[]>()
  for (const r of outputs) {
    const list = seen.get(r.key!.toString()) ?? []
    list.push(JSON.parse(r.value!.toString()) as number)
    seen.set(r.key!.toString(), list)
  }
  for (const key of keys) {
    const counts = seen.get(key) ?? []
    t.same(counts, Array.from({ length: expected.get(key)! }, (_, i) => i + 1), `${key}: counts 1..${expected.get(key)} once each, in order (the refused input counts nowhere)`)
  }
  const store = app.store<string, number>('counts')
  for (const key of keys) t.equal(store.get(key), expected.get(key), `${key}: the store agrees`)
  t.equal(await metric(app, 'streams_production_exceptions_total', { code: 'INVALID_TIMESTAMP', response: 'CONTINUE' }), 1, 'streams_production_exceptions_total counts it')
  t.equal(await metric(app, 'streams_producers_replaced_total', { reason: 'refused' }), 1, 'the producer was replaced once')
  t.same(events, ['production.record-replaced', 'producer.replaced'], 'one line per recovery')
})

t.test('an input whose two outputs are refused: the handler is asked once, one dead letter', { skip: kafka === undefined }, async t => {
  const { log, cleanup } = await kafka!.open()
  const input = uniqueName('refused2-in')
  const outA = uniqueName('refused2-a')
  const outB = uniqueName('refused2-b')
  const dlq = `${input}-dlq`
  const appId = uniqueName('refused2')
  await log.admin.createTopics([{ name: input, partitions: 1 }, { name: outA, partitions: 1 }, { name: outB, partitions: 1 }, { name: dlq, partitions: 1 }])
  const state = tempStateDir()
  const builder = new StreamsBuilder()
  const stamped = builder.stream<string, string>(input, { valueSerde: Serdes.string(), timestampExtractor: r => r.value?.toString() === 'future' ? Date.now() + 3 * HOUR : r.timestamp })
  stamped.to(outA, { valueSerde: Serdes.string() })
  stamped.to(outB, { valueSerde: Serdes.string() })
  let asked = 0
  const handler = toDlq(dlq)
  const app = new StreamsApplication(builder.build(), { log, productionExceptionHandler: failure => { asked++; return handler(failure) }, config: { applicationId: appId, stateDir: state.dir, processingGuarantee: 'exactly_once_v2' } })
  const events: string[] = []
  app.onRecovery(e => events.push(e.event))
  t.teardown(async () => {
    await app.close()
    await log.admin.deleteTopics([input, outA, outB, dlq])
    await cleanup()
    state.remove()
  })
  await app.start()
  await app.waitForState('RUNNING')
  const producer = await log.createProducer({ clientId: 'refused2-input' })
  t.teardown(() => producer.close())
  await producer.send(['before', 'future', 'after'].map(value => ({ topic: input, key: Buffer.from('k'), value: Buffer.from(value) })))
  const a = await readUntil(log, outA, 1, all => all.length >= 2, 120_000)
  const b = await readUntil(log, outB, 1, all => all.length >= 2, 120_000)
  const dead = await readUntil(log, dlq, 1, all => all.length >= 1, 60_000)
  t.same(a.map(r => r.value?.toString()), ['before', 'after'], 'first output: the others, once')
  t.same(b.map(r => r.value?.toString()), ['before', 'after'], 'second output: the others, once')
  t.equal(dead.length, 1, 'one dead letter for the input')
  t.equal(asked, 1, 'the handler was asked once for the input, not once per refused output')
  t.equal(await metric(app, 'streams_production_exceptions_total', { topic: outA, code: 'INVALID_TIMESTAMP', response: 'CONTINUE' }), 1, 'the refused record of the first output counted')
  t.equal(await metric(app, 'streams_production_exceptions_total', { topic: outB, code: 'INVALID_TIMESTAMP', response: 'CONTINUE' }), 1, 'and of the second')
  t.same(events.filter(e => e === 'production.record-replaced'), ['production.record-replaced'], 'one log line for the replaced input')
})

t.test('an output over max.message.bytes: the batch is isolated, then its input goes to the DLQ', { skip: kafka === undefined }, async t => {
  const { log, cleanup } = await kafka!.open()
  const input = uniqueName('huge-in')
  const output = uniqueName('huge-out')
  const dlq = `${input}-dlq`
  const appId = uniqueName('huge')
  await log.admin.createTopics([{ name: input, partitions: PARTITIONS }, { name: output, partitions: PARTITIONS, config: { 'max.message.bytes': '4000' } }, { name: dlq, partitions: 1 }])
  const state = tempStateDir()
  const builder = new StreamsBuilder()
  builder.stream<string, string>(input, { valueSerde: Serdes.string() })
    .mapValues(v => v === 'huge' ? 'x'.repeat(10_000) : v)
    .to(output, { valueSerde: Serdes.string() })
  const app = new StreamsApplication(builder.build(), { log, productionExceptionHandler: toDlq(dlq), config: { applicationId: appId, stateDir: state.dir, processingGuarantee: 'exactly_once_v2', tableRecordCache: false } })
  const events: string[] = []
  app.onRecovery(e => events.push(e.event))
  t.teardown(async () => {
    await app.close()
    await log.admin.deleteTopics([input, output, dlq])
    await cleanup()
    state.remove()
  })
  await app.start()
  await app.waitForState('RUNNING')

  const producer = await log.createProducer({ clientId: 'huge-input' })
  t.teardown(() => producer.close())
  const sent: string[] = []
  const records = []
  for (let i = 0; i < 300; i++) {
    const value = i === 150 ? 'huge' : `v${i}`
    if (value !== 'huge') sent.push(value)
    records.push({ topic: input, key: Buffer.from(`k${i % 7}`), value: Buffer.from(value) })
  }
  await producer.send(records)
  const outputs = await readUntil(log, output, PARTITIONS, all => all.length >= sent.length, 120_000)
  const dead = await readUntil(log, dlq, 1, all => all.length >= 1, 60_000)

  t.equal(app.state, 'RUNNING', 'the application kept running')
  t.same(outputs.map(r => r.value!.toString()).sort(), [...sent].sort(), 'every other output exactly once')
  t.equal(dead.length, 1, 'one dead letter')
  t.equal(dead[0]?.value?.toString(), 'huge', 'the refused input, unchanged')
  t.equal(dead[0]?.headers['error.code']?.toString(), 'MESSAGE_TOO_LARGE', 'with the reason')
  t.ok(events.includes('production.isolating'), 'the batch was isolated first')
  t.equal(events.filter(e => e === 'production.record-replaced').length, 1, 'then the record found and replaced once')
})

for (const backend of BACKENDS) {
  t.test(`an output that cannot be serialized on the ${backend.name} log: its input to the DLQ once`, async t => {
    const { log, cleanup } = await backend.open()
    const input = uniqueName('serde-in')
    const output = uniqueName('serde-out')
    const dlq = `${input}-dlq`
    const appId = uniqueName('serde')
    await log.admin.createTopics([{ name: input, partitions: PARTITIONS }, { name: output, partitions: PARTITIONS }, { name: dlq, partitions: 1 }])
    const state = tempStateDir()
    const refusing = { serialize: (v: number): Buffer => { if (v === 3) throw new Error('3 is not allowed'); return Buffer.from(String(v)) }, deserialize: (b: Buffer): number => Number(b.toString()) }
    const builder = new StreamsBuilder()
    // The count 3 of each key cannot be serialized: the input that made it goes to the DLQ and is
    // counted nowhere, so the next input of that key makes 3 again (and fails again).
    builder.stream<string, string>(input, { valueSerde: Serdes.string() })
      .groupByKey()
      .count({ storeName: 'counts' })
      .toStream()
      .to(output, { valueSerde: refusing })
    const app = new StreamsApplication(builder.build(), { log, productionExceptionHandler: toDlq(dlq), config: { applicationId: appId, stateDir: state.dir, processingGuarantee: 'exactly_once_v2', tableRecordCache: false } })
    t.teardown(async () => {
      await app.close()
      await log.admin.deleteTopics([input, output, dlq, `${appId}-counts-changelog`])
      await cleanup()
      state.remove()
    })
    await app.start()
    await app.waitForState('RUNNING')
    const producer = await log.createProducer({ clientId: 'serde-input' })
    t.teardown(() => producer.close())
    // Key a: values a1..a4 → counts 1, 2, (3 refused: a3 dead), 3 refused again (a4 dead). Key b: b1, b2.
    await producer.send(['a1', 'a2', 'a3', 'a4', 'b1', 'b2'].map(v => ({ topic: input, key: Buffer.from(v[0]!), value: Buffer.from(v) })))
    const dead = await readUntil(log, dlq, 1, all => all.length >= 2, 60_000)
    const outputs = await readUntil(log, output, PARTITIONS, all => all.length >= 4, 60_000)
    t.same(dead.map(r => r.value!.toString()), ['a3', 'a4'], 'each input whose output cannot be serialized, once')
    t.same(dead.map(r => r.headers['error.code']?.toString()), ['SERIALIZATION_FAILED', 'SERIALIZATION_FAILED'], 'with the reason')
    t.same(outputs.map(r => `${r.key!.toString()}=${r.value!.toString()}`).sort(), ['a=1', 'a=2', 'b=1', 'b=2'], 'every other output once')
    t.equal(app.store<string, number>('counts').get('a'), 2, 'the dead inputs count nowhere')
    t.equal(app.state, 'RUNNING')
  })
}
