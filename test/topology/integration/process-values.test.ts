// processValues() end to end on each log backend (docs/engine.md "DSL"): a value-only processor
// with a changelogged store, then a grouping in place — no repartition topic is created — with
// exact running totals and counts, exactly-once.
import t from 'tap'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import type { ProcessorContext } from '../../../topology/processor/processor.ts'
import { BACKENDS, readUntil, tempStateDir, uniqueName } from './backends.ts'

// Record timestamps near now: the broker's time-based retention (7 days) deletes older records.
const T0 = Date.now()
const num = Serdes.json<number>()

for (const backend of BACKENDS) {
  t.test(`processValues with a store, grouped in place, on the ${backend.name} log`, async t => {
    const { log, cleanup } = await backend.open()
    const amounts = uniqueName('amounts')
    const totals = uniqueName('totals')
    const appId = uniqueName('pv')
    await log.admin.createTopics([{ name: amounts, partitions: 2 }, { name: totals, partitions: 2 }])
    const state = tempStateDir()
    const builder = new StreamsBuilder()
    builder.topology.addStateStore({ name: 'running', kind: 'rocksdb', keySerde: Serdes.string(), valueSerde: num, changelog: true })
    builder.stream<string, number>(amounts, { valueSerde: num })
      .processValues<number>(() => {
        let context: ProcessorContext<string, number>
        let running: ReturnType<ProcessorContext<string, number>['getStateStore']>
        return {
          init (c) { context = c; running = c.getStateStore<string, number>('running') },
          process (r) {
            const total = ((running.get(r.key) as number | undefined) ?? 0) + r.value
            running.put(r.key, total)
            context.forward({ ...r, value: total })
          }
        }
      }, { name: 'running-total', stores: ['running'] })
      .groupByKey()
      .reduce((a, b) => Math.max(a, b), { storeName: 'max-total', valueSerde: num })
      .toStream()
      .to(totals, { valueSerde: num })
    const app = new StreamsApplication(builder.build(), { log, config: { applicationId: appId, stateDir: state.dir, processingGuarantee: 'exactly_once_v2' } })
    t.teardown(async () => {
      await app.close()
      await log.admin.deleteTopics([amounts, totals, `${appId}-running-changelog`, `${appId}-max-total-changelog`])
      await cleanup()
      state.remove()
    })
    await app.start()
    const producer = await log.createProducer({ clientId: uniqueName('producer') })
    const keys = ['a', 'b', 'c', 'd']
    const sent = keys.flatMap((key, k) => Array.from({ length: 5 }, (_, i) => ({ topic: amounts, key: Buffer.from(key), value: Buffer.from(String(k + 1)), timestamp: T0 + k * 10 + i })))
    await producer.send(sent)
    await producer.close()
    const expected = Object.fromEntries(keys.map((key, k) => [key, 5 * (k + 1)]))
    const latest = new Map<string, number>()
    await readUntil(log, totals, 2, all => {
      for (const r of all) latest.set(r.key!.toString(), JSON.parse(r.value!.toString()) as number)
      return keys.every(key => latest.get(key) === expected[key])
    })
    t.same(Object.fromEntries(latest), expected, 'running totals per key, grouped without a repartition')
    const topics = await log.admin.listTopics()
    t.same(topics.filter(name => name.startsWith(appId) && name.endsWith('-repartition')), [], 'no repartition topic was created')
  })
}
