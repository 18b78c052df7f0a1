// KStream-GlobalKTable join and leftJoin in the TopologyTestDriver: lookups by a key computed
// from the stream record (no co-partitioning: the stream runs with 3 partitions), a global table
// update then a stream lookup, a tombstone, a null lookup key, the read-only store, and the
// topology checks of globalTable().
import t from 'tap'
import { Serdes, StreamsBuilder, TopologyTestDriver, GlobalKTable } from '../../../topology/index.ts'
import { isStreamsError } from '../../../topology/streams-error.ts'
import type { KeyValueStore } from '../../../stores/key-value-store.ts'

const str = Serdes.string()
interface Order { readonly customer: string | null, readonly amount: number }

function joinDriver (kind: 'join' | 'leftJoin'): { customer: (k: string, v: string | null) => void, order: (k: string, v: Order) => void, out: () => Array<[string, string]>, driver: TopologyTestDriver } {
  const builder = new StreamsBuilder()
  const customers = builder.globalTable<string, string>('customers', { valueSerde: str }, { storeName: 'customers' })
  const orders = builder.stream<string, Order>('orders')
  const joined = kind === 'join'
    ? orders.join(customers, (_k, o) => o.customer, (o, name, k) => `${k}:${o.amount}:${name}`)
    : orders.leftJoin(customers, (_k, o) => o.customer, (o, name, k) => `${k}:${o.amount}:${name ?? '-'}`)
  joined.to('out', { valueSerde: str })
  const driver = new TopologyTestDriver(builder.build(), { partitions: 3 })
  const customersIn = driver.createInputTopic('customers', str, str)
  const ordersIn = driver.createInputTopic('orders', str, Serdes.json<Order>())
  const out = driver.createOutputTopic('out', str, str)
  return {
    driver,
    customer: (k, v) => customersIn.pipeInput(k, v),
    order: (k, v) => ordersIn.pipeInput(k, v),
    out: () => out.readRecordsToList().map(r => [r.key, r.value])
  }
}

t.test('join: lookups by the selected key, misses dropped, updates and tombstones seen at once', async t => {
  const d = joinDriver('join')
  t.teardown(() => d.driver.close())
  d.order('o1', { customer: 'c1', amount: 5 })
  t.same(d.out(), [], 'no customer yet: dropped')
  d.customer('c1', 'Ada')
  d.customer('c2', 'Bob')
  // Orders with keys on every partition all see the whole table.
  for (let i = 0; i < 6; i++) d.order(`o${i}`, { customer: i % 2 === 0 ? 'c1' : 'c2', amount: i })
  t.same(d.out(), [['o0', 'o0:0:Ada'], ['o1', 'o1:1:Bob'], ['o2', 'o2:2:Ada'], ['o3', 'o3:3:Bob'], ['o4', 'o4:4:Ada'], ['o5', 'o5:5:Bob']])
  d.customer('c1', 'Ada L.')
  d.order('o6', { customer: 'c1', amount: 6 })
  t.same(d.out(), [['o6', 'o6:6:Ada L.']], 'an update then a lookup sees the update')
  d.customer('c1', null)
  d.order('o7', { customer: 'c1', amount: 7 })
  d.order('o8', { customer: null, amount: 8 })
  t.same(d.out(), [], 'after a tombstone, and with a null lookup key: dropped')
  t.equal(d.driver.getKeyValueStore<string, string>('customers').get('c2'), 'Bob', 'the driver reads the global store')
})

t.test('leftJoin: misses, tombstones and null lookup keys pass undefined', async t => {
  const d = joinDriver('leftJoin')
  t.teardown(() => d.driver.close())
  d.order('o1', { customer: 'c1', amount: 1 })
  d.customer('c1', 'Ada')
  d.order('o2', { customer: 'c1', amount: 2 })
  d.customer('c1', null)
  d.order('o3', { customer: 'c1', amount: 3 })
  d.order('o4', { customer: null, amount: 4 })
  t.same(d.out(), [['o1', 'o1:1:-'], ['o2', 'o2:2:Ada'], ['o3', 'o3:3:-'], ['o4', 'o4:4:-']])
})

t.test('processors read a global store without connecting it, and cannot write it', async t => {
  const builder = new StreamsBuilder()
  const table = builder.globalTable<string, string>('names', { valueSerde: str })
  t.ok(table instanceof GlobalKTable)
  t.equal(table.queryableStoreName, null, 'no Materialized: not named for queries')
  const seen: Array<string | undefined> = []
  const errors: unknown[] = []
  builder.stream<string, string>('in', { valueSerde: str }).process(() => {
    let store: KeyValueStore<string, string> | undefined
    return {
      init (c) { store = c.getStateStore<string, string>(table.storeName) },
      process (r) {
        seen.push(store!.get(r.key) as string | undefined)
        try { store!.put(r.key, 'x') } catch (error) { errors.push(error) }
      }
    }
  })
  const driver = new TopologyTestDriver(builder.build())
  t.teardown(() => driver.close())
  driver.createInputTopic('names', str, str).pipeInput('k', 'v')
  driver.createInputTopic('in', str, str).pipeInput('k', 'go')
  t.same(seen, ['v'])
  t.ok(errors.length === 1 && isStreamsError(errors[0], 'TOPOLOGY_INVALID'), 'a write throws TOPOLOGY_INVALID')
})

t.test('a topic cannot be both a global table and a stream source; store names stay unique', async t => {
  const b1 = new StreamsBuilder()
  b1.globalTable('topic-a')
  b1.stream('topic-a').to('out')
  t.throws(() => b1.build(), { code: 'TOPOLOGY_INVALID' })
  const b2 = new StreamsBuilder()
  b2.globalTable('topic-a', {}, { storeName: 's' })
  t.throws(() => b2.globalTable('topic-b', {}, { storeName: 's' }), { code: 'TOPOLOGY_INVALID' })
  t.throws(() => b2.globalTable('topic-a', {}, { storeName: 's2' }), { code: 'TOPOLOGY_INVALID' })
})
