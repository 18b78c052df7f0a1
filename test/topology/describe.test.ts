import t from 'tap'
import { StreamsBuilder } from '../../topology/streams-builder.ts'
import { Serdes } from '../../topology/serdes.ts'
import { describeAsMermaid, describeAsText, describeTopology } from '../../topology/describe.ts'

function wordCount () {
  const builder = new StreamsBuilder()
  builder.stream<string, string>('lines', { valueSerde: Serdes.string() })
    .flatMapValues(v => v.split(' '))
    .groupByKey()
    .count({ storeName: 'counts' })
    .toStream()
    .to('counts-out')
  builder.stream('other', { name: 'other-source' }).to('other-out', { name: 'other-sink' })
  return builder.build()
}

t.test('describe() gives sub-topologies, nodes with their edges, and stores', async t => {
  const d = describeTopology(wordCount())
  t.equal(d.subtopologies.length, 2)
  t.same(d.subtopologies[0]!.nodes.map(n => n.name), [
    'KSTREAM-SOURCE-0000000000', 'KSTREAM-FLATMAPVALUES-0000000001', 'KSTREAM-AGGREGATE-0000000002',
    'KSTREAM-TOSTREAM-0000000003', 'KSTREAM-SINK-0000000004'
  ])
  t.same(d.stores, [{ name: 'counts', kind: 'rocksdb', changelog: true, processors: ['KSTREAM-AGGREGATE-0000000002'] }])
})

t.test('the text rendering follows Kafka Streams', async t => {
  t.equal(describeAsText(describeTopology(wordCount())), `Topologies:
   Sub-topology: 0
    Source: KSTREAM-SOURCE-0000000000 (topics: [lines])
      --> KSTREAM-FLATMAPVALUES-0000000001
    Processor: KSTREAM-FLATMAPVALUES-0000000001 (stores: [])
      --> KSTREAM-AGGREGATE-0000000002
      <-- KSTREAM-SOURCE-0000000000
    Processor: KSTREAM-AGGREGATE-0000000002 (stores: [counts])
      --> KSTREAM-TOSTREAM-0000000003
      <-- KSTREAM-FLATMAPVALUES-0000000001
    Processor: KSTREAM-TOSTREAM-0000000003 (stores: [])
      --> KSTREAM-SINK-0000000004
      <-- KSTREAM-AGGREGATE-0000000002
    Sink: KSTREAM-SINK-0000000004 (topic: counts-out)
      <-- KSTREAM-TOSTREAM-0000000003
   Sub-topology: 1
    Source: other-source (topics: [other])
      --> other-sink
    Sink: other-sink (topic: other-out)
      <-- other-source
`)
})

t.test('the Mermaid diagram has topics, nodes, edges and stores', async t => {
  const m = describeAsMermaid(describeTopology(wordCount()))
  t.match(m, /^flowchart LR\n/)
  t.match(m, /t_lines --> n_KSTREAM_SOURCE_0000000000/)
  t.match(m, /n_KSTREAM_AGGREGATE_0000000002 <-\.-> s_counts/)
  t.match(m, /n_KSTREAM_SINK_0000000004 --> t_counts_out/)
  t.match(m, /s_counts\[\("counts"\)\]/)
  t.match(m, /t_counts_out\(\["counts-out"\]\)/)
  t.match(m, /subgraph sub1\["Sub-topology 1"\]/)
})

t.test('a repartition topic splits the description in two sub-topologies, named for the application', async t => {
  const builder = new StreamsBuilder()
  builder.stream<string, string>('lines', { valueSerde: Serdes.string() })
    .flatMap((_k, v) => v.split(' ').map(w => ({ key: w, value: w })))
    .groupByKey({ name: 'words' })
    .count({ storeName: 'counts' })
  const text = describeAsText(describeTopology(builder.build().withApplicationId('wc')))
  t.match(text, /Sub-topology: 0\n[\s\S]*Processor: words-repartition-filter \(stores: \[\]\)\n[\s\S]*Sink: words-repartition-sink \(topic: wc-words-repartition\)/)
  t.match(text, /Sub-topology: 1\n {4}Source: words-repartition-source \(topics: \[wc-words-repartition\]\)\n {6}--> KSTREAM-AGGREGATE-\d+/)
})
