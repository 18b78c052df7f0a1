// The consumer runner: the engine's one loop for a consumer group whose records go to an external
// side effect (a database, webhooks) rather than through a topology (docs/engine.md "Consumer
// runner"). The archiver and the notifier are built on it; what they own is their handler.
//
// It owns the group consumer (from the log port: Kafka or the embedded log), the poll loop, the
// batches handed to the handler, retries, pause and resume, commits, the rebalance callbacks, the
// close and the metrics. Its guarantees, in full in docs/engine.md "Consumer runner":
// at-least-once into an idempotent sink (a partition's committed offset never passes a pending
// record, offset-tracker.ts); bounded (maxPendingRecords, the handler's mustPause and a batch
// waiting for a retry pause partitions while the loop keeps polling); retries with backoff or the
// handler's hint, then 'stop' or 'skip' (giveUp); on revoke, batches get revokeGraceMs and
// buffered records one attempt before what is finished is committed (a batch's AbortSignal aborts
// when one of its partitions goes); close: the same with closeGraceMs, then leave the group.
// Its jobs, one file each: consumer-runner-types.ts (contracts), -settings.ts (options resolved),
// -retry.ts (retry policy), -pause.ts (pause, resume), -commits.ts (commits, lag), -partition.ts
// (an owned partition), -buffer.ts (records waiting for a batch), -metrics.ts; this file is the
// loop, the batches and the rebalance callbacks.
import type { IBackoff } from 'cockatiel'
import { Registry } from 'prom-client'
import { isStreamsError } from '../streams-error.ts'
import { kafkaPolicy } from '../../lib/resilience/kafka-policy.ts'
import type { GroupConsumer, LogRecord, TopicPartition } from '../../log/log-port.ts'
import { ConsumerRunnerMetrics } from './consumer-runner-metrics.ts'
import { RunnerCommits } from './consumer-runner-commits.ts'
import { PartitionPauser } from './consumer-runner-pause.ts'
import { tpKey, type OwnedPartition } from './consumer-runner-partition.ts'
import { BatchRetryPolicy, settleWithin, wait } from './consumer-runner-retry.ts'
import { RunnerBuffer } from './consumer-runner-buffer.ts'
import { runnerSettings } from './consumer-runner-settings.ts'
import type { ConsumerRunner, ConsumerRunnerOptions, HandleOutcome, PartitionLag } from './consumer-runner-types.ts'
import { OffsetTracker } from './offset-tracker.ts'

export type {
  ConsumerRunner, ConsumerRunnerOptions, RecordHandler, HandleOutcome, ConsumerRetryPolicy, PartitionLag
} from './consumer-runner-types.ts'

interface Batch {
  readonly keys: ReadonlySet<string>
  /** Cut short a retry wait (revoke, close): the batch ends, its records go back to the buffer. */
  readonly stopWaiting: AbortController
  records: number
  waiting: boolean
  done: Promise<void>
}

