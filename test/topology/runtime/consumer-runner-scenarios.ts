// Scenarios of the consumer runner (topology/runtime/consumer-runner.ts), each on a log given by a
// backend (test/topology/integration/backends.ts): consumer-runner.test.ts runs them all on the
// embedded log, test/topology/integration/consumer-runner.test.ts the main ones on the real broker.
import type { Test } from 'tap'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import type { Log, LogRecord, PartitionOffset } from '../../../log/log-port.ts'
import { startConsumerRunner, type ConsumerRunner, type ConsumerRunnerOptions, type RecordHandler } from '../../../topology/runtime/consumer-runner.ts'
import { uniqueName, waitForCommitted, type Backend } from '../integration/backends.ts'

const PARTITIONS = 2
const GROUP_TIMEOUTS = { sessionTimeoutMs: 6000 }
/** DEBUG_RUNNER=1: the runners log to stderr. */
const debugLogger = process.env.DEBUG_RUNNER ? { logger: pino({ level: 'debug' }, process.stderr) } : {}

interface World {
  readonly log: Log
  readonly topic: string
  readonly groupId: string
  produce (n: number): Promise<PartitionOffset[]>
  runner (handler: RecordHandler, options?: Partial<ConsumerRunnerOptions>): ConsumerRunner
  committed (): Promise<Map<number, bigint>>
}

/** A deferred: a promise and its resolve, to wait for an event the test is told of. */
function deferred<T = void> (): { promise: Promise<T>, resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => {}
  const promise = new Promise<T>(r => { resolve = r })
  return { promise, resolve }
}

async function world (t: Test, backend: Backend): Promise<World> {
  const { log, cleanup } = await backend.open()
  const topic = uniqueName('runner-in')
  const groupId = uniqueName('runner')
  await log.admin.createTopics([{ name: topic, partitions: PARTITIONS }])
  const runners: ConsumerRunner[] = []
  const producer = await log.createProducer({ clientId: uniqueName('runner-producer') })
  let produced = 0
  t.teardown(async () => {
    for (const r of runners) await r.close()
    await producer.close()
    await log.admin.deleteTopics([topic])
    await cleanup()
  })
  return {
    log,
    topic,
    groupId,
    async produce (n) {
      const records = Array.from({ length: n }, (_, i) => ({ topic, partition: (produced + i) % PARTITIONS, key: Buffer.from(`k${produced + i}`), value: Buffer.from(String(produced + i)) }))
      produced += n
      await producer.send(records)
      return await log.admin.listOffsets(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })), 'latest')
    },
    runner (handler, options = {}) {
      const runner = startConsumerRunner({ ...debugLogger, log, groupId, clientId: uniqueName('runner-client'), topics: [topic], handler, ...GROUP_TIMEOUTS, pollMs: 100, lagIntervalMs: 200, ...options })
      runners.push(runner)
      return runner
    },
    async committed () {
      const offsets = await log.admin.listCommittedOffsets(groupId, Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })))
      return new Map(offsets.map(o => [o.partition, o.offset]))
    }
  }
}

const id = (r: LogRecord): string => `${r.partition}@${r.offset}`

/** Poll → handler → commit: offsets are committed only once the handler finished the records. */
export async function pollHandleCommit (t: Test, backend: Backend): Promise<void> {
  const w = await world(t, backend)
  const ends = await w.produce(20)
  const gate = deferred()
  const firstCall = deferred()
  const seen: LogRecord[] = []
  const registry = new Registry()
  const runner = w.runner({
    async handle (records) {
      firstCall.resolve()
      await gate.promise
      seen.push(...records)
    }
  }, { registry, commitIntervalMs: 50 })
  await runner.ready
  await firstCall.promise
  // The handler holds the batch: nothing may be committed past it, however many commit intervals pass.
  await runner.commit()
  const before = await w.committed()
  t.ok([...before.values()].every(offset => offset === 0n), `nothing committed while the handler holds the batch (${JSON.stringify([...before].map(([p, o]) => `${p}:${o}`))})`)
  gate.resolve()
  await waitForCommitted(w.log, w.groupId, ends)
  const byPartition = new Map<number, bigint[]>()
  for (const r of seen) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r.offset])
  t.same(new Set(seen.map(id)).size, 20, 'every record handled once')
  for (const [p, offsets] of byPartition) t.same(offsets, [...offsets].sort((a, b) => (a < b ? -1 : 1)), `partition ${p} handled in offset order`)
  t.match(await registry.metrics(), /streams_consumer_runner_records_handled_total\{group="[^"]+"\} 20/, 'records handled counted')
  const lag = await runner.measureLag()
  t.same(lag.map(l => l.lag), lag.map(() => 0), 'lag 0 once all is committed')
}

