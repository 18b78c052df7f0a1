// Foreign-key table joins end to end on each log backend, exactly-once: the application creates
// the subscription-registration and subscription-response topics at start (each with the
// partition count of the side reading it: the two tables are not co-partitioned here), and the
// results follow inserts, foreign-key changes, left deletes, right updates fanning out to many
// left rows, and right deletes; and joins whose tables are aggregations read from a repartition
// topic (the internal topics then follow the repartition topic's count).
import t from 'tap'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import type { ProducerRecord } from '../../../log/log-port.ts'
import { BACKENDS, latestUntil, produce, tempStateDir, uniqueName } from './backends.ts'

// Record timestamps near now: the broker's time-based retention (7 days) deletes older records.
const T0 = Date.now()
const json = (v: unknown): Buffer | null => v === null ? null : Buffer.from(JSON.stringify(v))

interface Order { readonly product: string, readonly qty: number }

for (const backend of BACKENDS) {
  t.test(`foreign-key join and left join on the ${backend.name} log, exactly-once`, async t => {
    const { log, cleanup } = await backend.open()
    const orders = uniqueName('orders')
    const products = uniqueName('products')
    const innerOut = uniqueName('fk-inner')
    const leftOut = uniqueName('fk-left')
    const appId = uniqueName('fk-join')
    await log.admin.createTopics([{ name: orders, partitions: 3 }, { name: products, partitions: 2 }, { name: innerOut, partitions: 3 }, { name: leftOut, partitions: 3 }])
    const state = tempStateDir()
    const builder = new StreamsBuilder()
    const orderTable = builder.table<string, Order>(orders, {}, { storeName: 'orders' })
    const productTable = builder.table<string, string>(products, { valueSerde: Serdes.string() }, { storeName: 'products' })
    const show = (o: Order, name: string | undefined): string => `${o.qty} x ${name ?? '-'}`
    orderTable.joinOnForeignKey(productTable, o => o.product, show, { name: 'inner' }, { storeName: 'inner-result', valueSerde: Serdes.string() })
      .toStream().to(innerOut, { valueSerde: Serdes.json<string>() })
    orderTable.leftJoinOnForeignKey(productTable, o => o.product, show, { name: 'left' })
      .toStream().to(leftOut, { valueSerde: Serdes.json<string>() })
    const app = new StreamsApplication(builder.build(), { log, config: { applicationId: appId, stateDir: state.dir, processingGuarantee: 'exactly_once_v2' } })
    const internal = ['inner', 'left'].flatMap(n => [`${appId}-${n}-subscription-registration-topic`, `${appId}-${n}-subscription-response-topic`])
    t.teardown(async () => {
      await app.close()
      await log.admin.deleteTopics([orders, products, innerOut, leftOut, ...internal,
        ...['orders', 'products', 'inner-subscription-store', 'left-subscription-store', 'inner-result', 'left-output-store'].map(s => `${appId}-${s}-changelog`)])
      await cleanup()
      state.remove()
    })
    await app.start()
    const described = new Map((await log.admin.describeTopics(internal)).map(d => [d.name, d.partitions]))
    t.equal(described.get(`${appId}-inner-subscription-registration-topic`), 2, 'subscriptions: partitioned as the right table')
    t.equal(described.get(`${appId}-inner-subscription-response-topic`), 3, 'responses: partitioned as the left table')
    await app.waitForState('RUNNING')

    const order = (id: string, v: Order | null, at: number): ProducerRecord => ({ topic: orders, key: Buffer.from(id), value: json(v), timestamp: T0 + at })
    const product = (id: string, name: string | null, at: number): ProducerRecord => ({ topic: products, key: Buffer.from(id), value: name === null ? null : Buffer.from(name), timestamp: T0 + at })
    const many = Array.from({ length: 30 }, (_, i) => `m${i}`)
    await produce(log, [
      product('lamp', 'Lamp', 1), product('desk', 'Desk', 2),
      order('o1', { product: 'lamp', qty: 1 }, 3), order('o2', { product: 'desk', qty: 2 }, 4), order('o3', { product: 'sofa', qty: 3 }, 5),
      ...many.map((id, i) => order(id, { product: 'chair', qty: i }, 10 + i))
    ])
    await latestUntil(log, leftOut, 3, m => m.get('o1') === '1 x Lamp' && m.get('o2') === '2 x Desk' && m.get('o3') === '3 x -' && many.every(id => m.get(id) !== undefined))
    const first = await latestUntil(log, innerOut, 3, m => m.get('o1') === '1 x Lamp' && m.get('o2') === '2 x Desk')
    t.equal(first.has('o3'), false, 'inner: no row for an order of a product that does not exist')

    await produce(log, [
      order('o1', { product: 'desk', qty: 1 }, 100), // foreign-key change
      order('o2', null, 101), // left delete
      product('chair', 'Chair', 102), // a new right row: fan-out to 30 orders
      product('lamp', 'Lamp v2', 103), // nobody orders lamps any more: no output
      product('desk', 'Desk v2', 104) // right update: o1 now
    ])
    const innerRows = await latestUntil(log, innerOut, 3, m => m.get('o1') === '1 x Desk v2' && m.get('o2') === null && many.every((id, i) => m.get(id) === `${i} x Chair`))
    t.equal(innerRows.get('o1'), '1 x Desk v2', 'o1 moved from lamp to desk, and sees its update')
    t.equal(innerRows.get('o2'), null, 'o2 deleted: tombstone')
    t.ok(many.every((id, i) => innerRows.get(id) === `${i} x Chair`), 'the new chair reached its 30 orders')

    await produce(log, [product('chair', null, 200), order('o3', { product: 'desk', qty: 3 }, 201)])
    const leftRows = await latestUntil(log, leftOut, 3, m => m.get('o3') === '3 x Desk v2' && many.every((id, i) => m.get(id) === `${i} x -`))
    t.same([leftRows.get('o1'), leftRows.get('o2'), leftRows.get('o3')], ['1 x Desk v2', null, '3 x Desk v2'], 'left join: moved, deleted, and found its product')
    t.ok(many.every((id, i) => leftRows.get(id) === `${i} x -`), 'left join: the chair went, its orders stay without it')
    const innerAfter = await latestUntil(log, innerOut, 3, m => many.every(id => m.get(id) === null) && m.get('o3') === '3 x Desk v2')
    t.ok(many.every(id => innerAfter.get(id) === null), 'inner join: the chair went, so did its orders\' rows')
    t.equal(app.store<string, string>('inner-result').state === 'READY' || app.store<string, string>('inner-result').state === 'RESTORING', true, 'the materialized result is queryable')
  })

  t.test(`foreign-key joins of an aggregated table on the ${backend.name} log`, async t => {
    const { log, cleanup } = await backend.open()
    const reviews = uniqueName('reviews')
    const orders = uniqueName('orders')
    const products = uniqueName('products')
    const ordersOut = uniqueName('order-reviews')
    const productsOut = uniqueName('product-reviews')
    const appId = uniqueName('fk-agg')
    await log.admin.createTopics([{ name: reviews, partitions: 4 }, { name: orders, partitions: 3 }, { name: products, partitions: 2 }, { name: ordersOut, partitions: 3 }, { name: productsOut, partitions: 3 }])
    const state = tempStateDir()
    const builder = new StreamsBuilder()
    // Reviews per product: a table read from the repartition topic `…-by-product-repartition`.
    const reviewCounts = builder.stream<string, string>(reviews, { valueSerde: Serdes.string() })
      .groupBy((_id, product) => product, { name: 'by-product' })
      .count({ storeName: 'review-counts' })
    const orderTable = builder.table<string, Order>(orders, {}, { storeName: 'orders' })
    const productTable = builder.table<string, string>(products, { valueSerde: Serdes.string() }, { storeName: 'products' })
    // The aggregation on the right of one join and on the left of the other.
    orderTable.joinOnForeignKey(reviewCounts, o => o.product, (o, n) => `${o.qty} x ${o.product} (${n} reviews)`, { name: 'order-reviews' })
      .toStream().to(ordersOut, { valueSerde: Serdes.json<string>() })
    reviewCounts.leftJoinOnForeignKey(productTable, (_n, productId) => productId, (n, name) => `${name ?? '?'}: ${n}`, { name: 'product-reviews' })
      .toStream().to(productsOut, { valueSerde: Serdes.json<string>() })
    const app = new StreamsApplication(builder.build(), { log, config: { applicationId: appId, stateDir: state.dir, processingGuarantee: 'exactly_once_v2' } })
    const internal = [`${appId}-by-product-repartition`, ...['order-reviews', 'product-reviews'].flatMap(n => [`${appId}-${n}-subscription-registration-topic`, `${appId}-${n}-subscription-response-topic`])]
    t.teardown(async () => {
      await app.close()
      await log.admin.deleteTopics([reviews, orders, products, ordersOut, productsOut, ...internal,
        ...['review-counts', 'orders', 'products', 'order-reviews-subscription-store', 'order-reviews-output-store', 'product-reviews-subscription-store', 'product-reviews-output-store'].map(s => `${appId}-${s}-changelog`)])
      await cleanup()
      state.remove()
    })
    await app.start()
    const described = new Map((await log.admin.describeTopics(internal)).map(d => [d.name, d.partitions]))
    t.equal(described.get(`${appId}-order-reviews-subscription-registration-topic`), 4, 'subscriptions to the aggregation: the repartition topic\'s count')
    t.equal(described.get(`${appId}-order-reviews-subscription-response-topic`), 3, 'responses to the orders: theirs')
    t.equal(described.get(`${appId}-product-reviews-subscription-registration-topic`), 2, 'subscriptions to the products: theirs')
    t.equal(described.get(`${appId}-product-reviews-subscription-response-topic`), 4, 'responses to the aggregation: the repartition topic\'s count')
    await app.waitForState('RUNNING')

    const review = (id: string, product: string, at: number): ProducerRecord => ({ topic: reviews, key: Buffer.from(id), value: Buffer.from(product), timestamp: T0 + at })
    await produce(log, [
      { topic: products, key: Buffer.from('lamp'), value: Buffer.from('Lamp'), timestamp: T0 },
      { topic: orders, key: Buffer.from('o1'), value: json({ product: 'lamp', qty: 1 }), timestamp: T0 + 1 },
      { topic: orders, key: Buffer.from('o2'), value: json({ product: 'desk', qty: 2 }), timestamp: T0 + 2 },
      ...Array.from({ length: 20 }, (_, i) => review(`r${i}`, i % 4 === 0 ? 'desk' : 'lamp', 10 + i))
    ])
    const byOrder = await latestUntil(log, ordersOut, 3, m => m.get('o1') === '1 x lamp (15 reviews)' && m.get('o2') === '2 x desk (5 reviews)')
    t.same(Object.fromEntries(byOrder), { o1: '1 x lamp (15 reviews)', o2: '2 x desk (5 reviews)' })
    const byProduct = await latestUntil(log, productsOut, 3, m => m.get('lamp') === 'Lamp: 15' && m.get('desk') === '?: 5')
    t.same(Object.fromEntries(byProduct), { lamp: 'Lamp: 15', desk: '?: 5' }, 'desk has reviews but no product row (left join)')
  })
}