export function startConsumerRunner (o: ConsumerRunnerOptions): ConsumerRunner {
  const { name, batchMax, batchWaitMs, maxInFlight, maxPending, commitIntervalMs, pollMs, lagIntervalMs, revokeGraceMs, closeGraceMs } = runnerSettings(o)
  const group = { group: o.groupId }
  const logger = o.logger
  const handler = o.handler
  const retry = new BatchRetryPolicy(o.retry)
  const metrics = new ConsumerRunnerMetrics(o.registry ?? new Registry(), o.metricsPrefix)

  const owned = new Map<string, OwnedPartition>()
  const tracker = new OffsetTracker()
  const buffer = new RunnerBuffer()
  const inFlight = new Set<Batch>()
  let inFlightRecords = 0
  let closing = false
  let fatal: unknown
  /** Between poll() returning records and their being accepted: positions may be ahead of them. */
  let polling = false
  let inListener = false
  const stopping = new AbortController()
  let markReady: () => void = () => {}
  const ready = new Promise<void>(resolve => { markReady = resolve })

  const consumer: GroupConsumer = o.log.createGroupConsumer({
    groupId: o.groupId,
    clientId: o.clientId,
    topics: [...o.topics],
    ...(o.maxPollRecords === undefined ? {} : { maxPollRecords: o.maxPollRecords }),
    ...(o.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: o.sessionTimeoutMs }),
    listener: {
      async onPartitionsRevoked (partitions) {
        inListener = true
        try { await revoke(partitions) } finally { inListener = false }
      },
      async onPartitionsAssigned (partitions) {
        for (const tp of partitions) {
          const at = consumer.position(tp)
          owned.set(tpKey(tp), { tp: { topic: tp.topic, partition: tp.partition }, abort: new AbortController(), committed: at, readTo: at, knownEnd: at })
        }
        markReady()
        handler.onAssigned?.(partitions)
        logger?.info({ partitions: partitions.length }, `${name} assigned ${partitions.length} partition(s)`)
      },
      async onPartitionsLost (partitions) {
        logger?.warn({ partitions: partitions.length }, `${name} lost ${partitions.length} partition(s): what was not committed is re-read by their next owner`)
        release(partitions, true)
      }
    }
  })

  const pending = (): number => buffer.length + inFlightRecords

  const paused = new PartitionPauser({
    consumer,
    owns: key => owned.has(key),
    onChange: (size, before) => {
      metrics.pausedPartitions.set(group, size)
      logger?.[size > before ? 'info' : 'debug']({ paused: size }, `${name}: ${size} partition(s) paused`)
      o.onPaused?.(size)
    }
  })

  const commits = new RunnerCommits({
    consumer,
    admin: () => o.log.admin,
    owned,
    tracker,
    readPosition,
    metrics,
    group,
    name,
    logger,
    onCommitted: o.onCommitted,
    onLag: o.onLag
  })
  const commit = (partitions?: readonly TopicPartition[]): Promise<void> => commits.commit(partitions)
  const measureLag = (): Promise<PartitionLag[]> => commits.measureLag()

  /** Next offset read of an owned partition: the consumer's position when no polled record is in
   *  limbo (it passes transaction markers), else the last accepted record's. */
  function readPosition (at: OwnedPartition): bigint {
    if (polling && !inListener) return at.readTo
    try {
      const position = consumer.position(at.tp)
      return position > at.readTo ? position : at.readTo
    } catch {
      return at.readTo // no longer assigned
    }
  }

  function accept (records: readonly LogRecord[]): void {
    for (const r of records) {
      const at = owned.get(tpKey(r))
      if (at === undefined) continue // not ours (revoked meanwhile): the next owner reads it
      tracker.track(r, r.offset)
      at.readTo = r.offset + 1n
      buffer.push(r)
    }
  }

  // ---- pause and resume ----

  function applyPause (): void {
    paused.apply(consumer.assignment(), {
      full: () => pending() >= maxPending || handler.mustPause?.() === true,
      failing: [...inFlight].filter(b => b.waiting).map(b => b.keys),
      pauseAllOnFailure: o.failurePause !== 'batch'
    })
  }

  // ---- batches ----

  function batchDue (): boolean {
    return buffer.due(batchMax, batchWaitMs)
  }

  function dispatch (): void {
    while (buffer.length > 0 && inFlight.size < maxInFlight && fatal === undefined && batchDue()) {
      const records = takeBatch()
      if (records.length === 0) return
      start(records, retry.maxAttempts)
    }
  }

  /** The next batch from the buffer, leaving out partitions whose earlier batch waits for a retry
   *  (their records would overtake it). */
  function takeBatch (): LogRecord[] {
    const blocked = new Set<string>()
    for (const b of inFlight) if (b.waiting) for (const key of b.keys) blocked.add(key)
    return buffer.take(batchMax, blocked)
  }

  function start (records: LogRecord[], attempts: number): Batch {
    const owners = new Map<string, OwnedPartition>()
    for (const r of records) { const at = owned.get(tpKey(r)); if (at !== undefined) owners.set(tpKey(r), at) }
    const batch: Batch = { keys: new Set(owners.keys()), stopWaiting: new AbortController(), records: records.length, waiting: false, done: Promise.resolve() }
    inFlight.add(batch)
    inFlightRecords += records.length
    batch.done = run(batch, records, owners, attempts).catch(error => {
      fatal ??= error
      logger?.error({ err: error }, `${name}: handler failed for good: ${(error as Error).message}`)
    }).finally(() => {
      inFlight.delete(batch)
      inFlightRecords -= batch.records
    })
    return batch
  }

  /** Still ours: the partition was not revoked (and maybe assigned again) since the batch began. */
  const stillOwned = (owners: ReadonlyMap<string, OwnedPartition>, r: LogRecord): boolean => owned.get(tpKey(r)) === owners.get(tpKey(r)) && owned.has(tpKey(r))

  async function run (batch: Batch, records: LogRecord[], owners: ReadonlyMap<string, OwnedPartition>, attempts: number): Promise<void> {
    const signal = AbortSignal.any([...[...owners.values()].map(at => at.abort.signal), stopping.signal])
    let rest = records
    const nextDelayMs = retry.delays()
    for (let attempt = 1; rest.length > 0; attempt++) {
      if (signal.aborted) return
      const end = metrics.batchDuration.startTimer(group)
      let outcome: HandleOutcome
      try {
        outcome = (await handler.handle(rest, signal)) ?? { handled: rest.length }
      } catch (error) {
        outcome = { handled: 0, error }
      }
      end()
      if (signal.aborted) return // its partitions went: the next owner (or the next start) re-reads
      const handled = Math.max(0, Math.min(outcome.handled, rest.length))
      if (handled > 0) await finish(batch, rest.slice(0, handled), owners)
      rest = rest.slice(handled)
      if (rest.length === 0) { metrics.batches.inc({ ...group, result: 'handled' }); return }
      const error = outcome.error ?? new Error(`${name}: the handler finished ${handled} of ${handled + rest.length} record(s)`)
      metrics.errors.inc({ ...group, stage: 'handle' })
      const decision = retry.decide(error, attempt, attempts)
      if (decision === 'requeue') {
        // A one-attempt hand-over (revoke, close): left pending, not committed.
        requeue(batch, rest, owners)
        return
      }
      if (decision === 'exhausted') {
        await exhausted(batch, rest, owners, error, attempt)
        return
      }
      const delayMs = nextDelayMs(outcome.retryInMs)
      metrics.batches.inc({ ...group, result: 'retried' })
      logger?.warn({ err: error, records: rest.length, attempt, retryInMs: delayMs }, `${name}: batch failed (${(error as Error).message}), retrying in ${delayMs} ms`)
      batch.waiting = true
      await wait(delayMs, AbortSignal.any([signal, batch.stopWaiting.signal]))
      batch.waiting = false
      if (batch.stopWaiting.signal.aborted) { requeue(batch, rest, owners); return }
    }
  }

  /** Records a batch ends without: back to the front of the buffer (still pending). */
  function requeue (batch: Batch, records: readonly LogRecord[], owners: ReadonlyMap<string, OwnedPartition>): void {
    buffer.requeue(records.filter(r => stillOwned(owners, r)))
    inFlightRecords -= records.length
    batch.records -= records.length
  }

  async function exhausted (batch: Batch, records: readonly LogRecord[], owners: ReadonlyMap<string, OwnedPartition>, error: unknown, attempts: number): Promise<void> {
    if (!retry.skipWhenExhausted || handler.giveUp === undefined) {
      metrics.batches.inc({ ...group, result: 'failed' })
      throw Object.assign(new Error(`${name}: ${records.length} record(s) not handled after ${attempts} attempt(s): ${(error as Error).message}`), { cause: error })
    }
    await handler.giveUp(records, error)
    metrics.batches.inc({ ...group, result: 'gave_up' })
    logger?.warn({ err: error, records: records.length, attempts }, `${name}: gave up on ${records.length} record(s) after ${attempts} attempt(s): ${(error as Error).message}`)
    await finish(batch, records, owners, false)
  }

  /** Records the handler finished: no longer pending; committed at once when commitIntervalMs is 0. */
  async function finish (batch: Batch, records: readonly LogRecord[], owners: ReadonlyMap<string, OwnedPartition>, count = true): Promise<void> {
    for (const r of records) if (stillOwned(owners, r)) tracker.settle(r, r.offset)
    inFlightRecords -= records.length
    batch.records -= records.length
    if (count) metrics.recordsHandled.inc(group, records.length)
    metrics.pendingRecords.set(group, pending())
    if (commitIntervalMs === 0) await commit([...batch.keys].flatMap(key => { const at = owned.get(key); return at === undefined ? [] : [at.tp] }))
  }

  // ---- rebalance ----

  async function revoke (partitions: readonly TopicPartition[]): Promise<void> {
    const keys = new Set(partitions.map(tpKey))
    const touching = [...inFlight].filter(b => [...b.keys].some(k => keys.has(k)))
    for (const b of touching) b.stopWaiting.abort()
    const deadline = Date.now() + revokeGraceMs
    await settleWithin(touching.map(b => b.done), revokeGraceMs)
    if (o.flushOnRevoke !== false) await handOver(r => keys.has(tpKey(r)), deadline)
    await commit(partitions)
    release(partitions, false)
  }

  /** Buffered records (those matching) get one attempt, in batches, one after the other, until
   *  `deadline` (what is left then stays pending: not committed). */
  async function handOver (matching: (r: LogRecord) => boolean, deadline: number): Promise<void> {
    const records = buffer.remove(matching)
    if (records.length === 0) return
    for (let i = 0; i < records.length; i += batchMax) {
      const remaining = deadline - Date.now()
      if (remaining <= 0) { buffer.prepend(records.slice(i)); return }
      const batch = start(records.slice(i, i + batchMax), 1)
      await settleWithin([batch.done], remaining)
      if (inFlight.has(batch) || fatal !== undefined || buffer.some(matching)) {
        // Out of time, or an attempt failed: the rest stays pending.
        buffer.prepend(records.slice(i + batchMax))
        return
      }
    }
  }

  function release (partitions: readonly TopicPartition[], lost: boolean): void {
    const keys = new Set(partitions.map(tpKey))
    for (const tp of partitions) {
      const key = tpKey(tp)
      owned.get(key)?.abort.abort()
      owned.delete(key)
      tracker.forget(tp)
      paused.forget(key)
      metrics.lag.remove({ ...group, topic: tp.topic, partition: String(tp.partition) })
    }
    buffer.remove(r => keys.has(tpKey(r)))
    metrics.pendingRecords.set(group, pending())
    metrics.pausedPartitions.set(group, paused.size)
    handler.onReleased?.(partitions, lost)
  }

  // ---- the loop ----

  function pollWaitMs (): number {
    // Paused: look again soon whether the cause is gone (nothing would wake the poll).
    if (buffer.length === 0) return paused.size > 0 ? Math.min(pollMs, 100) : pollMs
    if ([...inFlight].some(b => b.waiting)) return Math.min(pollMs, 100)
    // A batch running: look again soon, to hand the next one over as it ends.
    if (inFlight.size >= maxInFlight) return 10
    return Math.max(1, Math.min(pollMs, buffer.firstAt + batchWaitMs - Date.now()))
  }

  async function loop (): Promise<void> {
    let pollBackoff: IBackoff<unknown> | undefined
    while (!closing) {
      if (fatal !== undefined) throw fatal
      applyPause()
      let records: LogRecord[]
      polling = true
      try {
        records = await consumer.poll(pollWaitMs())
      } catch (error) {
        polling = false
        // A retriable log error (broker unreachable, rebalance) is waited out: nothing pending is
        // committed meanwhile. Anything else stops the runner.
        if (closing || !isStreamsError(error) || !error.retriable) throw error
        metrics.errors.inc({ ...group, stage: 'poll' })
        pollBackoff = (pollBackoff ?? kafkaPolicy.pollBackoff).next(undefined)
        logger?.warn({ err: error }, `${name}: poll failed (${error.code}), retrying in ${Math.round(pollBackoff.duration)} ms`)
        await wait(pollBackoff.duration, stopping.signal)
        continue
      }
      accept(records)
      polling = false
      pollBackoff = undefined
      dispatch()
      metrics.pendingRecords.set(group, pending())
      if (commitIntervalMs > 0 ? Date.now() - commits.lastCommitAt >= commitIntervalMs : pending() === 0 && Date.now() - commits.lastCommitAt >= 1000) {
        // With nothing pending this also commits positions moved past transaction markers.
        await commit()
      }
      if (Date.now() - commits.lastLagAt >= lagIntervalMs) {
        try {
          await measureLag()
        } catch (error) {
          metrics.errors.inc({ ...group, stage: 'lag' })
          logger?.debug({ err: error }, `${name}: lag measurement failed`)
        }
      }
    }
  }

  const running = loop().catch(error => {
    if (closing) return
    logger?.error({ err: error }, `${name} stopped: ${(error as Error).message}`)
    o.onFatal?.(error)
  })

  return {
    ready,
    joined: () => consumer.groupMetadata() !== null,
    assignment: () => [...owned.values()].map(at => at.tp),
    pendingRecords: pending,
    failing: () => [...inFlight].some(b => b.waiting),
    pausedPartitions: () => paused.size,
    lagRecords: () => commits.lastLag,
    measureLag,
    commit: () => commit(),
    async close (): Promise<void> {
      if (closing) return
      closing = true
      await running
      for (const b of inFlight) b.stopWaiting.abort()
      const deadline = Date.now() + closeGraceMs
      await settleWithin([...inFlight].map(b => b.done), closeGraceMs)
      if (inFlight.size === 0 && fatal === undefined) await handOver(() => true, deadline)
      const unfinished = pending()
      stopping.abort()
      try {
        await commit()
      } finally {
        if (unfinished > 0) logger?.info({ unfinished }, `${name} closing with ${unfinished} record(s) not handled: they are read again on the next start`)
        await consumer.close()
        metrics.pausedPartitions.set(group, 0)
        metrics.pendingRecords.set(group, 0)
      }
    }
  }
}
