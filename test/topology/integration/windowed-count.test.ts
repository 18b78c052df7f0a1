// A windowed count with suppress(untilWindowCloses) on both logs: exactly one final result per
// (key, window), each count exact; the window store answers interactive queries by key and time
// range; a restart with a wiped state dir restores the window store from its changelog.
import t from 'tap'
import { Admin, ConfigResourceTypes } from '@platformatic/kafka'
import { rmSync } from 'node:fs'
import type { Log } from '../../../log/log-port.ts'
import { partitionForKey } from '../../../log/murmur2-partitioner.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import { TimeWindows } from '../../../topology/dsl/windows.ts'
import { Suppressed } from '../../../topology/dsl/suppress.ts'
import { WindowedSerdes } from '../../../topology/dsl/windowed-serdes.ts'
import { BACKENDS, brokers, readUntil, tempStateDir, uniqueName } from './backends.ts'

const PARTITIONS = 3
const KEYS = 30
const RECORDS = 3000
const SIZE = 1000
const GRACE = 200
const str = Serdes.string()
const windowSerde = WindowedSerdes.timeWindowed(str, SIZE)

function topology (input: string, output: string) {
  const builder = new StreamsBuilder()
  builder.stream<string, string>(input, { keySerde: str, valueSerde: str })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(SIZE, GRACE))
    .count({ storeName: 'window-counts', retentionMs: 10_000_000 })
    .suppress(Suppressed.untilWindowCloses())
    .toStream()
    .to(output, { keySerde: windowSerde, valueSerde: Serdes.json<number>() })
  return builder.build()
}

/** Event time of record i: 10 ms apart, every 7th record 150 ms late (within the grace). */
const timeOf = (i: number): number => i * 10 - (i % 7 === 0 ? 150 : 0) + 1000

/** One key per partition, far in event time: moves every task's stream time past every window. */
function terminators (): string[] {
  const out: string[] = []
  for (let p = 0; p < PARTITIONS; p++) {
    for (let n = 0; ; n++) if (partitionForKey(Buffer.from(`end-${n}`), PARTITIONS) === p) { out.push(`end-${n}`); break }
  }
  return out
}

for (const backend of BACKENDS) {
  t.test(`windowed count with suppress on the ${backend.name} log: exact final counts`, async t => {
    const { log, cleanup } = await backend.open()
    const input = uniqueName('wc-in')
    const output = uniqueName('wc-out')
    const appId = uniqueName('wc')
    await log.admin.createTopics([{ name: input, partitions: PARTITIONS }, { name: output, partitions: PARTITIONS }])
    const state = tempStateDir()
    t.teardown(async () => {
      await log.admin.deleteTopics([input, output, `${appId}-window-counts-changelog`, `${appId}-KSTREAM-SUPPRESS-0000000003-store-changelog`])
      await cleanup()
      state.remove()
    })
    const expected = new Map<string, number>()
    const records = []
    for (let i = 0; i < RECORDS; i++) {
      const key = `k${i % KEYS}`
      const ts = timeOf(i)
      const id = `${key}@${Math.floor(ts / SIZE) * SIZE}`
      expected.set(id, (expected.get(id) ?? 0) + 1)
      records.push({ topic: input, key: Buffer.from(key), value: Buffer.from('v'), timestamp: ts })
    }
    for (const key of terminators()) records.push({ topic: input, key: Buffer.from(key), value: Buffer.from('v'), timestamp: timeOf(RECORDS) + 100_000 })
    const producer = await log.createProducer({ clientId: 'wc-producer' })
    await producer.send(records)
    await producer.close()

    const start = async (l: Log): Promise<StreamsApplication> => {
      const app = new StreamsApplication(topology(input, output), { log: l, config: { applicationId: appId, stateDir: state.dir } })
      await app.start()
      await app.waitForState('RUNNING')
      return app
    }
    let app = await start(log)
    const finals = await readUntil(log, output, PARTITIONS, all => all.length >= expected.size)
    const got = new Map<string, number[]>()
    let badSizes = 0
    for (const r of finals) {
      const w = windowSerde.deserialize(r.key!)
      if (w.window.end - w.window.start !== SIZE) badSizes++
      const id = `${w.key}@${w.window.start}`
      got.set(id, [...(got.get(id) ?? []), JSON.parse(r.value!.toString()) as number])
    }
    t.equal(badSizes, 0, 'windowed keys carry their window')
    t.equal(finals.length, expected.size, 'one final result per window')
    t.same(Object.fromEntries([...got].map(([id, counts]) => [id, counts.length === 1 ? counts[0] : counts])), Object.fromEntries(expected), 'every window counted exactly')

    const queries = (a: StreamsApplication): Record<string, number> => {
      const out: Record<string, number> = {}
      for (let k = 0; k < KEYS; k++) {
        for (const w of a.windowStore<string, number>('window-counts').fetch(`k${k}`, 0, timeOf(RECORDS))) out[`k${k}@${w.windowStart}`] = w.value
      }
      return out
    }
    t.same(queries(app), Object.fromEntries(expected), 'interactive queries: fetch by key and time range')
    await app.close()

    if (backend.name === 'kafka') {
      const admin = new Admin({ clientId: uniqueName('wc-admin'), bootstrapBrokers: brokers })
      try {
        const changelog = `${appId}-window-counts-changelog`
        const [described] = await admin.describeConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: changelog, configurationKeys: ['cleanup.policy', 'retention.ms'] }] })
        const config = (name: string): string | null | undefined => described?.configs.find(c => c.name === name)?.value
        t.equal(config('cleanup.policy'), 'compact,delete', 'the window store changelog is compacted and deleted')
        t.equal(config('retention.ms'), String(10_000_000 + 24 * 60 * 60 * 1000), 'after the store retention plus a day')
      } finally {
        await admin.close()
      }
    }

    rmSync(state.dir, { recursive: true, force: true })
    app = await start(log)
    t.same(queries(app), Object.fromEntries(expected), 'a wiped state dir restores the window store from its changelog')
    await app.close()
  })
}
