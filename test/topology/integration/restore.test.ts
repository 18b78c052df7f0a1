// Restore: a clean restart reads nothing from the changelog (the checkpoint says the stores are
// current); a wiped state dir is restored from the changelog and answers exactly the same.
import t from 'tap'
import { rmSync } from 'node:fs'
import type { Histogram } from 'prom-client'
import type { Log } from '../../../log/log-port.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import { BACKENDS, endsOf, readUntil, tempStateDir, uniqueName, waitForCommitted } from './backends.ts'

const PARTITIONS = 3
const KEYS = 200
const RECORDS = 5000

function topology (input: string, output: string) {
  const builder = new StreamsBuilder()
  builder.stream<string, number>(input, { valueSerde: Serdes.json<number>() })
    .groupByKey()
    .aggregate(() => 0, (_k, v, sum) => sum + v, { storeName: 'sums', valueSerde: Serdes.json<number>() })
    .toStream()
    .to(output, { valueSerde: Serdes.json<number>() })
  return builder.build()
}

async function restoredRecords (app: StreamsApplication): Promise<number> {
  const metric = (await app.registry.getMetricsAsJSON()).find(m => m.name === 'streams_store_restore_records_total')
  return (metric?.values ?? []).reduce((n, v) => n + v.value, 0)
}

/** Tasks whose restore was timed into streams_task_restore_duration_seconds. */
async function timedRestores (app: StreamsApplication): Promise<number> {
  const histogram = app.registry.getSingleMetric('streams_task_restore_duration_seconds') as Histogram | undefined
  return (await histogram?.get())?.values.find(v => v.metricName === 'streams_task_restore_duration_seconds_count')?.value ?? 0
}

for (const backend of BACKENDS) {
  t.test(`restore from the changelog on the ${backend.name} log`, async t => {
    const { log, cleanup } = await backend.open()
    const input = uniqueName('restore-in')
    const output = uniqueName('restore-out')
    const appId = uniqueName('restore')
    await log.admin.createTopics([{ name: input, partitions: PARTITIONS }, { name: output, partitions: PARTITIONS }])
    const state = tempStateDir()
    t.teardown(async () => {
      await log.admin.deleteTopics([input, output, `${appId}-sums-changelog`])
      await cleanup()
      state.remove()
    })
    const start = async (l: Log): Promise<StreamsApplication> => {
      const app = new StreamsApplication(topology(input, output), { log: l, config: { applicationId: appId, stateDir: state.dir, tableRecordCache: false } })
      await app.start()
      await app.waitForState('RUNNING')
      return app
    }
    const expected = new Map<string, number>()
    const producer = await log.createProducer({ clientId: 'restore-producer' })
    const records = []
    for (let i = 0; i < RECORDS; i++) {
      const key = `k${i % KEYS}`
      expected.set(key, (expected.get(key) ?? 0) + i)
      records.push({ topic: input, key: Buffer.from(key), value: Buffer.from(String(i)) })
    }
    const ends = endsOf(await producer.send(records))
    await producer.close()

    let app = await start(log)
    await readUntil(log, output, PARTITIONS, all => all.length >= RECORDS)
    // Outputs are visible as they are sent; the stores' committed view, which the answers below
    // read, follows at the commit of the input offsets.
    await waitForCommitted(log, appId, ends)
    const answers = (a: StreamsApplication): Record<string, number | undefined> =>
      Object.fromEntries([...expected.keys()].map(k => [k, a.store<string, number>('sums').get(k)]))
    t.same(answers(app), Object.fromEntries(expected), 'first run answers from the stores')
    t.equal(await restoredRecords(app), 0, 'first run had nothing to restore')
    await app.close()

    app = await start(log)
    t.equal(await restoredRecords(app), 0, 'a clean restart skips the restore (checkpoint)')
    t.same(answers(app), Object.fromEntries(expected), 'and answers the same')
    await app.close()

    rmSync(state.dir, { recursive: true, force: true })
    app = await start(log)
    t.ok(await restoredRecords(app) >= KEYS, `a wiped instance restores from the changelog (${await restoredRecords(app)} records)`)
    t.equal(await timedRestores(app), PARTITIONS, 'each task\'s restore is timed')
    t.same(answers(app), Object.fromEntries(expected), 'and answers the same')
    await app.close()
  })
}
