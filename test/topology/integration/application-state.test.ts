// The application's state machine and its listeners, and what a failing processor does.
import t from 'tap'
import { Serdes } from '../../../topology/serdes.ts'
import type { ApplicationState } from '../../../topology/application-state.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import { isRewardsError } from '../../../lib/errors.ts'
import { BACKENDS, tempStateDir, uniqueName } from './backends.ts'

const embedded = BACKENDS.find(b => b.name === 'embedded')

t.test('CREATED -> REBALANCING -> RUNNING -> PENDING_SHUTDOWN -> NOT_RUNNING, each seen by listeners', { skip: embedded ? false : 'embedded backend filtered out' }, async t => {
  const { log, cleanup } = await embedded!.open()
  const state = tempStateDir()
  t.teardown(async () => { await cleanup(); state.remove() })
  await log.admin.createTopics([{ name: 'in', partitions: 2 }, { name: 'out', partitions: 2 }])
  const builder = new StreamsBuilder()
  builder.stream('in', { valueSerde: Serdes.string() }).to('out', { valueSerde: Serdes.string() })
  const app = new StreamsApplication(builder.build(), { log, config: { applicationId: uniqueName('sm'), stateDir: state.dir } })
  const seen: Array<[ApplicationState, ApplicationState]> = []
  app.onStateChange((next, old) => seen.push([old, next]))
  t.equal(app.state, 'CREATED')
  await app.start()
  await app.waitForState('RUNNING')
  await app.close()
  t.same(seen, [['CREATED', 'REBALANCING'], ['REBALANCING', 'RUNNING'], ['RUNNING', 'PENDING_SHUTDOWN'], ['PENDING_SHUTDOWN', 'NOT_RUNNING']])
  await app.close() // idempotent
  t.equal(app.state, 'NOT_RUNNING')
})

t.test('a processor that throws moves the application to ERROR and commits nothing of the batch', { skip: embedded ? false : 'embedded backend filtered out' }, async t => {
  const { log, cleanup } = await embedded!.open()
  const state = tempStateDir()
  t.teardown(async () => { await cleanup(); state.remove() })
  await log.admin.createTopics([{ name: 'in', partitions: 1 }, { name: 'out', partitions: 1 }])
  const appId = uniqueName('boom')
  const builder = new StreamsBuilder()
  builder.stream<string, string>('in', { valueSerde: Serdes.string() })
    .mapValues(v => { if (v === 'boom') throw new Error('bad value'); return v })
    .to('out', { valueSerde: Serdes.string() })
  const app = new StreamsApplication(builder.build(), { log, config: { applicationId: appId, stateDir: state.dir, commitIntervalMs: 60_000 } })
  const failed = new Promise<unknown>(resolve => app.onStateChange((next, _old, error) => { if (next === 'ERROR') resolve(error) }))
  await app.start()
  await app.waitForState('RUNNING')
  const producer = await log.createProducer({ clientId: 'p' })
  await producer.send([
    { topic: 'in', key: Buffer.from('k'), value: Buffer.from('fine') },
    { topic: 'in', key: Buffer.from('k'), value: Buffer.from('boom') }
  ])
  const error = await failed
  t.ok(isRewardsError(error, 'PROCESSING_FAILED'), 'the error is PROCESSING_FAILED')
  t.match((error as Error).message, /KSTREAM-MAPVALUES-\d+.*in-0@1.*bad value/, 'it names the processor, the record and the cause')
  await app.close()
  t.equal(app.state, 'NOT_RUNNING')
  const [end] = await log.admin.listOffsets([{ topic: 'out', partition: 0 }], 'latest')
  t.equal(end!.offset, 0n, 'the output of the failed batch was not committed')
  t.same(await log.admin.listCommittedOffsets(appId, [{ topic: 'in', partition: 0 }]), [], 'no input offset committed')
})

t.test('start() refuses missing topics and sources that are not co-partitioned', { skip: embedded ? false : 'embedded backend filtered out' }, async t => {
  const { log, cleanup } = await embedded!.open()
  const state = tempStateDir()
  t.teardown(async () => { await cleanup(); state.remove() })
  const build = () => {
    const builder = new StreamsBuilder()
    const table = builder.table('a', {}, { storeName: 'a-store' })
    builder.stream('b').join(table, (x, y) => [x, y]).to('c')
    return builder.build()
  }
  const app1 = new StreamsApplication(build(), { log, config: { applicationId: uniqueName('cp'), stateDir: state.dir } })
  await t.rejects(app1.start(), { code: 'LOG_TOPIC_NOT_FOUND', message: /topics missing: a, b, c/ })
  await log.admin.createTopics([{ name: 'a', partitions: 2 }, { name: 'b', partitions: 3 }, { name: 'c', partitions: 1 }])
  const app2 = new StreamsApplication(build(), { log, config: { applicationId: uniqueName('cp'), stateDir: state.dir } })
  await t.rejects(app2.start(), { code: 'TOPOLOGY_INVALID', message: /not co-partitioned: a=2, b=3/ })
})
