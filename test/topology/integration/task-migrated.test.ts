// The engine's recovery from the commit failures of docs/engine.md "Faults and recovery" that a
// real broker cannot be made to produce on demand: a producer whose sequence state the broker
// lost (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID: task migrated), a transaction the
// coordinator no longer recognises (INVALID_TXN_STATE: task corrupted), and a commit that timed
// out (retried with backoff). Fault injection, not a mock: log, broker, group and transactions are
// real; the producer handed to the engine rejects chosen commits, as the Kafka producer does
// (log/kafka/kafka-producer.ts; error-classification.test.ts maps the client's errors to these).
// Also checks that a migration wipes nothing still valid: the rebuilt tasks restore 0 records (the
// dirty close checkpointed the last commit).
import t from 'tap'
import { RewardsError } from '../../../lib/errors.ts'
import type { Log, LogProducer, LogRecord } from '../../../log/log-port.ts'
import type { RecoveryEvent } from '../../../topology/runtime/commit-recovery.ts'
import type { TaskRestored } from '../../../topology/runtime/stream-thread.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import { BACKENDS, readUntil, tempStateDir, uniqueName } from './backends.ts'
import { withTransactionalProducers } from './faulty-log.ts'

const PARTITIONS = 2
const BATCHES = 8
const PER_BATCH = 200

/** Commit number (over every producer the engine creates) → the failure it reports instead of
 *  committing. A failed producer refuses further use, as the Kafka producer does. */
const FAULTS = new Map<number, () => RewardsError>([
  [2, () => new RewardsError('LOG_PRODUCER_FENCED', 'injected: produce answered OUT_OF_ORDER_SEQUENCE_NUMBER', { details: { protocolError: 'OUT_OF_ORDER_SEQUENCE_NUMBER' } })],
  [4, () => new RewardsError('LOG_TRANSACTION_ABORTED', 'injected: produce timed out', { details: { code: 'LOG_CONNECTION' } })],
  [6, () => new RewardsError('LOG_TRANSACTION_UNKNOWN', 'injected: EndTxn answered INVALID_TXN_STATE', { details: { protocolError: 'INVALID_TXN_STATE' } })],
  [8, () => new RewardsError('LOG_PRODUCER_FENCED', 'injected: produce answered UNKNOWN_PRODUCER_ID', { details: { protocolError: 'UNKNOWN_PRODUCER_ID' } })]
])

function faultyLog (log: Log): { log: Log, injected: string[] } {
  const injected: string[] = []
  let commits = 0
  const wrap = (producer: LogProducer): LogProducer => {
    let unusable: RewardsError | undefined
    return {
      send: async (records, options) => await producer.send(records, options),
      abortTransaction: async () => await producer.abortTransaction(),
      async commitTransaction (batch) {
        if (unusable) throw unusable
        if (batch.records.length > 0) {
          const fault = FAULTS.get(++commits)?.()
          if (fault !== undefined) {
            injected.push(String(fault.details?.protocolError ?? fault.details?.code))
            if (fault.code !== 'LOG_TRANSACTION_ABORTED') unusable = fault
            throw fault
          }
        }
        return await producer.commitTransaction(batch)
      },
      close: async () => await producer.close()
    }
  }
  return { injected, log: withTransactionalProducers(log, wrap) }
}

