// The global updater on the embedded log: a checkpoint outside the topic's range (the topic was
// recreated) or a corrupt one wipes the store and reads the topic again from the beginning; an
// in-memory global store always bootstraps from the start and is left out of the checkpoint;
// close() during a bootstrap is safe; the topology description lists global stores.
import t, { type Test } from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { openEmbeddedLog } from '../../../log/embedded/index.ts'
import type { Log } from '../../../log/log-port.ts'
import { describeAsText, describeTopology } from '../../../topology/describe.ts'
import { GlobalStoreMetrics } from '../../../topology/runtime/global-metrics.ts'
import { GLOBAL_STATE_DIR, GlobalStateUpdater } from '../../../topology/runtime/global-state-updater.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import type { GlobalStoreSpec } from '../../../topology/topology.ts'

const str = Serdes.string()
const spec = (topic: string, kind: 'rocksdb' | 'in-memory' = 'rocksdb'): GlobalStoreSpec => ({ topic, definition: { name: `${topic}-store`, kind, keySerde: str, valueSerde: str, changelog: false } })

async function setup (t: Test): Promise<{ log: Log, appDir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'global-updater-'))
  const log = await openEmbeddedLog({ dir: join(dir, 'log') })
  t.teardown(async () => { await log.close(); rmSync(dir, { recursive: true, force: true }) })
  return { log, appDir: join(dir, 'state') }
}

function updater (log: Log, appDir: string, specs: GlobalStoreSpec[], registry = new Registry()): GlobalStateUpdater {
  return new GlobalStateUpdater({ specs, log, appDir, clientId: 'global-test', pollMs: 50, checkpointIntervalMs: 100, clock: Date.now, metrics: new GlobalStoreMetrics(registry) })
}

async function send (log: Log, topic: string, entries: Array<[string, string | null]>): Promise<void> {
  const producer = await log.createProducer({ clientId: 'global-test-producer' })
  await producer.send(entries.map(([k, v]) => ({ topic, key: Buffer.from(k), value: v === null ? null : Buffer.from(v) })))
  await producer.close()
}

const rows = (u: GlobalStateUpdater, name: string): Array<[unknown, unknown]> => u.queryable(name)!.range(undefined, undefined).map(kv => [kv.key, kv.value])

t.test('a checkpoint beyond the end of a recreated topic wipes the store', async t => {
  const { log, appDir } = await setup(t)
  await log.admin.createTopics([{ name: 'names', partitions: 2 }])
  await send(log, 'names', [['a', '1'], ['b', '2'], ['c', '3'], ['d', '4']])
  const first = updater(log, appDir, [spec('names')])
  await first.bootstrap()
  t.equal(rows(first, 'names-store').length, 4)
  await first.close()
  const checkpoint = join(appDir, GLOBAL_STATE_DIR, '.checkpoint')
  t.same(Object.keys(JSON.parse(readFileSync(checkpoint, 'utf8')) as object).sort(), ['names:0', 'names:1'], 'the checkpoint names every partition')

  await log.admin.deleteTopics(['names'])
  await log.admin.createTopics([{ name: 'names', partitions: 2 }])
  await send(log, 'names', [['x', '9']])
  const second = updater(log, appDir, [spec('names')])
  await second.bootstrap()
  t.same(rows(second, 'names-store'), [['x', '9']], 'only the new topic\'s record: the old rows were wiped')
  await second.close()
})

t.test('a corrupt checkpoint reads the topic again; a good one reads only what is new', async t => {
  const { log, appDir } = await setup(t)
  await log.admin.createTopics([{ name: 'names', partitions: 2 }])
  await send(log, 'names', [['a', '1'], ['b', '2']])
  const first = updater(log, appDir, [spec('names')])
  await first.bootstrap()
  await first.close()
  writeFileSync(join(appDir, GLOBAL_STATE_DIR, '.checkpoint'), '{not json')
  await send(log, 'names', [['a', null]])
  const registry = new Registry()
  const second = updater(log, appDir, [spec('names')], registry)
  await second.bootstrap()
  t.same(rows(second, 'names-store'), [['b', '2']], 'the tombstone applied')
  const applied = async (): Promise<number> => (await registry.getMetricsAsJSON()).find(m => m.name === 'streams_global_store_records_applied_total')!.values.reduce((n, v) => n + v.value, 0)
  t.equal(await applied(), 3, 'read from the beginning')
  await second.close()
  const registry3 = new Registry()
  const third = updater(log, appDir, [spec('names')], registry3)
  await third.bootstrap()
  t.same((await registry3.getMetricsAsJSON()).find(m => m.name === 'streams_global_store_records_applied_total')!.values, [], 'nothing new: nothing applied')
  t.same(rows(third, 'names-store'), [['b', '2']])
  await third.close()
})

t.test('an in-memory global store bootstraps from the start every time, outside the checkpoint', async t => {
  const { log, appDir } = await setup(t)
  await log.admin.createTopics([{ name: 'mem', partitions: 1 }, { name: 'disk', partitions: 1 }])
  await send(log, 'mem', [['a', '1']])
  await send(log, 'disk', [['b', '2']])
  for (let run = 0; run < 2; run++) {
    const u = updater(log, appDir, [spec('mem', 'in-memory'), spec('disk')])
    await u.bootstrap()
    t.same(rows(u, 'mem-store'), [['a', '1']], `run ${run}: the in-memory store is full`)
    t.same(rows(u, 'disk-store'), [['b', '2']], `run ${run}: the RocksDB store too`)
    await u.close()
    t.same(Object.keys(JSON.parse(readFileSync(join(appDir, GLOBAL_STATE_DIR, '.checkpoint'), 'utf8')) as object), ['disk:0'])
  }
})

t.test('the running updater applies new records; close() during a bootstrap is safe', async t => {
  const { log, appDir } = await setup(t)
  await log.admin.createTopics([{ name: 'names', partitions: 1 }])
  const u = updater(log, appDir, [spec('names')])
  await u.bootstrap()
  t.equal(u.queryable('names-store')!.state, 'READY')
  const failures: unknown[] = []
  u.start(error => failures.push(error))
  await send(log, 'names', [['a', '1']])
  const deadline = Date.now() + 10_000
  while (u.processorStores.get('names-store')!.get('a') === undefined && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
  t.equal(u.processorStores.get('names-store')!.get('a'), '1', 'a record written while running is applied')
  await u.close()
  t.same(failures, [])
  t.equal(u.queryable('names-store')!.state, 'CLOSED')

  await send(log, 'names', Array.from({ length: 2000 }, (_, i): [string, string] => [`k${i}`, 'v']))
  const v = updater(log, appDir, [spec('names')])
  const booting = v.bootstrap()
  await v.close()
  await booting
  t.pass('closed while bootstrapping')
})

t.test('the description lists global stores', async t => {
  const builder = new StreamsBuilder()
  builder.globalTable('names', {}, { storeName: 'names-store' })
  builder.stream('in').to('out')
  const description = describeTopology(builder.build())
  t.same(description.globalStores, [{ name: 'names-store', kind: 'rocksdb', topic: 'names' }])
  t.match(describeAsText(description), /Global store: names-store/)
})
