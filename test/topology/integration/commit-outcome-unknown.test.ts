// A commit whose outcome the client cannot know (the transaction failed, then its abort failed:
// seen in CI as CONCURRENT_TRANSACTIONS outlasting the retries under load) must not stop the
// application nor lose or double-count anything, whether the transaction in fact committed or not.
//
// Fault injection, not a mock: the log, broker, topics, group and transactions are real; only the
// producer handed to the engine is wrapped so that chosen commits report LOG_TRANSACTION_UNKNOWN,
// once after the real commit went through (an EndTxn that reached the coordinator while the client
// saw an error) and once without committing. A real broker cannot be made to do either on demand.
import t from 'tap'
import { RewardsError } from '../../../lib/errors.ts'
import type { Log, LogProducer, LogRecord } from '../../../log/log-port.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import type { CommitFailure } from '../../../topology/runtime/stream-thread.ts'
import { BACKENDS, readUntil, tempStateDir, uniqueName } from './backends.ts'
import { withTransactionalProducers } from './faulty-log.ts'

const PARTITIONS = 2
const BATCHES = 6
const PER_BATCH = 300
const T0 = Date.now()

/** Commits (counted over every producer the engine creates) that report an unknown outcome. */
const LANDED_BUT_UNKNOWN = 2
const NOT_LANDED_UNKNOWN = 4

function faultyLog (log: Log): { log: Log, injected: string[] } {
  const injected: string[] = []
  let commits = 0
  const wrap = (producer: LogProducer): LogProducer => {
    let unusable: RewardsError | undefined
    return {
      send: async records => await producer.send(records),
      abortTransaction: async () => await producer.abortTransaction(),
      async commitTransaction (batch) {
        if (unusable) throw unusable
        commits++
        if (commits === LANDED_BUT_UNKNOWN && batch.records.length > 0) {
          await producer.commitTransaction(batch)
          injected.push('landed')
          throw (unusable = new RewardsError('LOG_TRANSACTION_UNKNOWN', 'injected: the transaction committed, the client saw its commit and abort fail'))
        }
        if (commits === NOT_LANDED_UNKNOWN && batch.records.length > 0) {
          injected.push('not landed')
          throw (unusable = new RewardsError('LOG_TRANSACTION_UNKNOWN', 'injected: the transaction never committed, the client saw its commit and abort fail'))
        }
        return await producer.commitTransaction(batch)
      },
      close: async () => await producer.close()
    }
  }
  return { injected, log: withTransactionalProducers(log, wrap) }
}

for (const backend of BACKENDS) {
  t.test(`a commit of unknown outcome on the ${backend.name} log: replaced producer, restored tasks, exactly once`, async t => {
    const { log: realLog, cleanup } = await backend.open()
    const { log, injected } = faultyLog(realLog)
    const input = uniqueName('unknown-in')
    const output = uniqueName('unknown-out')
    const appId = uniqueName('unknown')
    await realLog.admin.createTopics([{ name: input, partitions: PARTITIONS }, { name: output, partitions: PARTITIONS }])
    const state = tempStateDir()
    const builder = new StreamsBuilder()
    builder.stream<string, string>(input, { valueSerde: Serdes.string() })
      .groupByKey()
      .count({ storeName: 'counts' })
      .toStream()
      .to(output, { valueSerde: Serdes.json<number>() })
    const app = new StreamsApplication(builder.build(), { log, config: { applicationId: appId, stateDir: state.dir, processingGuarantee: 'exactly_once_v2' } })
    const failures: CommitFailure[] = []
    app.onCommitFailed(failure => failures.push(failure))
    t.teardown(async () => {
      await app.close()
      await realLog.admin.deleteTopics([input, output, `${appId}-counts-changelog`])
      await cleanup()
      state.remove()
    })
    await app.start()
    await app.waitForState('RUNNING')

    const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']
    const expected = new Map<string, number>()
    const producer = await realLog.createProducer({ clientId: 'unknown-input' })
    t.teardown(() => producer.close())
    let outputs: LogRecord[] = []
    // Batch by batch, each one's counts seen before the next is sent: one commit (at least) per
    // batch, so the injected failures hit commits in the middle of the run.
    for (let b = 0; b < BATCHES; b++) {
      const records = []
      for (let i = 0; i < PER_BATCH; i++) {
        const key = keys[(b * PER_BATCH + i) % keys.length]!
        expected.set(key, (expected.get(key) ?? 0) + 1)
        records.push({ topic: input, key: Buffer.from(key), value: Buffer.from(`${b}.${i}`), timestamp: T0 + b * PER_BATCH + i })
      }
      await producer.send(records)
      outputs = await readUntil(realLog, output, PARTITIONS, all => {
        const latest = new Map<string, number>()
        for (const r of all) latest.set(r.key!.toString(), JSON.parse(r.value!.toString()) as number)
        return keys.every(k => (latest.get(k) ?? 0) >= (expected.get(k) ?? 0))
      }, 120_000)
    }

    t.same(injected, ['landed', 'not landed'], 'both faults were injected')
    t.same(failures.map(f => f.result), ['unknown', 'unknown'], 'each was recovered from as an unknown outcome')
    t.equal(app.state, 'RUNNING', 'the application kept running')

    // The oracle: the input itself. Counts per key, in the committed output's order, rise by one
    // each time (a lost update would skip, a double-count would repeat or overshoot).
    const seen = new Map<string, number[]>()
    for (const r of outputs) {
      const key = r.key!.toString()
      let list = seen.get(key)
      if (list === undefined) seen.set(key, list = [])
      list.push(JSON.parse(r.value!.toString()) as number)
    }
    for (const key of keys) {
      const counts = seen.get(key) ?? []
      t.equal(counts.at(-1), expected.get(key), `${key}: the last count equals the input (${expected.get(key)})`)
      t.ok(counts.every((c, i) => i === 0 || c > counts[i - 1]!), `${key}: counts only rise`)
    }
    const store = app.store<string, number>('counts')
    for (const key of keys) t.equal(await store.get(key), expected.get(key), `${key}: the store answers the input's count`)
    const metrics = await app.registry.getSingleMetric('streams_commits_total')?.get()
    t.equal(metrics?.values.find(v => v.labels.result === 'unknown')?.value, 2, 'streams_commits_total{result="unknown"} is 2')
  })
}
