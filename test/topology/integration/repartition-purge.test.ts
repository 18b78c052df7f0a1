// Purge of repartition topics on the real Kafka broker (docs/engine.md "Repartition topics"):
// after commits, the application deletes the repartition topic's records below its committed
// offsets (the topic's earliest offset advances, never past the committed one), the results stay
// exact and complete, and a restart after a purge resumes from the committed offsets.
import t from 'tap'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import type { ProducerRecord, TopicPartition } from '../../../log/log-port.ts'
import { createKafkaLog } from '../../../log/kafka/index.ts'
import { brokers, produce, readUntil, tempStateDir, uniqueName } from './backends.ts'

const T0 = Date.now()
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon']

t.test('repartition topics are purged up to the committed offsets, exactly-once, and a restart resumes', async t => {
  const log = await createKafkaLog({ brokers, clientId: 'engine-test' })
  const lines = uniqueName('lines')
  const counts = uniqueName('counts')
  const appId = uniqueName('purge')
  const repartition = `${appId}-words-repartition`
  await log.admin.createTopics([{ name: lines, partitions: 2 }, { name: counts, partitions: 3 }])
  const state = tempStateDir()
  const build = (): StreamsApplication => {
    const builder = new StreamsBuilder()
    builder.stream<string, string>(lines, { valueSerde: Serdes.string() })
      .flatMap((_k, line) => line.split(' ').map(word => ({ key: word, value: word })))
      .groupByKey({ name: 'words' })
      .count({ storeName: 'counts' })
      .toStream()
      .to(counts, { valueSerde: Serdes.json<number>() })
    return new StreamsApplication(builder.build(), { log, config: { applicationId: appId, stateDir: state.dir, processingGuarantee: 'exactly_once_v2', tableRecordCache: false, repartitionPurgeIntervalMs: 200 } })
  }
  let app = build()
  t.teardown(async () => {
    await app.close()
    await log.admin.deleteTopics([lines, counts, repartition, `${appId}-counts-changelog`])
    await log.admin.deleteGroup(appId).catch(() => undefined)
    await log.close()
    state.remove()
  })

  const expected = new Map<string, number>()
  let sent = 0
  /** Sends `n` lines of three words and waits until every word's count reached what was sent. */
  const sendAndAwait = async (n: number): Promise<Map<string, number[]>> => {
    const records: ProducerRecord[] = []
    for (let i = sent; i < sent + n; i++) {
      const line = [WORDS[i % 5]!, WORDS[(i * 3) % 5]!, WORDS[(i >> 2) % 5]!]
      for (const w of line) expected.set(w, (expected.get(w) ?? 0) + 1)
      records.push({ topic: lines, key: Buffer.from(`line-${i}`), value: Buffer.from(line.join(' ')), timestamp: T0 + i })
    }
    sent += n
    await produce(log, records)
    const seen = new Map<string, number[]>()
    await readUntil(log, counts, 3, all => {
      seen.clear()
      for (const r of all) seen.set(r.key!.toString(), [...(seen.get(r.key!.toString()) ?? []), JSON.parse(r.value!.toString()) as number])
      return WORDS.every(w => seen.get(w)?.at(-1) === expected.get(w))
    })
    return seen
  }

  await app.start()
  await app.waitForState('RUNNING')
  await sendAndAwait(200)
  await sendAndAwait(200)

  // The purge runs in the background after commits: poll the topic's log start (no event to await).
  const partitions: TopicPartition[] = [0, 1].map(partition => ({ topic: repartition, partition }))
  const deadline = Date.now() + 30_000
  let earliest = await log.admin.listOffsets(partitions, 'earliest')
  while (!earliest.every(o => o.offset > 0n) && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 100))
    earliest = await log.admin.listOffsets(partitions, 'earliest')
  }
  t.ok(earliest.every(o => o.offset > 0n), `the repartition topic's earliest offsets advanced: ${earliest.map(o => `${o.partition}@${o.offset}`).join(', ')}`)
  const purges = (await app.registry.getSingleMetric('streams_repartition_purges_total')!.get()).values
  t.ok(purges.some(v => v.labels.result === 'ok' && v.value > 0), 'streams_repartition_purges_total{result="ok"} counted')
  t.notOk(purges.some(v => v.labels.result === 'failed' && v.value > 0), 'no purge failed')

  await app.close()
  const committed = new Map((await log.admin.listCommittedOffsets(appId, partitions)).map(o => [o.partition, o.offset]))
  const after = await log.admin.listOffsets(partitions, 'earliest')
  for (const o of after) t.ok(o.offset <= (committed.get(o.partition) ?? -1n), `partition ${o.partition}: purged to ${o.offset}, committed ${committed.get(o.partition)}`)

  // A restart after the purge reads from the committed offsets (above the log start).
  app = build()
  await app.start()
  await app.waitForState('RUNNING')
  const seen = await sendAndAwait(200)
  t.equal(app.state, 'RUNNING')
  for (const w of WORDS) {
    const n = expected.get(w)!
    t.same(seen.get(w), Array.from({ length: n }, (_, i) => i + 1), `${w}: updates 1..${n}, each once, across the purge and the restart`)
  }
})

