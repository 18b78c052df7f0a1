// The consumer runner: the engine's one loop for a consumer group whose records go to an external
// side effect (a database, webhooks) rather than through a topology (docs/engine.md "Consumer
// runner"). The archiver and the notifier are built on it; what they own is their handler.
//
// It owns the group consumer (from the log port: Kafka or the embedded log), the poll loop, the
// batches handed to the handler, retries with backoff, pause and resume, commits, the rebalance
// callbacks, the close and the metrics. Guarantees:
// - At-least-once into an idempotent sink: every polled record is pending (offset-tracker.ts)
//   until the handler has finished it; the committed offset of a partition never passes a pending
//   record. With nothing pending the read position is committed (it steps past transaction
//   markers, which occupy offsets without carrying data).
// - Bounded: at most maxPendingRecords records polled and not finished; above it, while the
//   handler says it is full (mustPause) or while a batch waits to be retried (the dependency is
//   down), partitions are paused and the loop keeps polling (heartbeats, rebalances) without
//   fetching.
// - Retries: a batch the handler did not finish is retried after an exponential backoff (cockatiel,
//   decorrelated jitter) or the handler's own hint (retryInMs: a circuit breaker's open period),
//   up to maxAttempts; then the policy: 'stop' (the runner fails, nothing of the batch committed)
//   or 'skip' (the handler's giveUp, e.g. a dead letter, then the records count as finished).
//   A retriable poll failure (broker unreachable, rebalance) is waited out (the log's poll backoff).
// - Rebalance: before revoked partitions go, batches waiting for a retry stop waiting, batches
//   running get revokeGraceMs to finish, buffered records get one attempt (flushOnRevoke), and what
//   is finished is committed; the rest is dropped (the next owner re-reads it). Lost partitions are
//   dropped at once. A batch's AbortSignal aborts when one of its partitions goes.
// - Close: stop polling, give running batches closeGraceMs, one attempt for what is buffered,
//   abort the rest, commit what is finished, leave the group.
import { ExponentialBackoff, type IBackoff } from 'cockatiel'
import { Registry } from 'prom-client'
import { isStreamsError } from '../streams-error.ts'
import type { Logger } from '../../lib/logger.ts'
import { kafkaPolicy } from '../../lib/resilience/kafka-policy.ts'
import type { GroupConsumer, Log, LogRecord, PartitionOffset, TopicPartition } from '../../log/log-port.ts'
import { ConsumerRunnerMetrics } from './consumer-runner-metrics.ts'
import { OffsetTracker } from './offset-tracker.ts'

/** What the handler finished of a batch: its first `handled` records (default: all). */
export interface HandleOutcome {
  readonly handled: number
  /** Why the rest was not finished (retried, or the policy). Missing with handled < length: an
   *  error saying so is made up. */
  readonly error?: unknown
  /** Wait at least this long before retrying (e.g. a circuit breaker's open period). */
  readonly retryInMs?: number
}

export interface RecordHandler {
  /** Finishes records (in offset order per partition) durably, or reports how many of the first
   *  ones it finished. Rejecting is `{ handled: 0, error }`. `signal` aborts when one of the
   *  records' partitions is revoked or lost, or the runner closes: the result is then ignored. */
  handle (records: readonly LogRecord[], signal: AbortSignal): Promise<HandleOutcome | void>
  /** Back-pressure: true while the handler cannot take more (every partition is paused). */
  mustPause? (): boolean
  /** With the 'skip' policy: records the retries gave up on (dead-letter them). Resolves when that
   *  is durable; the records then count as finished. Rejects: the runner stops. */
  giveUp? (records: readonly LogRecord[], error: unknown): Promise<void>
  onAssigned? (partitions: readonly TopicPartition[]): void
  /** Revoked (after the last commit) or lost partitions: their state can go. */
  onReleased? (partitions: readonly TopicPartition[], lost: boolean): void
}

export interface ConsumerRetryPolicy {
  /** Default 200 ms, doubling with jitter up to maxDelayMs (default 10 s). */
  readonly initialDelayMs?: number
  readonly maxDelayMs?: number
  /** Attempts per batch in all; default unbounded (a dependency's outage is waited out). */
  readonly maxAttempts?: number
  /** Errors a later attempt cannot cure go to the policy at once; default: every error retried. */
  readonly isRetriable?: (error: unknown) => boolean
  /** When the attempts are spent: 'stop' (default) or 'skip' (handler.giveUp, then finished). */
  readonly exhausted?: 'stop' | 'skip'
}

