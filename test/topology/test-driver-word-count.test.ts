import t from 'tap'
// Written as an application would be: everything from the engine's public entry.
import { Serdes, StreamsBuilder, TopologyTestDriver, type ProcessorContext } from '../../topology/index.ts'

t.test('word count through flatMapValues, selectKey-free grouping and count', async t => {
  const builder = new StreamsBuilder()
  builder.stream<string, string>('lines', { keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .flatMapValues(line => line.toLowerCase().split(/\W+/).filter(Boolean))
    .process<string, string>(() => {
      let ctx: ProcessorContext<string, string>
      return { init (c) { ctx = c }, process (r) { ctx.forward({ ...r, key: r.value }) } }
    })
    .to('words', { keySerde: Serdes.string(), valueSerde: Serdes.string() })
  builder.stream<string, string>('words', { keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .groupByKey()
    .count({ storeName: 'word-counts' })
    .toStream()
    .to('counts', { keySerde: Serdes.string(), valueSerde: Serdes.json<number>() })

  const driver = new TopologyTestDriver(builder.build(), { partitions: 3 })
  t.teardown(() => driver.close())
  const lines = driver.createInputTopic('lines', Serdes.string(), Serdes.string())
  const words = driver.createOutputTopic('words', Serdes.string(), Serdes.string())
  const wordsIn = driver.createInputTopic('words', Serdes.string(), Serdes.string())
  const counts = driver.createOutputTopic('counts', Serdes.string(), Serdes.json<number>())

  lines.pipeInput('l1', 'The cat and the hat', 1000)
  lines.pipeInput('l2', 'the end', 2000)
  // The driver does not loop topics back: feed the intermediate topic as Kafka would.
  for (const w of words.readRecordsToList()) wordsIn.pipeInput(w.key, w.value, w.timestamp)

  const final = new Map<string, number>()
  for (const r of counts.readRecordsToList()) final.set(r.key, r.value)
  t.same(Object.fromEntries(final), { the: 3, cat: 1, and: 1, hat: 1, end: 1 })
  const total = [0, 1, 2].reduce((sum, p) => {
    try { return sum + (driver.getKeyValueStore<string, number>('word-counts', p).get('the') ?? 0) } catch { return sum }
  }, 0)
  t.equal(total, 3, 'the store holds the count in the partition that owns the key')
})

t.test('stream-table join: each order meets the customer current at its time', async t => {
  const builder = new StreamsBuilder()
  const customers = builder.table<string, { name: string }>('customers', {}, { storeName: 'customers-store' })
  builder.stream<string, { amount: number }>('orders')
    .join(customers, (order, customer) => ({ amount: order.amount, name: customer.name }))
    .to('enriched')
  builder.stream<string, { amount: number }>('orders-left')
    .leftJoin(customers, (order, customer) => ({ amount: order.amount, name: customer?.name ?? null }))
    .to('enriched-left')
  const driver = new TopologyTestDriver(builder.build())
  t.teardown(() => driver.close())
  const cust = driver.createInputTopic('customers', Serdes.string(), Serdes.json<{ name: string }>())
  const orders = driver.createInputTopic('orders', Serdes.string(), Serdes.json<{ amount: number }>())
  const ordersLeft = driver.createInputTopic('orders-left', Serdes.string(), Serdes.json<{ amount: number }>())
  const out = driver.createOutputTopic('enriched', Serdes.string(), Serdes.json<{ amount: number, name: string }>())
  const outLeft = driver.createOutputTopic('enriched-left', Serdes.string(), Serdes.json<{ amount: number, name: string | null }>())

  orders.pipeInput('c1', { amount: 5 }) // no customer yet: inner join drops it
  cust.pipeInput('c1', { name: 'Ada' })
  orders.pipeInput('c1', { amount: 7 })
  cust.pipeInput('c1', { name: 'Ada L.' })
  orders.pipeInput('c1', { amount: 9 })
  cust.pipeInput('c1', null) // tombstone deletes
  orders.pipeInput('c1', { amount: 11 })
  ordersLeft.pipeInput('c2', { amount: 1 })

  t.same(out.readValuesToList(), [{ amount: 7, name: 'Ada' }, { amount: 9, name: 'Ada L.' }])
  t.same(outLeft.readValuesToList(), [{ amount: 1, name: null }])
})

t.test('filter, map, mapValues, split, merge, peek, reduce and aggregate', async t => {
  const builder = new StreamsBuilder()
  const seen: number[] = []
  const src = builder.stream<string, number>('nums', { keySerde: Serdes.string(), valueSerde: Serdes.json<number>() })
  const [evens, odds] = src.peek((_k, v) => seen.push(v)).split((_k, v) => v % 2 === 0, () => true)
  evens!.mapValues(v => v * 10).merge(odds!.filter((_k, v) => v > 1).filterNot((_k, v) => v === 5)).to('mixed')
  src.groupByKey().reduce((a, b) => Math.max(a, b), { storeName: 'max' }).toStream().to('max-out')
  src.groupByKey().aggregate(() => ({ n: 0, sum: 0 }), (_k, v, agg) => ({ n: agg.n + 1, sum: agg.sum + v }), { storeName: 'stats' })
  src.map((k, v) => ({ key: `${k}!`, value: String(v) })).to('mapped', { keySerde: Serdes.string(), valueSerde: Serdes.string() })
  const driver = new TopologyTestDriver(builder.build())
  t.teardown(() => driver.close())
  const input = driver.createInputTopic('nums', Serdes.string(), Serdes.json<number>())
  for (const v of [1, 2, 3, 4, 5]) input.pipeInput('k', v)
  t.same(seen, [1, 2, 3, 4, 5])
  t.same(driver.createOutputTopic('mixed', Serdes.string(), Serdes.json<number>()).readValuesToList(), [20, 3, 40])
  t.same(driver.createOutputTopic('max-out', Serdes.string(), Serdes.json<number>()).readValuesToList(), [1, 2, 3, 4, 5])
  t.same(driver.getKeyValueStore('stats').get('k'), { n: 5, sum: 15 })
  t.same(driver.createOutputTopic('mapped', Serdes.string(), Serdes.string()).readRecordsToList().map(r => [r.key, r.value]), [['k!', '1'], ['k!', '2'], ['k!', '3'], ['k!', '4'], ['k!', '5']])
})

t.test('punctuation on stream time and on the mocked wall clock', async t => {
  const builder = new StreamsBuilder()
  const fired: Array<[string, number]> = []
  builder.stream<string, string>('in', { valueSerde: Serdes.string() }).process(() => ({
    init (ctx) {
      ctx.schedule(1000, 'STREAM_TIME', ts => fired.push(['stream', ts]))
      ctx.schedule(500, 'WALL_CLOCK_TIME', ts => fired.push(['wall', ts]))
    },
    process () {}
  }))
  const driver = new TopologyTestDriver(builder.build(), { startTimeMs: 10_000 })
  t.teardown(() => driver.close())
  const input = driver.createInputTopic('in', Serdes.string(), Serdes.string())
  input.pipeInput('a', 'x', 100) // first stream time: schedules 1100
  input.pipeInput('a', 'x', 900)
  input.pipeInput('a', 'x', 1100)
  input.pipeInput('a', 'x', 3500)
  driver.advanceWallClockTime(499)
  driver.advanceWallClockTime(1)
  t.same(fired, [['stream', 1100], ['stream', 3500], ['wall', 10_500]])
})