t.test('foreign-key join subscription and response topics are purged too', async t => {
  const log = await createKafkaLog({ brokers, clientId: 'engine-test' })
  const orders = uniqueName('orders')
  const products = uniqueName('products')
  const out = uniqueName('fk-out')
  const appId = uniqueName('purge-fk')
  await log.admin.createTopics([{ name: orders, partitions: 2 }, { name: products, partitions: 2 }, { name: out, partitions: 2 }])
  const state = tempStateDir()
  const builder = new StreamsBuilder()
  const orderTable = builder.table<string, { product: string, qty: number }>(orders, {}, { storeName: 'orders' })
  const productTable = builder.table<string, string>(products, { valueSerde: Serdes.string() }, { storeName: 'products' })
  orderTable.joinOnForeignKey(productTable, o => o.product, (o, name) => `${o.qty} x ${name}`, { name: 'fk' })
    .toStream().to(out, { valueSerde: Serdes.json<string>() })
  const app = new StreamsApplication(builder.build(), { log, config: { applicationId: appId, stateDir: state.dir, processingGuarantee: 'exactly_once_v2', repartitionPurgeIntervalMs: 100 } })
  const internal = [`${appId}-fk-subscription-registration-topic`, `${appId}-fk-subscription-response-topic`]
  t.teardown(async () => {
    await app.close()
    await log.admin.deleteTopics([orders, products, out, ...internal, ...(await log.admin.listTopics()).filter(n => n.startsWith(`${appId}-`) && n.endsWith('-changelog'))])
    await log.admin.deleteGroup(appId).catch(() => undefined)
    await log.close()
    state.remove()
  })
  await app.start()
  await app.waitForState('RUNNING')
  await produce(log, ['lamp', 'desk'].map((p, i) => ({ topic: products, key: Buffer.from(p), value: Buffer.from(p.toUpperCase()), timestamp: T0 + i })))
  const orderIds = Array.from({ length: 100 }, (_, i) => `o${i}`)
  // Two rounds, the second after the first's results: its commits come after the purge interval.
  for (const round of [1, 2]) {
    await produce(log, orderIds.map((id, i) => ({ topic: orders, key: Buffer.from(id), value: Buffer.from(JSON.stringify({ product: i % 2 === 0 ? 'lamp' : 'desk', qty: round })), timestamp: T0 + 10 + i })))
    const latest = new Map<string, string>()
    await readUntil(log, out, 2, all => {
      for (const r of all) latest.set(r.key!.toString(), JSON.parse(r.value!.toString()) as string)
      return orderIds.every((id, i) => latest.get(id) === `${round} x ${i % 2 === 0 ? 'LAMP' : 'DESK'}`)
    })
    t.pass(`round ${round}: every order joined`)
  }
  const partitions = internal.flatMap(topic => [0, 1].map(partition => ({ topic, partition })))
  const purged = async (): Promise<Set<string>> => new Set((await log.admin.listOffsets(partitions, 'earliest')).filter(o => o.offset > 0n).map(o => o.topic))
  const deadline = Date.now() + 30_000
  let topics = await purged()
  while (topics.size < internal.length && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 100))
    topics = await purged()
  }
  t.same([...topics].sort(), [...internal].sort(), 'both internal topics of the join were purged')
})
