import t from 'tap'
import { Topology } from '../../topology/topology.ts'
import { StreamsBuilder } from '../../topology/streams-builder.ts'
import { Serdes } from '../../topology/serdes.ts'
import { isRewardsError } from '../../lib/errors.ts'

const serdes = { keySerde: Serdes.string(), valueSerde: Serdes.string() }
const noop = () => ({ process () {} })

/** "CODE: message" of what fn throws, so one t.match checks both the code and the message. */
function thrown (fn: () => unknown): string {
  try {
    fn()
    return 'no error'
  } catch (error) {
    return isRewardsError(error) ? `${error.code}: ${error.message}` : `other error: ${String(error)}`
  }
}

t.test('a processor naming an unknown store is rejected', async t => {
  const topology = new Topology().addSource('src', { topics: ['a'], ...serdes }).addProcessor('p', noop, 'src')
  t.match(thrown(() => topology.connectProcessorAndStateStores('p', 'missing')), /^TOPOLOGY_INVALID: .*unknown state store "missing"/)
})

t.test('a store connected to an unknown processor is rejected', async t => {
  const topology = new Topology().addSource('src', { topics: ['a'], ...serdes })
  t.match(thrown(() => topology.addStateStore({ name: 's', kind: 'in-memory', ...serdes, changelog: true }, 'ghost')), /^TOPOLOGY_INVALID: .*unknown processor "ghost"/)
})

t.test('a store connected to no processor fails validation', async t => {
  const topology = new Topology().addSource('src', { topics: ['a'], ...serdes }).addProcessor('p', noop, 'src')
    .addStateStore({ name: 's', kind: 'in-memory', ...serdes, changelog: true })
  t.match(thrown(() => topology.validate()), /^TOPOLOGY_INVALID: .*"s" is not connected/)
})

t.test('unknown parents, duplicate names and a topic read twice are rejected', async t => {
  const topology = new Topology().addSource('src', { topics: ['a'], ...serdes })
  t.match(thrown(() => topology.addProcessor('p', noop, 'nope')), /^TOPOLOGY_INVALID: .*unknown parent "nope"/)
  t.match(thrown(() => topology.addSource('src', { topics: ['b'], ...serdes })), /^TOPOLOGY_INVALID: .*used twice/)
  t.match(thrown(() => topology.addSource('src2', { topics: ['a'], ...serdes })), /^TOPOLOGY_INVALID: .*already read by source "src"/)
  topology.addSink('out', 'o', serdes, 'src')
  t.match(thrown(() => topology.addProcessor('after-sink', noop, 'out')), /^TOPOLOGY_INVALID: .*sink "out" cannot be the parent/)
})

t.test('a cycle is rejected by validate()', async t => {
  const topology = new Topology().addSource('src', { topics: ['a'], ...serdes })
    .addProcessor('p1', noop, 'src').addProcessor('p2', noop, 'p1')
  topology.connect('p2', 'p1')
  t.match(thrown(() => topology.validate()), /^TOPOLOGY_INVALID: .*cycle: .*p1 -> p2 -> p1/)
})

t.test('grouping after a key change reads through a repartition topic named after the store', async t => {
  const builder = new StreamsBuilder()
  builder.stream('a').selectKey(() => 'x').groupByKey().count({ storeName: 'per-x' })
  const topology = builder.build()
  t.same(topology.internalTopics(), [{ name: 'per-x-repartition' }])
  t.same(topology.withApplicationId('app').internalTopics(), [{ name: 'app-per-x-repartition' }])
  t.equal(topology.subtopologies().length, 2, 'the repartition topic splits the topology in two')
  t.match(thrown(() => topology.withApplicationId('app').withApplicationId('other')), /^TOPOLOGY_INVALID: .*already named for application "app"/)
})

t.test('two repartition topics with one name are rejected: name one of the operations', async t => {
  const builder = new StreamsBuilder()
  const keyed = builder.stream('a').selectKey(() => 'x')
  keyed.groupByKey({ name: 'by-x' }).count({ storeName: 's1' })
  t.match(thrown(() => keyed.groupByKey({ name: 'by-x' }).count({ storeName: 's2' })), /^TOPOLOGY_INVALID: internal topic "by-x-repartition" is declared twice/)
  t.match(thrown(() => builder.stream('b').repartition({ partitions: 0 })), /^TOPOLOGY_INVALID: .*partitions must be a positive integer/)
})

t.test('an empty topology is rejected', async t => {
  t.match(thrown(() => new Topology().validate()), /^TOPOLOGY_INVALID: .*no source/)
})