/** A batch that fails is retried after a backoff, then the policy: skip (giveUp) or stop. */
export async function retryThenPolicy (t: Test, backend: Backend): Promise<void> {
  t.test('retried until it succeeds', async t => {
    const w = await world(t, backend)
    const ends = await w.produce(4)
    const attempts: number[] = []
    const handled: LogRecord[] = []
    const registry = new Registry()
    w.runner({
      async handle (records) {
        attempts.push(Date.now())
        if (attempts.length <= 2) throw new Error('dependency down')
        handled.push(...records)
      }
    }, { registry, batchMaxWaitMs: 100, retry: { initialDelayMs: 50, maxDelayMs: 200 } })
    await waitForCommitted(w.log, w.groupId, ends)
    t.ok(attempts.length >= 3, `retried (${attempts.length} attempts)`)
    t.equal(new Set(handled.map(id)).size, 4, 'every record handled after the retries')
    t.match(await registry.metrics(), /streams_consumer_runner_batches_total\{group="[^"]+",result="retried"\} [1-9]/, 'retries counted')
    t.match(await registry.metrics(), /streams_consumer_runner_errors_total\{group="[^"]+",stage="handle"\} [1-9]/, 'handler errors counted')
  })

  t.test('skip: giveUp after maxAttempts, then committed past them', async t => {
    const w = await world(t, backend)
    const ends = await w.produce(4)
    let attempts = 0
    const givenUp: LogRecord[] = []
    w.runner({
      async handle () { attempts++; throw new Error('always refused') },
      async giveUp (records) { givenUp.push(...records) }
    }, { batchMaxWaitMs: 100, retry: { initialDelayMs: 10, maxDelayMs: 20, maxAttempts: 3, exhausted: 'skip' } })
    await waitForCommitted(w.log, w.groupId, ends)
    t.equal(new Set(givenUp.map(id)).size, 4, 'every record given up on (dead-lettered)')
    t.equal(attempts % 3, 0, `each batch tried maxAttempts times (${attempts} attempts)`)
  })

  t.test('stop: the runner fails, nothing of the batch committed', async t => {
    const w = await world(t, backend)
    await w.produce(4)
    const fatal = deferred<unknown>()
    w.runner({
      async handle () { throw Object.assign(new Error('not retriable'), { permanent: true }) }
    }, { retry: { isRetriable: error => !(error as { permanent?: boolean }).permanent }, onFatal: error => fatal.resolve(error) })
    const error = await fatal.promise
    t.match(String(error), /not handled after 1 attempt\(s\): not retriable/, 'onFatal told why')
    const committed = await w.committed()
    t.ok([...committed.values()].every(offset => offset === 0n), 'nothing committed')
  })
}

/** A failing batch pauses its partition only ('batch'): the other goes on; then it resumes. */
export async function pauseAndResume (t: Test, backend: Backend): Promise<void> {
  const w = await world(t, backend)
  const ends = await w.produce(10)
  let partition0Down = true
  const paused = deferred()
  const handled = new Set<string>()
  const runner = w.runner({
    async handle (records) {
      // The first record of partition 0 cannot be written (its sink is down).
      if (partition0Down && records.some(r => r.partition === 0 && r.offset === 0n)) throw new Error('partition 0 sink down')
      for (const r of records) handled.add(id(r))
    }
  }, { batchMaxRecords: 1, maxInFlightBatches: 2, maxPendingRecords: 100, failurePause: 'batch', retry: { initialDelayMs: 100, maxDelayMs: 200 }, onPaused: n => { if (n === 1) paused.resolve() } })
  await paused.promise
  t.equal(runner.pausedPartitions(), 1, 'one partition paused while its batch waits for a retry')
  t.ok(runner.failing(), 'failing')
  await waitForCommitted(w.log, w.groupId, ends.filter(e => e.partition === 1))
  t.equal([...handled].filter(k => k.startsWith('1@')).length, 5, 'the other partition went on')
  t.equal((await w.committed()).get(0) ?? 0n, 0n, 'nothing of the failing partition committed')
  partition0Down = false
  await waitForCommitted(w.log, w.groupId, ends)
  t.equal(handled.size, 10, 'the paused partition resumed and caught up')
  t.equal(runner.pausedPartitions(), 0, 'nothing paused')
}

/** B joins while A's handler holds a batch: A's revoke aborts it (grace 0); nothing is lost and
 *  nothing is committed before it was handled. */
export async function rebalanceMidBatch (t: Test, backend: Backend): Promise<void> {
  const w = await world(t, backend)
  const ends = await w.produce(40)
  const handled = new Set<string>()
  const violations: string[] = []
  /** Every commit: each offset committed must have all records below it handled. */
  const onCommitted = (offsets: readonly PartitionOffset[]): void => {
    for (const o of offsets) {
      for (let off = 0n; off < o.offset; off++) if (!handled.has(`${o.partition}@${off}`)) violations.push(`${o.partition}@${off} committed (up to ${o.offset}) before it was handled`)
    }
  }
  const holding = deferred()
  const aborted = deferred()
  const a = w.runner({
    async handle (records, signal) {
      holding.resolve()
      // Holds the batch until the revoke aborts it.
      await new Promise<void>(resolve => signal.addEventListener('abort', () => resolve(), { once: true }))
      aborted.resolve()
      throw new Error('aborted')
    }
  }, { batchMaxRecords: 5, revokeGraceMs: 0, closeGraceMs: 0, onCommitted })
  await holding.promise
  const b = w.runner({
    async handle (records) { for (const r of records) handled.add(id(r)) }
  }, { onCommitted })
  await aborted.promise
  t.pass('A\'s batch was aborted by the revoke')
  await b.ready
  // A keeps a share after the rebalance; it never finishes anything: B must get every record
  // once A leaves.
  await a.close()
  await waitForCommitted(w.log, w.groupId, ends)
  t.equal(handled.size, 40, 'no record lost: every record handled')
  t.same(violations, [], 'nothing committed before it was handled')
}

/** close() hands what is buffered over (one attempt) and commits it. */
export async function closeFlushes (t: Test, backend: Backend): Promise<void> {
  const w = await world(t, backend)
  const ends = await w.produce(10)
  const handled = new Set<string>()
  const buffered = deferred()
  const runner = w.runner({
    async handle (records) { for (const r of records) handled.add(id(r)) }
  }, { batchMaxRecords: 1000, batchMaxWaitMs: 3_600_000, commitIntervalMs: 50 })
  await runner.ready
  // The records are polled and buffered (a batch is due after an hour): wait until all are.
  const waitBuffered = setInterval(() => { if (runner.pendingRecords() === 10) buffered.resolve() }, 10)
  await buffered.promise
  clearInterval(waitBuffered)
  t.equal(handled.size, 0, 'nothing handed over before the batch is due')
  await runner.close()
  t.equal(handled.size, 10, 'close handed the buffer over')
  const committed = await w.committed()
  for (const e of ends) t.equal(committed.get(e.partition), e.offset, `partition ${e.partition} committed to its end at close`)
}
