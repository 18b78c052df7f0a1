// Foreign-key KTable-KTable join and left join in the TopologyTestDriver: inserts, foreign-key
// changes, left deletes, right updates fanning out to every subscribed left row, right deletes,
// rows without a foreign key; the internal topics and stores it declares; and stale responses
// (computed for an older left value) dropped by the resolver.
import t from 'tap'
import { Serdes, StreamsBuilder, TopologyTestDriver, type KTable } from '../../../topology/index.ts'
import { addResolver } from '../../../topology/dsl/foreign-key-join.ts'
import { internalTopicPartitions } from '../../../topology/runtime/internal-topics.ts'
import { responseSerde, valueHash, type SubscriptionResponse } from '../../../topology/dsl/foreign-key-join-serdes.ts'

interface Order { readonly product: string | null, readonly n: number }
const str = Serdes.string()
const orderSerde = Serdes.json<Order>()
const show = (order: Order, product: string | undefined): string => `${order.n}/${product ?? '-'}`

function fkDriver (kind: 'inner' | 'left', partitions = 2): {
  order: (id: string, value: Order | null) => void
  product: (id: string, name: string | null) => void
  out: () => Array<[string, string | null]>
  driver: TopologyTestDriver
} {
  const builder = new StreamsBuilder()
  const orders = builder.table<string, Order>('orders', { valueSerde: orderSerde }, { storeName: 'orders' })
  const products = builder.table<string, string>('products', { valueSerde: str }, { storeName: 'products' })
  const joined = kind === 'inner'
    ? orders.joinOnForeignKey(products, o => o.product, show, { name: 'order-product' }, { storeName: 'joined', valueSerde: str })
    : orders.leftJoinOnForeignKey(products, o => o.product, show, { name: 'order-product' }, { storeName: 'joined', valueSerde: str })
  joined.toStream().to('out', { valueSerde: str })
  const driver = new TopologyTestDriver(builder.build(), { partitions })
  const ordersIn = driver.createInputTopic('orders', str, orderSerde)
  const productsIn = driver.createInputTopic('products', str, str)
  const out = driver.createOutputTopic('out', str, str)
  return {
    driver,
    order: (id, value) => ordersIn.pipeInput(id, value),
    product: (id, name) => productsIn.pipeInput(id, name),
    out: () => out.readRecordsToList().map(r => [r.key, r.value])
  }
}

type Driver = ReturnType<typeof fkDriver>
// One script for both joins: what each step forwards (Kafka Streams' foreign-key join semantics).
const steps: Array<{ step: string, run: (d: Driver) => void, inner: Array<[string, string | null]>, left: Array<[string, string | null]> }> = [
  { step: 'order o1 → x (no product x yet)', run: d => d.order('o1', { product: 'x', n: 1 }), inner: [], left: [['o1', '1/-']] },
  { step: 'product x appears', run: d => d.product('x', 'X'), inner: [['o1', '1/X']], left: [['o1', '1/X']] },
  { step: 'order o2 → x', run: d => d.order('o2', { product: 'x', n: 2 }), inner: [['o2', '2/X']], left: [['o2', '2/X']] },
  { step: 'product x updated: fan-out to o1 and o2', run: d => d.product('x', 'X2'), inner: [['o1', '1/X2'], ['o2', '2/X2']], left: [['o1', '1/X2'], ['o2', '2/X2']] },
  { step: 'order o1 updated, same foreign key', run: d => d.order('o1', { product: 'x', n: 10 }), inner: [['o1', '10/X2']], left: [['o1', '10/X2']] },
  { step: 'order o1 moves to y (no product y)', run: d => d.order('o1', { product: 'y', n: 10 }), inner: [['o1', null]], left: [['o1', '10/-']] },
  { step: 'product y appears', run: d => d.product('y', 'Y'), inner: [['o1', '10/Y']], left: [['o1', '10/Y']] },
  { step: 'order o2 deleted', run: d => d.order('o2', null), inner: [['o2', null]], left: [['o2', null]] },
  { step: 'product x updated: nobody subscribes to x any more', run: d => d.product('x', 'X3'), inner: [], left: [] },
  { step: 'product x deleted: nobody to tell', run: d => d.product('x', null), inner: [], left: [] },
  { step: 'product y deleted', run: d => d.product('y', null), inner: [['o1', null]], left: [['o1', '10/-']] },
  { step: 'order o3 without a foreign key', run: d => d.order('o3', { product: null, n: 3 }), inner: [], left: [['o3', '3/-']] },
  { step: 'order o3 gets foreign key y (no product)', run: d => d.order('o3', { product: 'y', n: 3 }), inner: [], left: [['o3', '3/-']] },
  { step: 'product y again', run: d => d.product('y', 'Y2'), inner: [['o1', '10/Y2'], ['o3', '3/Y2']], left: [['o1', '10/Y2'], ['o3', '3/Y2']] },
  { step: 'order o3 loses its foreign key', run: d => d.order('o3', { product: null, n: 3 }), inner: [['o3', null]], left: [['o3', '3/-']] },
  { step: 'order o3 deleted', run: d => d.order('o3', null), inner: [], left: [['o3', null]] },
  { step: 'order o1 deleted', run: d => d.order('o1', null), inner: [['o1', null]], left: [['o1', null]] }
]

