// A stateful aggregation (word count) and a stream-table join, end to end on each log backend:
// same topology, same test; exact results, and the stores answer interactive queries.
import t from 'tap'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { BACKENDS, endsOf, readUntil, tempStateDir, uniqueName, waitForCommitted } from './backends.ts'

const PARTITIONS = 3
// Record timestamps near now: the broker's time-based retention (7 days) deletes older records.
const T0 = Date.now()

for (const backend of BACKENDS) for (const guarantee of ['exactly_once_v2', 'at_least_once'] as const) {
  t.test(`word count on the ${backend.name} log, ${guarantee}`, async t => {
    const { log, cleanup } = await backend.open()
    const input = uniqueName('lines')
    const output = uniqueName('counts')
    const appId = uniqueName('wc')
    await log.admin.createTopics([{ name: input, partitions: PARTITIONS }, { name: output, partitions: PARTITIONS }])
    const state = tempStateDir()
    const builder = new StreamsBuilder()
    builder.stream<string, string>(input, { valueSerde: Serdes.string() })
      .flatMapValues(line => line.split(' '))
      .groupByKey()
      .count({ storeName: 'counts' })
      .toStream()
      .to(output, { valueSerde: Serdes.json<number>() })
    // Keys are the words themselves so that grouping by key needs no repartition.
    const app = new StreamsApplication(builder.build(), { log, config: { applicationId: appId, stateDir: state.dir, processingGuarantee: guarantee } })
    t.teardown(async () => {
      await app.close()
      await log.admin.deleteTopics([input, output, `${appId}-counts-changelog`])
      await cleanup()
      state.remove()
    })
    await app.start()
    await app.waitForState('RUNNING')

    const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta']
    const expected = new Map<string, number>()
    const producer = await log.createProducer({ clientId: 'wc-producer' })
    const records = []
    for (let i = 0; i < 2000; i++) {
      const word = words[(i * 7 + (i >> 3)) % words.length]!
      expected.set(word, (expected.get(word) ?? 0) + 1)
      records.push({ topic: input, key: Buffer.from(word), value: Buffer.from(word), timestamp: T0 + i })
    }
    const ends = endsOf(await producer.send(records))
    await producer.close()

    const latest = new Map<string, number>()
    await readUntil(log, output, PARTITIONS, all => {
      for (const r of all.slice(latest.size === 0 ? 0 : 0)) latest.set(r.key!.toString(), JSON.parse(r.value!.toString()) as number)
      return words.every(w => latest.get(w) === expected.get(w))
    })
    t.same(Object.fromEntries(latest), Object.fromEntries(expected), 'final counts equal the input')

    // Outputs are sent as they are produced (visible at once under at_least_once); the stores'
    // committed view, which interactive queries read, follows at the commit of the input offsets.
    await waitForCommitted(log, appId, ends)
    const store = app.store<string, number>('counts')
    for (const word of words) {
      const meta = app.queryMetadataForKey('counts', word)
      t.ok(meta.local, `single instance owns ${word}`)
      t.equal(store.get(word), expected.get(word), `interactive query for ${word}`)
    }
    t.equal(store.get('never-seen'), undefined)
  })

  if (guarantee === 'exactly_once_v2') t.test(`stream-table join on the ${backend.name} log`, async t => {
    const { log, cleanup } = await backend.open()
    const customers = uniqueName('customers')
    const orders = uniqueName('orders')
    const enriched = uniqueName('enriched')
    const appId = uniqueName('join')
    await log.admin.createTopics([customers, orders, enriched].map(name => ({ name, partitions: PARTITIONS })))
    const state = tempStateDir()
    const builder = new StreamsBuilder()
    const table = builder.table<string, { tier: string }>(customers, {}, { storeName: 'customers' })
    builder.stream<string, { amount: number }>(orders)
      .join(table, (order, customer) => ({ amount: order.amount, tier: customer.tier }))
      .to(enriched)
    const app = new StreamsApplication(builder.build(), { log, config: { applicationId: appId, stateDir: state.dir, maxTaskIdleMs: 200 } })
    t.teardown(async () => {
      await app.close()
      await log.admin.deleteTopics([customers, orders, enriched, `${appId}-customers-changelog`])
      await cleanup()
      state.remove()
    })
    await app.start()
    await app.waitForState('RUNNING')
    const producer = await log.createProducer({ clientId: 'join-producer' })
    const json = (v: unknown) => Buffer.from(JSON.stringify(v))
    // Event time decides the order within a task: each order meets the tier valid at its time.
    await producer.send([
      { topic: customers, key: Buffer.from('c1'), value: json({ tier: 'GOLD' }), timestamp: T0 + 1000 },
      { topic: customers, key: Buffer.from('c2'), value: json({ tier: 'SILVER' }), timestamp: T0 + 1000 },
      { topic: customers, key: Buffer.from('c1'), value: json({ tier: 'PLATINUM' }), timestamp: T0 + 3000 }
    ])
    await producer.send([
      { topic: orders, key: Buffer.from('c1'), value: json({ amount: 1 }), timestamp: T0 + 2000 },
      { topic: orders, key: Buffer.from('c2'), value: json({ amount: 2 }), timestamp: T0 + 2000 },
      { topic: orders, key: Buffer.from('c3'), value: json({ amount: 3 }), timestamp: T0 + 2000 },
      { topic: orders, key: Buffer.from('c1'), value: json({ amount: 4 }), timestamp: T0 + 4000 }
    ])
    await producer.close()
    const out = await readUntil(log, enriched, PARTITIONS, all => all.length >= 3)
    const got = out.map(r => `${r.key!.toString()}:${r.value!.toString()}`).sort()
    t.same(got, ['c1:{"amount":1,"tier":"GOLD"}', 'c1:{"amount":4,"tier":"PLATINUM"}', 'c2:{"amount":2,"tier":"SILVER"}'])
  })
}
