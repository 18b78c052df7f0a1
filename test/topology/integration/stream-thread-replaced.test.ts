// A processor bug that throws kills the stream thread. onStreamError=replace-thread (the default)
// starts a new one: the dead thread's tasks were closed dirty (the uncommitted work dropped), the
// new one resumes from the committed offsets, and every output is exactly once. With
// shutdown-instance the application goes ERROR instead, with the processor's error; a bug that
// throws every time exhausts maxThreadReplacements and goes ERROR too.
import t, { type Test } from 'tap'
import { streamLiveness } from '../../../cli/roles/processor-role.ts'
import type { Log, LogRecord } from '../../../log/log-port.ts'
import type { StreamErrorPolicy } from '../../../topology/runtime/streams-config.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import { BACKENDS, readUntil, tempStateDir, uniqueName } from './backends.ts'

const PARTITIONS = 2

interface Setup {
  readonly app: StreamsApplication
  readonly input: string
  readonly output: string
  readonly log: Log
}

/** A count topology whose processor throws on the value "boom" `throws` times. */
async function setup (t: Test, log: Log, policy: StreamErrorPolicy, throws: number): Promise<Setup> {
  const input = uniqueName('thread-in')
  const output = uniqueName('thread-out')
  const appId = uniqueName('thread')
  await log.admin.createTopics([{ name: input, partitions: PARTITIONS }, { name: output, partitions: PARTITIONS }])
  const state = tempStateDir()
  let thrown = 0
  const builder = new StreamsBuilder()
  builder.stream<string, string>(input, { valueSerde: Serdes.string() })
    .peek((_key, value) => { if (value === 'boom' && thrown < throws) { thrown++; throw new Error('injected processor bug') } })
    .groupByKey()
    .count({ storeName: 'counts' })
    .toStream()
    .to(output, { valueSerde: Serdes.json<number>() })
  const app = new StreamsApplication(builder.build(), { log, config: { applicationId: appId, stateDir: state.dir, processingGuarantee: 'exactly_once_v2', onStreamError: policy, maxThreadReplacements: 3, tableRecordCache: false } })
  t.teardown(async () => {
    await app.close()
    await log.admin.deleteTopics([input, output, `${appId}-counts-changelog`])
    state.remove()
  })
  await app.start()
  await app.waitForState('RUNNING')
  return { app, input, output, log }
}

async function send (log: Log, topic: string, values: string[]): Promise<void> {
  const producer = await log.createProducer({ clientId: 'thread-input' })
  try {
    await producer.send(values.map((value, i) => ({ topic, key: Buffer.from(`k${i % 4}`), value: Buffer.from(value) })))
  } finally {
    await producer.close()
  }
}

for (const backend of BACKENDS) {
  t.test(`replace-thread on the ${backend.name} log: a processor bug that throws once, exactly once`, async t => {
    const { log, cleanup } = await backend.open()
    t.teardown(cleanup)
    const { app, input, output } = await setup(t, log, 'replace-thread', 1)
    const states: string[] = []
    app.onStateChange(next => states.push(next))
    const replaced: number[] = []
    app.onRecovery(e => { if (e.event === 'stream-thread.replaced') replaced.push(e.replacements) })
    const values = Array.from({ length: 400 }, (_, i) => i === 250 ? 'boom' : `v${i}`)
    await send(log, input, values)
    const expected = new Map<string, number>()
    values.forEach((_, i) => expected.set(`k${i % 4}`, (expected.get(`k${i % 4}`) ?? 0) + 1))
    const outputs: LogRecord[] = await readUntil(log, output, PARTITIONS, all => all.length >= values.length, 120_000)
    await app.waitForState('RUNNING')

    t.same(replaced, [1], 'the thread was replaced once')
    t.ok(states.includes('REBALANCING'), 'REBALANCING while the new thread joins')
    t.ok(app.streamThreadAlive, 'a stream thread runs')
    t.same(streamLiveness(app), { ready: true, detail: 'stream thread running' }, '/health/live: live')
    const seen = new Map<string, number[]>()
    for (const r of outputs) {
      const list = seen.get(r.key!.toString()) ?? []
      list.push(JSON.parse(r.value!.toString()) as number)
      seen.set(r.key!.toString(), list)
    }
    for (const [key, n] of expected) t.same(seen.get(key), Array.from({ length: n }, (_, i) => i + 1), `${key}: counts 1..${n} once each`)
    t.equal((await app.registry.getSingleMetric('streams_stream_threads_replaced_total')?.get())?.values[0]?.value, 1, 'streams_stream_threads_replaced_total')
    t.equal((await app.registry.getSingleMetric('streams_stream_threads_alive')?.get())?.values[0]?.value, 1, 'streams_stream_threads_alive')
  })
}

const first = BACKENDS[0]!

t.test(`shutdown-instance on the ${first.name} log: the application goes ERROR`, async t => {
  const { log, cleanup } = await first.open()
  t.teardown(cleanup)
  const { app, input } = await setup(t, log, 'shutdown-instance', 1)
  const failed = new Promise<unknown>(resolve => app.onStateChange((next, _old, error) => { if (next === 'ERROR') resolve(error) }))
  await send(log, input, ['a', 'boom', 'b'])
  const error = await failed
  t.match((error as Error).message, /stream thread died and is not replaced \(on stream error: shutdown-instance\).*injected processor bug/, 'ERROR says why, in one message')
  t.notOk(app.streamThreadAlive, 'no stream thread runs')
  t.same(streamLiveness(app), { ready: false, detail: 'stream application is ERROR' }, '/health/live: not live')
})

t.test(`replace-thread on the ${first.name} log: a bug that always throws exhausts the replacements`, async t => {
  const { log, cleanup } = await first.open()
  t.teardown(cleanup)
  const { app, input } = await setup(t, log, 'replace-thread', Number.POSITIVE_INFINITY)
  const replaced: number[] = []
  app.onRecovery(e => { if (e.event === 'stream-thread.replaced') replaced.push(e.replacements) })
  const failed = new Promise<unknown>(resolve => app.onStateChange((next, _old, error) => { if (next === 'ERROR') resolve(error) }))
  await send(log, input, ['boom'])
  const error = await failed
  t.same(replaced, [1, 2, 3], 'replaced up to maxThreadReplacements')
  t.match((error as Error).message, /3 replacements within 600 s already/, 'then ERROR, saying why')
})