for (const kind of ['inner', 'left'] as const) {
  t.test(`foreign-key ${kind} join: inserts, foreign-key changes, deletes on both sides`, async t => {
    const d = fkDriver(kind)
    t.teardown(() => d.driver.close())
    for (const s of steps) {
      s.run(d)
      t.same(d.out().sort(), [...s[kind]].sort(), s.step)
    }
    const subscriptions = [0, 1].reduce((n, p) => n + d.driver.getKeyValueStore('order-product-subscription-store', p).range(undefined, undefined).length, 0)
    t.equal(subscriptions, 0, 'every subscription was removed with its order')
    const results = [0, 1].reduce((n, p) => n + d.driver.getKeyValueStore('joined', p).range(undefined, undefined).length, 0)
    t.equal(results, 0, 'and every result with it')
  })
}

t.test('a right update fans out to every left row of its key, across partitions', async t => {
  const d = fkDriver('inner', 3)
  t.teardown(() => d.driver.close())
  for (let i = 0; i < 200; i++) d.order(`o${i}`, { product: i % 2 === 0 ? 'even' : 'odd', n: i })
  t.same(d.out(), [], 'no product yet')
  d.product('even', 'E')
  const out = d.out()
  t.equal(out.length, 100, 'one result per even order')
  t.ok(out.every(([k, v]) => Number(k.slice(1)) % 2 === 0 && v === `${k.slice(1)}/E`))
  d.product('even', null)
  t.equal(d.out().filter(([, v]) => v === null).length, 100, 'and one tombstone each when the product goes')
})

t.test('internal topics, stores and sub-topologies of a named foreign-key join', async t => {
  const builder = new StreamsBuilder()
  const orders = builder.table<string, Order>('orders', {}, { storeName: 'orders' })
  const products = builder.table<string, string>('products', { valueSerde: str }, { storeName: 'products' })
  orders.joinOnForeignKey(products, o => o.product, show, { name: 'op' }).toStream().to('out', { valueSerde: str })
  const topology = builder.build().withApplicationId('app')
  t.same(topology.internalTopics().map(x => x.name).sort(), ['app-op-subscription-registration-topic', 'app-op-subscription-response-topic'])
  const subs = topology.subtopologies()
  t.equal(subs.length, 2, 'the left and the right side are separate sub-topologies (no co-partitioning needed)')
  const left = subs.find(s => s.sourceTopics.includes('orders'))!
  const right = subs.find(s => s.sourceTopics.includes('products'))!
  t.same(left.sourceTopics.sort(), ['app-op-subscription-response-topic', 'orders'])
  t.same(right.sourceTopics.sort(), ['app-op-subscription-registration-topic', 'products'])
  t.ok(right.stores.includes('op-subscription-store'))
  t.ok(left.stores.includes('op-output-store'), 'an unmaterialized result is kept in an internal store')
})

t.test('joins derived tables: a filtered left side, a mapped right side', async t => {
  const builder = new StreamsBuilder()
  const orders = builder.table<string, Order>('orders', {}, { storeName: 'orders' })
  const products = builder.table<string, { name: string }>('products', {}, { storeName: 'products' })
  orders.filter((_k, o) => o.n > 0)
    .leftJoinOnForeignKey(products.mapValues(p => p.name.toUpperCase()), o => o.product, show)
    .toStream().to('out', { valueSerde: str })
  const driver = new TopologyTestDriver(builder.build(), { partitions: 2 })
  t.teardown(() => driver.close())
  const o = driver.createInputTopic('orders', str, orderSerde)
  const p = driver.createInputTopic('products', str, Serdes.json<{ name: string }>())
  const out = driver.createOutputTopic('out', str, str)
  p.pipeInput('x', { name: 'lamp' })
  o.pipeInput('a', { product: 'x', n: 1 })
  o.pipeInput('b', { product: 'x', n: 0 })
  t.same(out.readRecordsToList().map(r => [r.key, r.value]), [['a', '1/LAMP']], 'b is filtered out')
  o.pipeInput('a', { product: 'x', n: 0 })
  t.same(out.readRecordsToList().map(r => [r.key, r.value]), [['a', null]], 'a filtered out now: its result goes')
})

