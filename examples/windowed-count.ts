// Example: page views per page per minute, final results only (docs/engine.md "Windows").
//
//   node examples/windowed-count.ts            runs on the embedded log (in a temp dir)
//   REWARDS_KAFKA_BROKERS=host:9092 node examples/windowed-count.ts   runs on Kafka
//
// It writes a few page views with event times, counts them in tumbling one-minute windows with a
// 10 s grace period, suppresses every update but each window's final count, prints the finals as
// they arrive on the output topic, then asks the window store for one page's minutes.
import { openExampleLog } from './example-log.ts'
import {
  Serdes, StreamsApplication, StreamsBuilder, Suppressed, TimeWindows, WindowedSerdes
} from '../topology/index.ts'

const HELP = `usage: node examples/windowed-count.ts [--help]

Counts page views per page per minute with a windowed count and suppress(untilWindowCloses),
and prints one final count per page and minute. Runs on the embedded log in a temporary
directory, or on Kafka when REWARDS_KAFKA_BROKERS (comma-separated host:port) is set.`

const MINUTE = 60_000
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0)

/** [page, seconds after 12:00:00]: the views at 12:05 move stream time (per partition) past
 *  12:03 + grace, so the minutes 12:00 to 12:02 of both pages close; 12:05 stays open. */
const VIEWS: Array<[string, number]> = [
  ['/home', 5], ['/home', 20], ['/cart', 30], ['/home', 59], ['/cart', 61], ['/home', 65],
  ['/home', 58], // late by 7 s: still inside the 10 s grace, counted in 12:00
  ['/home', 130], ['/cart', 140], ['/home', 300], ['/cart', 300]
]

const time = (ms: number): string => new Date(ms).toISOString().slice(11, 19)

async function main (): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) { console.log(HELP); return }
  const example = await openExampleLog()
  const { log, backend: kind, stateDir } = example
  const input = example.name('page-views')
  const output = example.name('page-views-per-minute')
  const applicationId = example.name('windowed-count')
  await example.createTopics([input, output], 2)
  example.alsoDelete(`${applicationId}-views-per-minute-changelog`, `${applicationId}-KSTREAM-SUPPRESS-0000000003-store-changelog`)

  const str = Serdes.string()
  const windowSerde = WindowedSerdes.timeWindowed(str, MINUTE)
  const builder = new StreamsBuilder()
  builder.stream<string, string>(input, { keySerde: str, valueSerde: str })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(MINUTE, 10_000))
    .count({ storeName: 'views-per-minute', retentionMs: 60 * MINUTE })
    .suppress(Suppressed.untilWindowCloses())
    .toStream()
    .to(output, { keySerde: windowSerde, valueSerde: Serdes.json<number>() })
  const app = new StreamsApplication(builder.build(), { log, config: { applicationId, stateDir } })

  try {
    await app.start()
    await app.waitForState('RUNNING')
    const producer = await log.createProducer({ clientId: 'windowed-count-example' })
    await producer.send(VIEWS.map(([page, s]) => ({ topic: input, key: Buffer.from(page), value: Buffer.from('view'), timestamp: T0 + s * 1000 })))
    await producer.close()

    // Six windows close: 12:00, 12:01 and 12:02 of each page.
    const reader = log.createPartitionReader({ clientId: 'windowed-count-example' })
    reader.assign([0, 1].map(partition => ({ topic: output, partition, offset: 0n })))
    const finals: string[] = []
    const deadline = Date.now() + 60_000
    while (finals.length < 6 && Date.now() < deadline) {
      for (const r of await reader.poll(200)) {
        const w = windowSerde.deserialize(r.key!)
        finals.push(`${w.key} [${time(w.window.start)}, ${time(w.window.end)}) ${r.value!.toString()} views`)
      }
    }
    await reader.close()
    console.log(`on the ${kind} log, final counts:`)
    for (const line of finals.sort()) console.log(`  ${line}`)
    const minutes = app.windowStore<string, number>('views-per-minute').fetch('/home', T0, T0 + 10 * MINUTE)
    console.log(`window store, /home by minute: ${minutes.map(m => `${time(m.windowStart)}=${m.value}`).join(' ')}`)
  } finally {
    await app.close()
    await example.close()
  }
}

main().catch(error => { console.error(error); process.exit(1) })
