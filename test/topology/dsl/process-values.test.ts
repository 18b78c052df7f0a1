// processValues() (docs/engine.md "DSL"): a user processor with stores that changes values only.
// The stream keeps its key, so a grouping after it needs no repartition topic (after process() it
// does); a key change inside it is refused; after an earlier key change it still repartitions.
import t from 'tap'
import { Serdes, StreamsBuilder, TopologyTestDriver, type ProcessorContext, type Record } from '../../../topology/index.ts'

const str = Serdes.string()
const num = Serdes.json<number>()

/** Adds each value to a running total per key (store `totals`) and forwards the total. */
const runningTotal = () => {
  let context: ProcessorContext<string, number>
  let totals: ReturnType<ProcessorContext<string, number>['getStateStore']>
  return {
    init (c: ProcessorContext<string, number>) { context = c; totals = c.getStateStore<string, number>('totals') },
    process (r: Record<string, number>) {
      const total = ((totals.get(r.key) as number | undefined) ?? 0) + r.value
      totals.put(r.key, total)
      context.forward({ ...r, value: total })
    }
  }
}

function build (changeKeyFirst: boolean) {
  const builder = new StreamsBuilder()
  builder.topology.addStateStore({ name: 'totals', kind: 'in-memory', keySerde: str, valueSerde: num, changelog: true })
  let amounts = builder.stream<string, number>('amounts', { valueSerde: num })
  if (changeKeyFirst) amounts = amounts.selectKey(k => k.toUpperCase())
  amounts.processValues(runningTotal, { name: 'running-total', stores: ['totals'] })
    .groupByKey()
    .reduce((_a, b) => b, { storeName: 'latest-total', valueSerde: num })
    .toStream()
    .to('totals-out', { valueSerde: num })
  return builder.build()
}

t.test('processValues with a store: no repartition topic before the grouping', async t => {
  const topology = build(false)
  t.same(topology.internalTopics(), [], 'the key did not change: no repartition')
  const driver = new TopologyTestDriver(topology, { partitions: 2 })
  t.teardown(() => driver.close())
  const input = driver.createInputTopic('amounts', str, num)
  const output = driver.createOutputTopic('totals-out', str, num)
  input.pipeInput('a', 5, 1000)
  input.pipeInput('b', 1, 1001)
  input.pipeInput('a', 7, 1002)
  const latest = new Map<string, number>()
  for (const r of output.readRecordsToList()) latest.set(r.key, r.value)
  t.same(Object.fromEntries(latest), { a: 12, b: 1 }, 'running totals per key, grouped in place')
})

t.test('after an earlier key change, the grouping still goes through a repartition topic', async t => {
  const topology = build(true)
  t.same(topology.internalTopics().map(i => i.name), ['latest-total-repartition'])
})

t.test('process() may change keys, so the same grouping after it repartitions', async t => {
  const builder = new StreamsBuilder()
  builder.topology.addStateStore({ name: 'totals', kind: 'in-memory', keySerde: str, valueSerde: num, changelog: true })
  builder.stream<string, number>('amounts', { valueSerde: num })
    .process<string, number>(runningTotal, { stores: ['totals'] })
    .groupByKey()
    .count({ storeName: 'counts' })
  t.same(builder.build().internalTopics().map(i => i.name), ['counts-repartition'])
})

t.test('a processValues processor that changes the key fails the task (TOPOLOGY_INVALID)', async t => {
  const builder = new StreamsBuilder()
  builder.stream<string, number>('amounts', { valueSerde: num })
    .processValues<number>(() => {
      let context: ProcessorContext<string, number>
      return {
        init (c) { context = c },
        process (r) { context.forward({ ...r, key: `${r.key}!` }) }
      }
    }, { name: 'rekey' })
    .to('out', { valueSerde: num })
  const driver = new TopologyTestDriver(builder.build(), { partitions: 1 })
  t.teardown(() => driver.close())
  const input = driver.createInputTopic('amounts', str, num)
  let thrown: unknown
  try { input.pipeInput('a', 1, 1000) } catch (error) { thrown = error }
  t.match(String((thrown as Error | undefined)?.message), /processValues node "rekey" forwarded a record with another key/, 'the task fails, saying why')
  t.equal(((thrown as Error).cause as { code?: string } | undefined)?.code, 'TOPOLOGY_INVALID')
})
