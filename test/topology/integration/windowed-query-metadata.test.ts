// queryMetadataForKey on a window store names the task that holds the key's windows (docs/engine.md
// "Interactive queries"). A window store is bytes to the runtime; its keys must be serialized with
// the windowed key serde the DSL declared, or the lookup partitions a JavaScript string instead of
// its bytes and names the wrong task (found by the points-per-property route: "ownership of this
// member is moving" for every property owned by the instance asked).
import t from 'tap'
import { partitionForKey } from '../../../log/murmur2-partitioner.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import { TimeWindows } from '../../../topology/dsl/windows.ts'
import { BACKENDS, readUntil, tempStateDir, uniqueName } from './backends.ts'

const T0 = Date.now()
const PARTITIONS = 4

for (const backend of BACKENDS.filter(b => b.name === 'embedded')) {
  t.test(`window store metadata and fetch agree with the key's partition (${backend.name} log)`, async t => {
    const { log, cleanup } = await backend.open()
    const clicks = uniqueName('clicks')
    const counted = uniqueName('counted')
    await log.admin.createTopics([{ name: clicks, partitions: PARTITIONS }, { name: counted, partitions: PARTITIONS }])
    const state = tempStateDir()
    const builder = new StreamsBuilder()
    builder.stream<string, string>(clicks, { valueSerde: Serdes.string() })
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeWithNoGrace(60_000))
      .count({ storeName: 'clicks-per-minute' })
      .toStream()
      .to(counted, { keySerde: Serdes.json(), valueSerde: Serdes.json<number>() })
    const app = new StreamsApplication(builder.build(), { log, config: { applicationId: uniqueName('wqm'), stateDir: state.dir } })
    t.teardown(async () => {
      await app.close()
      await cleanup()
      state.remove()
    })
    await app.start()
    const keys = ['LV-01', 'LV-02', 'RENO-07', 'AC-03', 'page-a', 'page-b']
    const producer = await log.createProducer({ clientId: uniqueName('producer') })
    await producer.send(keys.map((key, i) => ({ topic: clicks, key: Buffer.from(key), value: Buffer.from('x'), timestamp: T0 + i })))
    await producer.close()
    await readUntil(log, counted, PARTITIONS, all => all.length >= keys.length)
    for (const key of keys) {
      const meta = app.queryMetadataForKey('clicks-per-minute', key)
      t.equal(meta.partition, partitionForKey(Buffer.from(key), PARTITIONS), `${key}: the partition of its bytes`)
      t.equal(meta.local, true, `${key}: local (one instance)`)
      const windows = app.windowStore<string, number>('clicks-per-minute').fetch(key, T0 - 60_000, T0 + 60_000)
      t.same(windows.map(w => w.value), [1], `${key}: its window read through the same routing`)
    }
  })
}
