// Word count over a repartition topic (Kafka Streams' classic first example).
//
// Lines arrive keyed by line id. flatMap splits each line into words keyed by the word — a new
// key — so the count cannot run in the task that read the line: groupByKey() sends the words
// through `<applicationId>-words-repartition`, which the application creates at start (with the
// input's partition count), and a second sub-topology counts them. Exactly-once: the words are
// written to the repartition topic in the reading task's transaction and counted once each.
//
//   node examples/word-count.ts                                           # embedded log
//   REWARDS_KAFKA_BROKERS=127.0.0.1:9092 node examples/word-count.ts      # Kafka
import { Serdes, StreamsApplication, StreamsBuilder } from '../topology/index.ts'
import { openExampleLog, type ExampleOptions } from './example-log.ts'

const LINES = [
  'the quick brown fox jumps over the lazy dog',
  'the dog barks',
  'a fox is quick and a dog is lazy'
]

/** Runs the example; returns the final count per word. */
export async function wordCount (options: ExampleOptions = {}): Promise<Map<string, number>> {
  const ex = await openExampleLog(options)
  const lines = ex.name('lines')
  const counts = ex.name('word-counts')
  const applicationId = ex.name('word-count')
  await ex.createTopics([lines, counts], 2)
  ex.alsoDelete(`${applicationId}-words-repartition`, `${applicationId}-counts-changelog`)

  const builder = new StreamsBuilder()
  builder.stream<string, string>(lines, { valueSerde: Serdes.string() })
    .flatMap((_lineId, line) => line.split(' ').map(word => ({ key: word, value: word })))
    .groupByKey({ name: 'words' })
    .count({ storeName: 'counts' })
    .toStream()
    .to(counts, { valueSerde: Serdes.json<number>() })
  const app = new StreamsApplication(builder.build(), {
    log: ex.log,
    config: { applicationId, stateDir: ex.stateDir, processingGuarantee: 'exactly_once_v2' }
  })
  try {
    await app.start()
    await app.waitForState('RUNNING')
    await ex.produce(LINES.map((line, i) => ({ topic: lines, key: Buffer.from(`line-${i}`), value: Buffer.from(line) })))
    const expected = new Map<string, number>()
    for (const word of LINES.join(' ').split(' ')) expected.set(word, (expected.get(word) ?? 0) + 1)
    const latest = await ex.readLatest(counts, 2, m => [...expected].every(([w, n]) => m.get(w) === n))
    return new Map([...latest].map(([w, n]) => [w, n as number]))
  } finally {
    await app.close()
    await ex.close()
  }
}

if (import.meta.main) {
  const counts = await wordCount()
  for (const [word, n] of [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) console.log(`${word}\t${n}`)
}