t.test('a response computed for an older left value is dropped (stale, out of order)', async t => {
  // The resolver fed from an ordinary topic, so the test can deliver responses out of order.
  const builder = new StreamsBuilder()
  const orders = builder.table<string, Order>('orders', { valueSerde: orderSerde }, { storeName: 'orders' })
  const responses = builder.stream<string, SubscriptionResponse<string>>('responses', { valueSerde: responseSerde(str) })
  addResolver<string, Order, string, string>(builder, responses.nodeName, {
    name: 'resolver', kind: 'inner', left: orders.valueGetter, valueSerde: orderSerde, keySerde: str, joiner: show, materialized: undefined, outputStore: 'out-store'
  }).toStream().to('out', { valueSerde: str })
  const driver = new TopologyTestDriver(builder.build())
  t.teardown(() => driver.close())
  const o = driver.createInputTopic('orders', str, orderSerde)
  const r = driver.createInputTopic('responses', str, responseSerde(str))
  const out = driver.createOutputTopic('out', str, str)
  const v1: Order = { product: 'x', n: 1 }
  const v2: Order = { product: 'y', n: 2 }
  o.pipeInput('a', v1)
  o.pipeInput('a', v2)
  r.pipeInput('a', { hash: valueHash(orderSerde, v1), foreignValue: 'X' })
  t.same(out.readRecordsToList(), [], 'the answer for v1 arrives after v2: dropped')
  t.equal(driver.droppedRecordsTotal, 1, 'and counted as dropped')
  r.pipeInput('a', { hash: valueHash(orderSerde, v2), foreignValue: 'Y' })
  t.same(out.readRecordsToList().map(x => [x.key, x.value]), [['a', '2/Y']], 'the answer for v2 is joined')
  o.pipeInput('a', null)
  r.pipeInput('a', { hash: valueHash(orderSerde, v2), foreignValue: 'Y2' })
  r.pipeInput('a', { hash: null, foreignValue: null })
  t.same(out.readRecordsToList().map(x => [x.key, x.value]), [['a', null]], 'after a delete, only the delete\'s answer counts')
  t.equal(driver.droppedRecordsTotal, 2)
})

t.test('partition counts of the internal topics when either table comes from a repartition topic', async t => {
  // Topics: events (4 partitions) re-keyed into an aggregation; orders (3); products (2).
  const existing = new Map([['events', 4], ['orders', 3], ['products', 2]])
  const counts = (leftFromAggregation: boolean, rightFromAggregation: boolean): Map<string, number> => {
    const builder = new StreamsBuilder()
    const aggregated = (name: string): KTable<string, unknown> => builder.stream<string, string>('events', { valueSerde: str })
      .groupBy((_k, v) => v, { name: `${name}-by` })
      .count({ storeName: name })
    const left: KTable<string, unknown> = leftFromAggregation ? aggregated('left-agg') : builder.table<string, unknown>('orders', {}, { storeName: 'orders' })
    const right: KTable<string, unknown> = rightFromAggregation
      ? (leftFromAggregation ? left : aggregated('right-agg'))
      : builder.table<string, unknown>('products', {}, { storeName: 'products' })
    left.joinOnForeignKey(right, v => String(v), (v, w) => `${String(v)}/${String(w)}`, { name: 'fk' }).toStream().to('out')
    const topology = builder.build().withApplicationId('app')
    return internalTopicPartitions(topology, topology.subtopologies(), existing)
  }
  const both = counts(false, false)
  t.same([both.get('app-fk-subscription-registration-topic'), both.get('app-fk-subscription-response-topic')], [2, 3], 'external tables: right\'s and left\'s counts')
  const leftAgg = counts(true, false)
  t.same([leftAgg.get('app-fk-subscription-registration-topic'), leftAgg.get('app-fk-subscription-response-topic'), leftAgg.get('app-left-agg-by-repartition')], [2, 4, 4], 'left from a repartition topic: responses follow it')
  const rightAgg = counts(false, true)
  t.same([rightAgg.get('app-fk-subscription-registration-topic'), rightAgg.get('app-fk-subscription-response-topic'), rightAgg.get('app-right-agg-by-repartition')], [4, 3, 4], 'right from a repartition topic: subscriptions follow it')
  const self = counts(true, true)
  t.same([self.get('app-fk-subscription-registration-topic'), self.get('app-fk-subscription-response-topic')], [4, 4], 'a self-join of an aggregation')
})