export interface PartitionLag extends TopicPartition {
  readonly committed: bigint
  readonly end: bigint
  readonly lag: number
}

export interface ConsumerRunnerOptions {
  readonly log: Log
  readonly groupId: string
  readonly clientId: string
  readonly topics: readonly string[]
  readonly handler: RecordHandler
  /** In log lines; default the group id. */
  readonly name?: string
  readonly maxPollRecords?: number
  readonly sessionTimeoutMs?: number
  /** Records per handler call at most; default 500. */
  readonly batchMaxRecords?: number
  /** A partial batch is handed over after this long; default 0 (at once). */
  readonly batchMaxWaitMs?: number
  /** Handler calls running at once; default 1 (records then finish in order). */
  readonly maxInFlightBatches?: number
  /** Polled, not finished records at most (partitions pause above); default 5 batches. */
  readonly maxPendingRecords?: number
  /** While a batch waits to be retried: pause every partition ('all', default: the dependency is
   *  down for all of them) or only the batch's ('batch'). */
  readonly failurePause?: 'all' | 'batch'
  readonly retry?: ConsumerRetryPolicy
  /** Commit every this often; 0: after every finished batch. Default 1000 ms. */
  readonly commitIntervalMs?: number
  /** How long a revoke waits for running batches of the revoked partitions; default unbounded. */
  readonly revokeGraceMs?: number
  /** On revoke, hand buffered records of the revoked partitions over (one attempt); default true. */
  readonly flushOnRevoke?: boolean
  /** How long close() waits for running batches; default 5000 ms. */
  readonly closeGraceMs?: number
  /** Longest poll wait; default 500 ms. */
  readonly pollMs?: number
  /** Lag measured (one listOffsets) this often; default 5000 ms. */
  readonly lagIntervalMs?: number
  readonly registry?: Registry
  /** Metric name prefix, as the engine's (engine-metrics.ts); default `rewards_`. */
  readonly metricsPrefix?: string
  readonly logger?: Logger
  /** The runner stopped for good (the consumer failed, the 'stop' policy): it must be closed. */
  readonly onFatal?: (error: unknown) => void
  /** Offsets just committed. */
  readonly onCommitted?: (offsets: readonly PartitionOffset[]) => void
  /** Lag per assigned partition, after each measurement. */
  readonly onLag?: (lags: readonly PartitionLag[]) => void
  /** Partitions paused by the runner, when the number changes. */
  readonly onPaused?: (paused: number) => void
}

export interface ConsumerRunner {
  /** Resolves at the first assignment. */
  readonly ready: Promise<void>
  /** In the group (possibly with no partition). */
  joined (): boolean
  assignment (): TopicPartition[]
  /** Polled and not finished (buffered, in the handler, waiting for a retry). */
  pendingRecords (): number
  /** A batch waits to be retried (the dependency is failing). */
  failing (): boolean
  pausedPartitions (): number
  /** Last measured lag (sum over assigned partitions). */
  lagRecords (): number
  measureLag (): Promise<PartitionLag[]>
  /** Commits what is finished now. */
  commit (): Promise<void>
  close (): Promise<void>
}

const tpKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`

/** Resolves after `ms`, or at once when `signal` aborts. */
function wait (ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal.aborted) { resolve(); return }
    const done = (): void => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve() }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

/** One assigned partition as the runner holds it. */
interface Owned {
  readonly tp: TopicPartition
  /** Aborts the signal of its batches when it goes. */
  readonly abort: AbortController
  committed: bigint
  /** Next offset after the last record accepted (buffered). */
  readTo: bigint
  /** The largest end offset seen, from a fetch or from the log's listOffsets: a paused
   *  partition's fetch end is stale, and lag computed from it alone read 0 while records waited. */
  knownEnd: bigint
}

interface Batch {
  readonly keys: ReadonlySet<string>
  /** Cut short a retry wait (revoke, close): the batch ends, its records go back to the buffer. */
  readonly stopWaiting: AbortController
  records: number
  waiting: boolean
  done: Promise<void>
}

export function startConsumerRunner (o: ConsumerRunnerOptions): ConsumerRunner {
  const name = o.name ?? o.groupId
  const group = { group: o.groupId }
  const logger = o.logger
  const handler = o.handler
  const batchMax = Math.max(1, o.batchMaxRecords ?? 500)
  const batchWaitMs = o.batchMaxWaitMs ?? 0
  const maxInFlight = Math.max(1, o.maxInFlightBatches ?? 1)
  const maxPending = Math.max(batchMax, o.maxPendingRecords ?? batchMax * 5)
  const commitIntervalMs = o.commitIntervalMs ?? 1000
  const pollMs = o.pollMs ?? 500
  const lagIntervalMs = o.lagIntervalMs ?? 5000
  const revokeGraceMs = o.revokeGraceMs ?? Infinity
  const closeGraceMs = o.closeGraceMs ?? 5000
  const retry = o.retry ?? {}
  const maxAttempts = retry.maxAttempts ?? Infinity
  const isRetriable = retry.isRetriable ?? (() => true)
  const retryBackoff = new ExponentialBackoff({ initialDelay: retry.initialDelayMs ?? 200, maxDelay: retry.maxDelayMs ?? 10_000 })
  const metrics = new ConsumerRunnerMetrics(o.registry ?? new Registry(), o.metricsPrefix)

  const owned = new Map<string, Owned>()
  const tracker = new OffsetTracker()
  let buffer: LogRecord[] = []
  let firstBufferedAt = 0
  const inFlight = new Set<Batch>()
  let inFlightRecords = 0
  /** Paused by the runner (key → partition). */
  const paused = new Map<string, TopicPartition>()
  let closing = false
  let fatal: unknown
  /** Between poll() returning records and their being accepted: positions may be ahead of them. */
  let polling = false
  let inListener = false
  let lastCommitAt = Date.now()
  let lastLagAt = 0
  let lastLag = 0
  let commitChain: Promise<void> = Promise.resolve()
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

  /** Next offset read of an owned partition: the consumer's position when no polled record is in
   *  limbo (it passes transaction markers), else the last accepted record's. */
  function readPosition (at: Owned): bigint {
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
      if (buffer.length === 0) firstBufferedAt = Date.now()
      buffer.push(r)
    }
  }

  // ---- pause and resume ----

  function applyPause (): void {
    const assigned = consumer.assignment()
    let want: TopicPartition[]
    const failingBatches = [...inFlight].filter(b => b.waiting)
    if (pending() >= maxPending || handler.mustPause?.() === true || (failingBatches.length > 0 && o.failurePause !== 'batch')) {
      want = assigned
    } else if (failingBatches.length > 0) {
      const keys = new Set(failingBatches.flatMap(b => [...b.keys]))
      want = assigned.filter(tp => keys.has(tpKey(tp)))
    } else {
      want = []
    }
    const wanted = new Set(want.map(tpKey))
    const toPause = want.filter(tp => !paused.has(tpKey(tp)))
    const toResume = [...paused].filter(([key]) => !wanted.has(key)).map(([, tp]) => tp)
    if (toPause.length > 0) consumer.pause(toPause)
    if (toResume.length > 0) consumer.resume(toResume.filter(tp => owned.has(tpKey(tp))))
    const before = paused.size
    for (const tp of toPause) paused.set(tpKey(tp), tp)
    for (const tp of toResume) paused.delete(tpKey(tp))
    if (paused.size !== before) {
      metrics.pausedPartitions.set(group, paused.size)
      logger?.[paused.size > before ? 'info' : 'debug']({ paused: paused.size }, `${name}: ${paused.size} partition(s) paused`)
      o.onPaused?.(paused.size)
    }
  }

  // ---- batches ----

  function batchDue (): boolean {
    return buffer.length >= batchMax || Date.now() - firstBufferedAt >= batchWaitMs
  }

  function dispatch (): void {
    while (buffer.length > 0 && inFlight.size < maxInFlight && fatal === undefined && batchDue()) {
      const records = takeBatch()
      if (records.length === 0) return
      firstBufferedAt = buffer.length > 0 ? Date.now() : 0
      start(records, maxAttempts)
    }
  }

  /** The next batch from the buffer, leaving out partitions whose earlier batch waits for a retry
   *  (their records would overtake it). */
  function takeBatch (): LogRecord[] {
    const blocked = new Set<string>()
    for (const b of inFlight) if (b.waiting) for (const key of b.keys) blocked.add(key)
    if (blocked.size === 0) return buffer.splice(0, batchMax)
    const taken: LogRecord[] = []
    const kept: LogRecord[] = []
    for (const r of buffer) (taken.length < batchMax && !blocked.has(tpKey(r)) ? taken : kept).push(r)
    buffer = kept
    return taken
  }

  function start (records: LogRecord[], attempts: number): Batch {
    const owners = new Map<string, Owned>()
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
  const stillOwned = (owners: ReadonlyMap<string, Owned>, r: LogRecord): boolean => owned.get(tpKey(r)) === owners.get(tpKey(r)) && owned.has(tpKey(r))

  async function run (batch: Batch, records: LogRecord[], owners: ReadonlyMap<string, Owned>, attempts: number): Promise<void> {
    const signal = AbortSignal.any([...[...owners.values()].map(at => at.abort.signal), stopping.signal])
    let rest = records
    let backoff: IBackoff<unknown> | undefined
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
      const retriable = isRetriable(error)
      if (retriable && attempts < maxAttempts && attempt >= attempts) {
        // A one-attempt hand-over (revoke, close): left pending, not committed.
        requeue(batch, rest, owners)
        return
      }
      if (!retriable || attempt >= attempts) {
        await exhausted(batch, rest, owners, error, attempt)
        return
      }
      backoff = (backoff ?? retryBackoff).next(undefined)
      const delayMs = Math.round(Math.max(backoff.duration, outcome.retryInMs ?? 0))
      metrics.batches.inc({ ...group, result: 'retried' })
      logger?.warn({ err: error, records: rest.length, attempt, retryInMs: delayMs }, `${name}: batch failed (${(error as Error).message}), retrying in ${delayMs} ms`)
      batch.waiting = true
      await wait(delayMs, AbortSignal.any([signal, batch.stopWaiting.signal]))
      batch.waiting = false
      if (batch.stopWaiting.signal.aborted) { requeue(batch, rest, owners); return }
    }
  }

  /** Records a batch ends without: back to the front of the buffer (still pending). */
  function requeue (batch: Batch, records: readonly LogRecord[], owners: ReadonlyMap<string, Owned>): void {
    const kept = records.filter(r => stillOwned(owners, r))
    if (kept.length > 0) {
      if (buffer.length === 0) firstBufferedAt = Date.now()
      buffer = [...kept, ...buffer]
    }
    inFlightRecords -= records.length
    batch.records -= records.length
  }

  async function exhausted (batch: Batch, records: readonly LogRecord[], owners: ReadonlyMap<string, Owned>, error: unknown, attempts: number): Promise<void> {
    if (retry.exhausted !== 'skip' || handler.giveUp === undefined) {
      metrics.batches.inc({ ...group, result: 'failed' })
      throw Object.assign(new Error(`${name}: ${records.length} record(s) not handled after ${attempts} attempt(s): ${(error as Error).message}`), { cause: error })
    }
    await handler.giveUp(records, error)
    metrics.batches.inc({ ...group, result: 'gave_up' })
    logger?.warn({ err: error, records: records.length, attempts }, `${name}: gave up on ${records.length} record(s) after ${attempts} attempt(s): ${(error as Error).message}`)
    await finish(batch, records, owners, false)
  }

  /** Records the handler finished: no longer pending; committed at once when commitIntervalMs is 0. */
  async function finish (batch: Batch, records: readonly LogRecord[], owners: ReadonlyMap<string, Owned>, count = true): Promise<void> {
    for (const r of records) if (stillOwned(owners, r)) tracker.settle(r, r.offset)
    inFlightRecords -= records.length
    batch.records -= records.length
    if (count) metrics.recordsHandled.inc(group, records.length)
    metrics.pendingRecords.set(group, pending())
    if (commitIntervalMs === 0) await commit([...batch.keys].flatMap(key => { const at = owned.get(key); return at === undefined ? [] : [at.tp] }))
  }

  // ---- commits and lag ----

  /** Commits, for the partitions given (default: every owned one), the first pending offset. */
  function commit (partitions?: readonly TopicPartition[]): Promise<void> {
    // One commit at a time: a later one never lands before an earlier one.
    const next = commitChain.then(() => commitNow(partitions))
    commitChain = next.catch(() => {})
    return next
  }

  async function commitNow (partitions?: readonly TopicPartition[]): Promise<void> {
    lastCommitAt = Date.now()
    const offsets: PartitionOffset[] = []
    const targets = partitions === undefined ? [...owned.values()] : partitions.flatMap(tp => { const at = owned.get(tpKey(tp)); return at === undefined ? [] : [at] })
    for (const at of targets) {
      const next = tracker.committable(at.tp, readPosition(at))
      if (next > at.committed) offsets.push({ ...at.tp, offset: next })
    }
    if (offsets.length > 0) {
      try {
        await consumer.commitOffsets(offsets)
        for (const off of offsets) { const at = owned.get(tpKey(off)); if (at !== undefined && off.offset > at.committed) at.committed = off.offset }
        o.onCommitted?.(offsets)
      } catch (error) {
        // Nothing is lost: the same offsets go next time (or the next owner re-reads).
        metrics.errors.inc({ ...group, stage: 'commit' })
        logger?.warn({ err: error }, `${name}: offset commit failed: ${(error as Error).message}`)
      }
    }
    // A cheap lag estimate from the ends the last fetch saw; measureLag() asks the log.
    const lags: PartitionLag[] = []
    for (const at of owned.values()) {
      const end = consumer.endOffset(at.tp)
      if (end !== undefined) lags.push(lagOf(at, end))
    }
    if (lags.length > 0) reportLag(lags, lags.length === owned.size)
  }

  const lagOf = (at: Owned, seen: bigint): PartitionLag => {
    if (seen > at.knownEnd) at.knownEnd = seen
    const end = at.knownEnd
    return { ...at.tp, committed: at.committed, end, lag: end > at.committed ? Number(end - at.committed) : 0 }
  }

  function reportLag (lags: readonly PartitionLag[], complete: boolean): void {
    for (const l of lags) metrics.lag.set({ ...group, topic: l.topic, partition: String(l.partition) }, l.lag)
    if (complete) lastLag = lags.reduce((sum, l) => sum + l.lag, 0)
    o.onLag?.(lags)
  }

  async function measureLag (): Promise<PartitionLag[]> {
    lastLagAt = Date.now()
    const assigned = [...owned.values()]
    if (assigned.length === 0) { lastLag = 0; o.onLag?.([]); return [] }
    const ends = await o.log.admin.listOffsets(assigned.map(at => at.tp), 'latest')
    const lags: PartitionLag[] = []
    for (const end of ends) {
      const at = owned.get(tpKey(end))
      if (at !== undefined) lags.push(lagOf(at, end.offset))
    }
    reportLag(lags, true)
    return lags
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
    const records = buffer.filter(matching)
    if (records.length === 0) return
    buffer = buffer.filter(r => !matching(r))
    for (let i = 0; i < records.length; i += batchMax) {
      const remaining = deadline - Date.now()
      if (remaining <= 0) { buffer = [...records.slice(i), ...buffer]; return }
      const batch = start(records.slice(i, i + batchMax), 1)
      await settleWithin([batch.done], remaining)
      if (inFlight.has(batch) || fatal !== undefined || buffer.some(matching)) {
        // Out of time, or an attempt failed: the rest stays pending.
        buffer = [...records.slice(i + batchMax), ...buffer]
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
      paused.delete(key)
      metrics.lag.remove({ ...group, topic: tp.topic, partition: String(tp.partition) })
    }
    if (buffer.length > 0) buffer = buffer.filter(r => !keys.has(tpKey(r)))
    metrics.pendingRecords.set(group, pending())
    metrics.pausedPartitions.set(group, paused.size)
    handler.onReleased?.(partitions, lost)
  }

  async function settleWithin (promises: readonly Promise<void>[], ms: number): Promise<void> {
    if (promises.length === 0) return
    if (ms === Infinity) { await Promise.allSettled(promises); return }
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.allSettled(promises), new Promise(resolve => { timer = setTimeout(resolve, ms) })])
    clearTimeout(timer)
  }

  // ---- the loop ----

  function pollWaitMs (): number {
    // Paused: look again soon whether the cause is gone (nothing would wake the poll).
    if (buffer.length === 0) return paused.size > 0 ? Math.min(pollMs, 100) : pollMs
    if ([...inFlight].some(b => b.waiting)) return Math.min(pollMs, 100)
    // A batch running: look again soon, to hand the next one over as it ends.
    if (inFlight.size >= maxInFlight) return 10
    return Math.max(1, Math.min(pollMs, firstBufferedAt + batchWaitMs - Date.now()))
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
      if (commitIntervalMs > 0 ? Date.now() - lastCommitAt >= commitIntervalMs : pending() === 0 && Date.now() - lastCommitAt >= 1000) {
        // With nothing pending this also commits positions moved past transaction markers.
        await commit()
      }
      if (Date.now() - lastLagAt >= lagIntervalMs) {
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
    lagRecords: () => lastLag,
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
