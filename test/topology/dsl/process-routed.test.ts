// processMerged / processRouted (topology/dsl/process-routed.ts): one processor over several
// input streams, and a processor that routes each record to one of its named outputs, each output
// a stream of its own — on the test driver, with a store, and the errors for bad declarations.
import t from 'tap'
import { processMerged, processRouted, Serdes, StreamsBuilder, TopologyTestDriver, describeAsText, describeTopology, type Processor, type ProcessorContext, type Record } from '../../../topology/index.ts'

interface Outputs {
  even: { key: string, value: number }
  odd: { key: string, value: string }
}

function build () {
  const builder = new StreamsBuilder()
  builder.topology.addStateStore({ name: 'seen', kind: 'in-memory', keySerde: Serdes.string(), valueSerde: Serdes.json<number>(), changelog: true })
  const a = builder.stream<string, number>('a', { name: 'a-source', valueSerde: Serdes.json<number>() })
  const b = builder.stream<string, number>('b', { name: 'b-source', valueSerde: Serdes.json<number>() })
  // Counts records per key (a store shared by both inputs) and passes them on.
  const counted = processMerged<string, number, string, number>(builder, [a, b], () => {
    let context: ProcessorContext<string, number>
    let seen: ReturnType<ProcessorContext<string, number>['getStateStore']>
    return {
      init (c) { context = c; seen = c.getStateStore<string, number>('seen') },
      process (r: Record<string, number>) {
        seen.put(r.key, ((seen.get(r.key) as number | undefined) ?? 0) + 1)
        context.forward(r)
      }
    }
  }, { name: 'count', stores: ['seen'] })
  const routed = processRouted<string, number, Outputs>(builder, counted, outputs => {
    let context: ProcessorContext<unknown, unknown>
    return {
      init (c) { context = c },
      process (r: Record<string, number>) {
        if (r.value % 2 === 0) context.forward(r, outputs.even)
        else context.forward({ ...r, value: `odd ${r.value}` }, outputs.odd)
      }
    } satisfies Processor<string, number, unknown, unknown>
  }, { name: 'parity', outputs: ['even', 'odd'] })
  routed.even.to('evens', { name: 'evens-sink', valueSerde: Serdes.json<number>() })
  routed.odd.mapValues(v => v.toUpperCase()).to('odds', { name: 'odds-sink', valueSerde: Serdes.string() })
  return builder.build()
}

t.test('records of both inputs meet in one processor and leave by the output it picks', async t => {
  const driver = new TopologyTestDriver(build())
  t.teardown(() => driver.close())
  const a = driver.createInputTopic('a', Serdes.string(), Serdes.json<number>())
  const b = driver.createInputTopic('b', Serdes.string(), Serdes.json<number>())
  const evens = driver.createOutputTopic('evens', Serdes.string(), Serdes.json<number>())
  const odds = driver.createOutputTopic('odds', Serdes.string(), Serdes.string())
  a.pipeInput('k', 1, 10, { h: Buffer.from('x') })
  b.pipeInput('k', 2, 11)
  a.pipeInput('j', 4, 12)
  b.pipeInput('j', 7, 13)
  t.same(evens.readRecordsToList().map(r => [r.key, r.value, r.timestamp]), [['k', 2, 11], ['j', 4, 12]])
  const oddRecords = odds.readRecordsToList()
  t.same(oddRecords.map(r => [r.key, r.value]), [['k', 'ODD 1'], ['j', 'ODD 7']])
  t.equal(oddRecords[0]!.headers.h?.toString(), 'x', 'headers travel with the record')
  t.equal(driver.getKeyValueStore<string, number>('seen').get('k'), 2, 'the store saw both inputs')
})

t.test('the description shows the processor, its named outputs and one sub-topology', async t => {
  const text = describeAsText(describeTopology(build()))
  t.match(text, /Processor: count \(stores: \[seen\]\)\n {6}--> parity\n {6}<-- a-source, b-source/)
  t.match(text, /Processor: parity \(stores: \[\]\)\n {6}--> parity-even, parity-odd/)
  t.match(text, /Processor: parity-even \(stores: \[\]\)\n {6}--> evens-sink/)
  t.notMatch(text, /Sub-topology: 1/)
})

t.test('bad declarations are refused with TOPOLOGY_INVALID', async t => {
  const builder = new StreamsBuilder()
  const s = builder.stream('in')
  const supplier = () => ({ process () {} })
  t.throws(() => processMerged(builder, [], supplier), { code: 'TOPOLOGY_INVALID', message: /at least one input/ })
  t.throws(() => processRouted(builder, s, () => ({ process () {} }), { name: 'r', outputs: [] }), { code: 'TOPOLOGY_INVALID', message: /at least one output/ })
  t.throws(() => processRouted<string, unknown, { x: { key: string, value: string } }>(builder, s, () => ({ process () {} }), { name: 'r2', outputs: ['x', 'x'] }), { code: 'TOPOLOGY_INVALID', message: /distinct names/ })
  t.throws(() => processMerged(builder, s, supplier, { name: 'p', stores: ['nope'] }), { code: 'TOPOLOGY_INVALID', message: /unknown state store "nope"/ })
  t.equal(processMerged(builder, s, supplier).nodeName, 'KSTREAM-PROCESSOR-0000000001', 'a generated name without one')
})

t.test('forwarding to a node that is not an output fails the record with a clear error', async t => {
  const builder = new StreamsBuilder()
  const s = builder.stream<string, string>('in', { valueSerde: Serdes.string() })
  const routed = processRouted<string, string, { out: { key: string, value: string } }>(builder, s, () => {
    let context: ProcessorContext<unknown, unknown>
    return { init (c) { context = c }, process (r: Record<string, string>) { context.forward(r, 'elsewhere') } }
  }, { name: 'r', outputs: ['out'] })
  routed.out.to('out', { valueSerde: Serdes.string() })
  const driver = new TopologyTestDriver(builder.build())
  t.teardown(() => driver.close())
  t.throws(() => driver.createInputTopic('in', Serdes.string(), Serdes.string()).pipeInput('k', 'v'), { message: /processor "r" has no child "elsewhere" \(children: r-out\)/ })
})