for (const backend of BACKENDS) {
  t.test(`migrated, corrupted and timed-out commits on the ${backend.name} log: recovered, exactly once`, async t => {
    const { log: realLog, cleanup } = await backend.open()
    const { log, injected } = faultyLog(realLog)
    const input = uniqueName('migrated-in')
    const output = uniqueName('migrated-out')
    const appId = uniqueName('migrated')
    await realLog.admin.createTopics([{ name: input, partitions: PARTITIONS }, { name: output, partitions: PARTITIONS }])
    const state = tempStateDir()
    const builder = new StreamsBuilder()
    builder.stream<string, string>(input, { valueSerde: Serdes.string() })
      .groupByKey()
      .count({ storeName: 'counts' })
      .toStream()
      .to(output, { valueSerde: Serdes.json<number>() })
    const app = new StreamsApplication(builder.build(), { log, config: { applicationId: appId, stateDir: state.dir, processingGuarantee: 'exactly_once_v2', tableRecordCache: false } })
    const events: RecoveryEvent[] = []
    const restored: Array<TaskRestored & { after: string | undefined }> = []
    app.onRecovery(e => events.push(e))
    app.onTaskRestored(r => restored.push({ ...r, after: events.at(-1)?.event }))
    t.teardown(async () => {
      await app.close()
      await realLog.admin.deleteTopics([input, output, `${appId}-counts-changelog`])
      await cleanup()
      state.remove()
    })
    await app.start()
    await app.waitForState('RUNNING')

    const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5']
    const expected = new Map<string, number>()
    const producer = await realLog.createProducer({ clientId: 'migrated-input' })
    t.teardown(() => producer.close())
    let outputs: LogRecord[] = []
    for (let b = 0; b < BATCHES; b++) {
      const records = []
      for (let i = 0; i < PER_BATCH; i++) {
        const key = keys[(b * PER_BATCH + i) % keys.length]!
        expected.set(key, (expected.get(key) ?? 0) + 1)
        records.push({ topic: input, key: Buffer.from(key), value: Buffer.from(`${b}.${i}`) })
      }
      await producer.send(records)
      outputs = await readUntil(realLog, output, PARTITIONS, all => {
        const latest = new Map<string, number>()
        for (const r of all) latest.set(r.key!.toString(), JSON.parse(r.value!.toString()) as number)
        return keys.every(k => (latest.get(k) ?? 0) >= (expected.get(k) ?? 0))
      }, 120_000)
    }

    t.same(injected, ['OUT_OF_ORDER_SEQUENCE_NUMBER', 'LOG_CONNECTION', 'INVALID_TXN_STATE', 'UNKNOWN_PRODUCER_ID'], 'every fault was injected')
    t.equal(app.state, 'RUNNING', 'the application kept running')
    t.same(events.map(e => e.event), ['task.migrated', 'producer.replaced', 'task.corrupted', 'producer.replaced', 'task.migrated', 'producer.replaced'], 'one event per recovery; the timeout needed none')
    t.same(events.filter(e => e.event === 'task.migrated').map(e => (e as { reason: string }).reason), ['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID'], 'migrations name their reason')
    const rebuilt = restored.filter(r => r.after === 'producer.replaced')
    t.ok(rebuilt.length >= 3 * PARTITIONS, `every task was rebuilt after each replacement (${rebuilt.length})`)
    t.ok(rebuilt.every(r => r.records === 0), 'restoring 0 records: the dirty close checkpointed the last commit, nothing valid was wiped')

    const seen = new Map<string, number[]>()
    for (const r of outputs) {
      const list = seen.get(r.key!.toString()) ?? []
      list.push(JSON.parse(r.value!.toString()) as number)
      seen.set(r.key!.toString(), list)
    }
    for (const key of keys) t.same(seen.get(key), Array.from({ length: expected.get(key)! }, (_, i) => i + 1), `${key}: every count once, in order`)
    const value = async (name: string, labels: Record<string, string>): Promise<number | undefined> =>
      (await app.registry.getSingleMetric(name)?.get())?.values.find(v => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value
    t.equal(await value('streams_tasks_migrated_total', { reason: 'OUT_OF_ORDER_SEQUENCE_NUMBER' }), PARTITIONS, 'streams_tasks_migrated_total{reason="OUT_OF_ORDER_SEQUENCE_NUMBER"}')
    t.equal(await value('streams_tasks_corrupted_total', { reason: 'INVALID_TXN_STATE' }), PARTITIONS, 'streams_tasks_corrupted_total{reason="INVALID_TXN_STATE"}')
    t.equal(await value('streams_producers_replaced_total', { reason: 'migrated' }), 2, 'streams_producers_replaced_total{reason="migrated"}')
    t.equal(await value('streams_commits_total', { result: 'aborted' }), 1, 'the timeout: one aborted commit, retried')
  })
}
