// The stream thread's cache budget (cacheMaxBytes, docs/engine.md "State store cache") far smaller
// than the state: read-cache entries are evicted across the tasks' stores and dirty entries force
// early commits, and still every output, every interactive query and a restore from the changelog
// give exactly the sums a model computes.
import t from 'tap'
import { rmSync } from 'node:fs'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import { BACKENDS, readUntil, tempStateDir, uniqueName } from './backends.ts'

const PARTITIONS = 3
const KEYS = 300
const RECORDS = 6000
/** About 8 entries' worth (an entry is estimated at ~450 bytes here, decoded value included). */
const CACHE_MAX_BYTES = 4096

function topology (input: string, output: string) {
  const builder = new StreamsBuilder()
  builder.stream<string, number>(input, { valueSerde: Serdes.json<number>() })
    .groupByKey()
    .aggregate(() => 0, (_k, v, sum) => sum + v, { storeName: 'sums', valueSerde: Serdes.json<number>({ immutableValues: true }) })
    .toStream()
    .to(output, { valueSerde: Serdes.json<number>() })
  return builder.build()
}

async function committed (app: StreamsApplication): Promise<number> {
  const metric = (await app.registry.getMetricsAsJSON()).find(m => m.name === 'streams_commits_total')
  return (metric?.values ?? []).filter(v => v.labels.result === 'committed').reduce((n, v) => n + v.value, 0)
}

for (const backend of BACKENDS) {
  t.test(`a tiny cache budget keeps results exact on the ${backend.name} log`, async t => {
    const { log, cleanup } = await backend.open()
    const input = uniqueName('cache-in')
    const output = uniqueName('cache-out')
    const appId = uniqueName('cache')
    await log.admin.createTopics([{ name: input, partitions: PARTITIONS }, { name: output, partitions: PARTITIONS }])
    const state = tempStateDir()
    t.teardown(async () => {
      await log.admin.deleteTopics([input, output, `${appId}-sums-changelog`])
      await cleanup()
      state.remove()
    })
    const start = async (): Promise<StreamsApplication> => {
      const app = new StreamsApplication(topology(input, output), {
        log,
        // A long interval and an output bound above a task's 2,000 outputs: only the cache budget
        // asks for commits while the input is processed (at most one per processing batch of 500
        // records per task), and the outputs are visible only once committed. The record cache
        // off: this counts one output per input (record-cache.ts would send one per key and commit).
        config: { applicationId: appId, stateDir: state.dir, cacheMaxBytes: CACHE_MAX_BYTES, commitIntervalMs: 60_000, maxPendingRecordsPerTask: 10_000, tableRecordCache: false }
      })
      await app.start()
      await app.waitForState('RUNNING')
      return app
    }
    const expected = new Map<string, number>()
    const records = []
    for (let i = 0; i < RECORDS; i++) {
      const key = `k${(i * 7) % KEYS}`
      expected.set(key, (expected.get(key) ?? 0) + i)
      records.push({ topic: input, key: Buffer.from(key), value: Buffer.from(String(i)) })
    }
    const producer = await log.createProducer({ clientId: 'cache-producer' })
    await producer.send(records)
    await producer.close()

    let app = await start()
    const outputs = await readUntil(log, output, PARTITIONS, all => all.length >= RECORDS)
    const last = new Map<string, number>()
    for (const r of outputs) last.set(r.key!.toString(), JSON.parse(r.value!.toString()) as number)
    t.equal(outputs.length, RECORDS, 'one output per input')
    t.same(Object.fromEntries(last), Object.fromEntries(expected), 'the last output of each key is its sum')
    t.ok(await committed(app) >= 3, `the budget forced commits before the 60 s interval (${await committed(app)})`)
    const answers = (a: StreamsApplication): Record<string, number | undefined> =>
      Object.fromEntries([...expected.keys()].map(k => [k, a.store<string, number>('sums').get(k)]))
    t.same(answers(app), Object.fromEntries(expected), 'interactive queries answer the sums')
    await app.close()

    rmSync(state.dir, { recursive: true, force: true })
    app = await start()
    t.same(answers(app), Object.fromEntries(expected), 'restored from the changelog: the same sums')
    await app.close()
  })
}
