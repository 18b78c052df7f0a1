// The archiver: a consumer group (read-committed, as every group consumer of the log port) over
// the six platform topics, writing every record to PostgreSQL (archive_records). The loop — poll,
// batches, pause, retry, commit, rebalance, close — is the engine's consumer runner
// (docs/engine.md "Consumer runner"); this file is its handler: rows, the breaker, dead letters,
// progress.
//
// Guarantees and bounds:
// - Exactly one row per record: rows are inserted with ON CONFLICT (topic, partition, offset) DO
//   NOTHING, and offsets are committed only after the insert returned (the rows are durable). A
//   crash between the two re-reads the batch, which inserts nothing new.
// - Bounded memory: at most maxBufferedRecords rows are held; when full, or while PostgreSQL is
//   failing, every assigned partition is paused and the runner keeps polling (staying in the
//   group, answering rebalances) without fetching.
// - PostgreSQL down: a batch is retried by the runner when the circuit breaker
//   (lib/resilience/postgres-policy.ts) lets the next attempt go (its backoff, its open period);
//   nothing is committed meanwhile, so nothing is lost; when it is back the buffer is written and
//   the partitions resume: the archiver catches up.
// - A row PostgreSQL refuses (a data error, not an outage: lib/db/database-errors.ts) cannot wedge
//   it: the failed batch is bisected until the refused rows are alone, the good rows land, each
//   refused record goes to archive_dead_letters (or, refused there too, to a dead-letter topic) and
//   the offsets move past it (docs/archive.md, "Rows the database refuses").
// - Stuck or behind: progress() says whether the durable offsets have not moved for stallSeconds
//   while lag > 0, or lag is above maxLagRecords; readiness shows it (degraded, with the reason).
// - Rebalance: on revoke the runner lets the running batch end, gives the buffer one attempt and
//   commits; rows that could not be written are dropped (their offsets were not committed: the
//   next owner re-reads them).
// - Archive lag (offsets in the log not yet durable in the archive, per assigned partition: the
//   read_committed end minus the committed offset, transaction markers and aborted records in
//   between included, docs/metrics.md) is the `rewards_archive_lag_records` gauge and lagRecords().
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { endArchiveBatchSpan, startArchiveBatchSpan } from '../../lib/tracing/archive-batch-span.ts'
import type { Logger } from '../../lib/logger.ts'
import type { Database } from '../../lib/db/database.ts'
import { startConsumerRunner, type ConsumerRunner, type HandleOutcome, type Log, type LogRecord, type PartitionLag } from '../../topology/index.ts'
import type { RewardsTopics } from '../rewards/topics.ts'
import { archiveKinds, toArchiveRow, type ArchiveRow } from './archive-row.ts'
import { writeArchiveRows } from './archive-writer.ts'
import { DeadLetterTopic, refusalOf, writeArchiveDeadLetter, type Refusal } from './archive-dead-letters.ts'
import { classifyDatabaseError, isDatabaseUnreachable } from '../../lib/db/database-errors.ts'
import { NotAttemptedError, PostgresPolicy, type BreakerState, type PostgresPolicySettings } from '../../lib/resilience/postgres-policy.ts'

export type { BreakerState } from '../../lib/resilience/postgres-policy.ts'

export interface ArchiverDeps {
  readonly log: Log
  readonly db: Database
  readonly topics: RewardsTopics
  /** Consumer group; default `<applicationId>-archiver`. */
  readonly groupId?: string
  readonly applicationId?: string
  readonly clientId?: string
  readonly registry?: Registry
  readonly logger?: Logger
  /** Rows per INSERT; default 1000. */
  readonly batchSize?: number
  /** Rows held in memory at most (partitions pause above it); default 5000. */
  readonly maxBufferedRecords?: number
  /** A partial batch is written after this long; default 200 ms. */
  readonly flushIntervalMs?: number
  /** How often archive lag is measured; default 5000 ms. */
  readonly lagIntervalMs?: number
  readonly breaker?: PostgresPolicySettings
  /** Topic of the records that even archive_dead_letters refused; default `<groupId>-dead-letters`. */
  readonly deadLetterTopic?: string
  /** Stalled: lag > 0 and the durable offsets have not moved for this long; default 120 s. */
  readonly stallSeconds?: number
  /** Behind: archive lag above this many records; default 100000. */
  readonly maxLagRecords?: number
  readonly sessionTimeoutMs?: number
  /** Called when the archiver can no longer work (e.g. the consumer failed for good). */
  readonly onFatal?: (error: unknown) => void
}

export interface Archiver {
  /** Records in the log not yet durable in the archive, over this instance's partitions (last
   *  measurement; measured every lagIntervalMs and after each commit). */
  lagRecords (): number
  /** Measures archive lag now. */
  measureLag (): Promise<number>
  /** Rows inserted since start (duplicates not counted). */
  rowsWritten (): number
  breakerState (): BreakerState
  /** Records sent to archive_dead_letters or the dead-letter topic since start. */
  deadLettered (): number
  /** Stuck or behind (docs/archive.md, "Stuck or behind"). */
  progress (): ArchiverProgress
  /** In its consumer group (possibly with no partition, when there are more archivers than
   *  partitions). */
  joined (): boolean
  /** Resolves once the archiver has joined its group (first assignment). */
  readonly ready: Promise<void>
  /** Flushes what is buffered (when PostgreSQL answers), commits, leaves the group. */
  close (): Promise<void>
}

export interface ArchiverProgress {
  readonly lagRecords: number
  /** Since the durable offsets last moved (or lag was last seen at 0). */
  readonly secondsSinceProgress: number
  /** lag > 0 and no progress for stallSeconds. */
  readonly stalled: boolean
  /** lag > maxLagRecords. */
  readonly behind: boolean
  readonly stallSeconds: number
  readonly maxLagRecords: number
}

interface Metrics {
  rows: Counter<'topic'>
  duplicates: Counter
  failures: Counter
  lag: Gauge<'topic' | 'partition'>
  breaker: Gauge
  batchSeconds: Histogram
  buffered: Gauge
  deadLetters: Counter<'topic' | 'reason'>
  stalled: Gauge
  sinceProgress: Gauge
}

function createMetrics (registry: Registry): Metrics {
  const registers = [registry]
  const existing = registry.getSingleMetric('rewards_archive_rows_total')
  if (existing !== undefined) {
    // A second archiver on the same registry (tests): reuse the metrics.
    return {
      rows: existing as Counter<'topic'>,
      duplicates: registry.getSingleMetric('rewards_archive_duplicate_rows_total') as Counter,
      failures: registry.getSingleMetric('rewards_archive_write_failures_total') as Counter,
      lag: registry.getSingleMetric('rewards_archive_lag_records') as Gauge<'topic' | 'partition'>,
      breaker: registry.getSingleMetric('rewards_archive_circuit_state') as Gauge,
      batchSeconds: registry.getSingleMetric('rewards_archive_batch_write_seconds') as Histogram,
      buffered: registry.getSingleMetric('rewards_archive_buffered_records') as Gauge,
      deadLetters: registry.getSingleMetric('rewards_archive_dead_letters_total') as Counter<'topic' | 'reason'>,
      stalled: registry.getSingleMetric('rewards_archive_stalled') as Gauge,
      sinceProgress: registry.getSingleMetric('rewards_archive_seconds_since_progress') as Gauge
    }
  }
  return {
    rows: new Counter({ name: 'rewards_archive_rows_total', help: 'Rows inserted into the archive, by topic', labelNames: ['topic'], registers }),
    duplicates: new Counter({ name: 'rewards_archive_duplicate_rows_total', help: 'Records re-read after a restart that were already archived (not inserted again)', registers }),
    failures: new Counter({ name: 'rewards_archive_write_failures_total', help: 'Failed archive batch writes (retried)', registers }),
    lag: new Gauge({ name: 'rewards_archive_lag_records', help: 'Records in the log not yet durable in the archive, per assigned partition (per instance: sum)', labelNames: ['topic', 'partition'], registers }),
    breaker: new Gauge({ name: 'rewards_archive_circuit_state', help: 'Circuit breaker around PostgreSQL: 0 closed, 1 half-open, 2 open', registers }),
    batchSeconds: new Histogram({ name: 'rewards_archive_batch_write_seconds', help: 'Time to write one archive batch', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers }),
    buffered: new Gauge({ name: 'rewards_archive_buffered_records', help: 'Records read and not yet durable in the archive', registers }),
    deadLetters: new Counter({ name: 'rewards_archive_dead_letters_total', help: 'Records whose row PostgreSQL refused, kept in archive_dead_letters (or the dead-letter topic), by topic and SQLSTATE', labelNames: ['topic', 'reason'], registers }),
    stalled: new Gauge({ name: 'rewards_archive_stalled', help: '1 while the archiver is stuck (lag > 0 and no progress for the stall bound) or behind (lag above its bound), else 0', registers }),
    sinceProgress: new Gauge({ name: 'rewards_archive_seconds_since_progress', help: 'Seconds since the archive offsets last moved (0 while the archive is up to date)', registers })
  }
}

const BREAKER_GAUGE: Record<BreakerState, number> = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 }

export function startArchiver (deps: ArchiverDeps): Archiver {
  const groupId = deps.groupId ?? `${deps.applicationId ?? 'rewards'}-archiver`
  const batchSize = deps.batchSize ?? 1000
  const maxBuffered = Math.max(batchSize, deps.maxBufferedRecords ?? 5000)
  const flushIntervalMs = deps.flushIntervalMs ?? 200
  const lagIntervalMs = deps.lagIntervalMs ?? 5000
  const logger = deps.logger
  const kinds = archiveKinds(deps.topics)
  const metrics = createMetrics(deps.registry ?? new Registry())
  const stallMs = (deps.stallSeconds ?? 120) * 1000
  const maxLagRecords = deps.maxLagRecords ?? 100_000
  const breaker = new PostgresPolicy({
    ...deps.breaker,
    onStateChange: (state, previous) => {
      metrics.breaker.set(BREAKER_GAUGE[state])
      logger?.[state === 'OPEN' ? 'warn' : 'info']({ state, previous }, `archive circuit breaker ${previous} -> ${state}`)
      deps.breaker?.onStateChange?.(state, previous)
    }
  })
  metrics.breaker.set(0)

  let written = 0
  let lastProgressAt = Date.now()
  let deadLettered = 0
  const deadLetterTopic = new DeadLetterTopic(deps.log, deps.deadLetterTopic ?? `${groupId}-dead-letters`, `${groupId}-dead-letters-${process.pid}`)

  interface Outcome {
    /** Leading rows of the batch now durable (archived or dead-lettered). */
    readonly handled: number
    readonly inserted: number
    /** Rows of `handled` that went to the dead letters instead of the archive. */
    readonly deadLettered: readonly ArchiveRow[]
    /** Set when the rest could not be written now (outage, backoff): retried later. */
    readonly error?: unknown
  }

  /** Writes rows; when the database refuses the data of a batch, bisects it until the refused
   *  rows are alone and dead-letters them, so that the good rows still land. */
  async function writeIsolating (rows: ArchiveRow[]): Promise<Outcome> {
    const end = metrics.batchSeconds.startTimer()
    const span = startArchiveBatchSpan(rows)
    try {
      const inserted = await breaker.execute(() => writeArchiveRows(deps.db, rows))
      end()
      endArchiveBatchSpan(span, inserted)
      return { handled: rows.length, inserted, deadLettered: [] }
    } catch (error) {
      end()
      endArchiveBatchSpan(span, undefined, error)
      if (error instanceof NotAttemptedError || classifyDatabaseError(error) === 'retriable') return { handled: 0, inserted: 0, deadLettered: [], error }
      if (rows.length === 1) return await deadLetter(rows[0]!, refusalOf(error))
      const half = Math.ceil(rows.length / 2)
      const left = await writeIsolating(rows.slice(0, half))
      if (left.error !== undefined) return left
      const right = await writeIsolating(rows.slice(half))
      return { handled: left.handled + right.handled, inserted: left.inserted + right.inserted, deadLettered: [...left.deadLettered, ...right.deadLettered], ...(right.error !== undefined ? { error: right.error } : {}) }
    }
  }

  /** Keeps a refused record in archive_dead_letters, or in the dead-letter topic when the table
   *  refuses it too (anything but an outage: an outage is waited out like any write). */
  async function deadLetter (row: ArchiveRow, refusal: Refusal): Promise<Outcome> {
    let destination = 'archive_dead_letters'
    try {
      await breaker.execute(() => writeArchiveDeadLetter(deps.db, row, refusal))
    } catch (error) {
      if (error instanceof NotAttemptedError || isDatabaseUnreachable(error)) return { handled: 0, inserted: 0, deadLettered: [], error }
      try {
        await deadLetterTopic.send(row, refusal, refusalOf(error))
        destination = deadLetterTopic.topic
      } catch (sendError) {
        return { handled: 0, inserted: 0, deadLettered: [], error: sendError }
      }
    }
    deadLettered++
    metrics.deadLetters.inc({ topic: row.topic, reason: refusal.code })
    logger?.warn({ topic: row.topic, partition: row.partition, offset: String(row.offset), code: refusal.code, reason: refusal.message, destination },
      `archive row refused by PostgreSQL (${refusal.code}): ${row.topic}/${row.partition}@${row.offset} dead-lettered to ${destination}`)
    return { handled: 1, inserted: 0, deadLettered: [row] }
  }

  /** `handled` rows are durable (archived, or dead-lettered): count them. The runner commits. */
  function count (handled: readonly ArchiveRow[], inserted: number, deadLetters: readonly ArchiveRow[]): void {
    written += inserted
    const archived = handled.length - deadLetters.length
    const refused = new Set(deadLetters)
    if (inserted < archived) metrics.duplicates.inc(archived - inserted)
    const perTopic = new Map<string, number>()
    for (const r of handled) if (!refused.has(r)) perTopic.set(r.topic, (perTopic.get(r.topic) ?? 0) + 1)
    // Counted per record archived (inserted now or found already there); dead letters are not.
    for (const [topic, n] of perTopic) metrics.rows.inc({ topic }, n)
  }

  /** The runner's handler: one batch of records into archive_records. */
  async function handle (records: readonly LogRecord[]): Promise<HandleOutcome> {
    metrics.buffered.set(runner.pendingRecords())
    const rows = records.map(record => {
      const kind = kinds.get(record.topic)
      if (kind === undefined) throw new Error(`archiver: record of ${record.topic}, which it does not subscribe to`)
      return toArchiveRow(record, kind)
    })
    const outcome = await writeIsolating(rows)
    if (outcome.handled > 0) count(rows.slice(0, outcome.handled), outcome.inserted, outcome.deadLettered)
    const error = outcome.error
    if (error === undefined) return { handled: outcome.handled }
    if (!(error instanceof NotAttemptedError)) {
      metrics.failures.inc()
      logger?.warn({ err: error, rows: rows.length - outcome.handled, retryInMs: breaker.nextAttemptInMs(), breaker: breaker.state }, `archive write failed: ${(error as Error).message}`)
    }
    return { handled: outcome.handled, error, retryInMs: breaker.nextAttemptInMs() }
  }

  function onLag (lags: readonly PartitionLag[]): void {
    for (const l of lags) metrics.lag.set({ topic: l.topic, partition: String(l.partition) }, l.lag)
    if (runner.lagRecords() === 0) lastProgressAt = Date.now()
    metrics.buffered.set(runner.pendingRecords())
    reportProgress()
  }

  async function measureLag (): Promise<number> {
    await runner.measureLag()
    return runner.lagRecords()
  }

  function progress (): ArchiverProgress {
    const lastLag = runner.lagRecords()
    const sinceMs = lastLag > 0 ? Date.now() - lastProgressAt : 0
    return {
      lagRecords: lastLag,
      secondsSinceProgress: Math.floor(sinceMs / 1000),
      stalled: lastLag > 0 && sinceMs >= stallMs,
      behind: lastLag > maxLagRecords,
      stallSeconds: stallMs / 1000,
      maxLagRecords
    }
  }

  function reportProgress (): void {
    const p = progress()
    metrics.stalled.set(p.stalled || p.behind ? 1 : 0)
    metrics.sinceProgress.set(p.secondsSinceProgress)
  }

  // The handler's functions above read `runner`: they run only once it polled.
  const runner: ConsumerRunner = startConsumerRunner({
    log: deps.log,
    groupId,
    clientId: deps.clientId ?? `${groupId}-${process.pid}`,
    name: 'archiver',
    topics: [...kinds.keys()],
    maxPollRecords: Math.min(batchSize, 1000),
    ...(deps.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: deps.sessionTimeoutMs }),
    handler: {
      handle,
      onReleased: partitions => { for (const tp of partitions) metrics.lag.remove({ topic: tp.topic, partition: String(tp.partition) }) }
    },
    batchMaxRecords: batchSize,
    batchMaxWaitMs: flushIntervalMs,
    maxPendingRecords: maxBuffered,
    // Waits come from the breaker (retryInMs: its backoff, its open period); the runner's own
    // backoff only spaces out the attempts it lets through.
    retry: { initialDelayMs: 10, maxDelayMs: 1000 },
    commitIntervalMs: 0,
    closeGraceMs: Infinity,
    lagIntervalMs,
    ...(deps.registry === undefined ? {} : { registry: deps.registry }),
    ...(logger === undefined ? {} : { logger }),
    onCommitted: () => {
      lastProgressAt = Date.now()
      metrics.buffered.set(runner.pendingRecords())
    },
    onLag,
    onFatal: error => deps.onFatal?.(error)
  })

  let closed = false
  return {
    lagRecords: () => runner.lagRecords(),
    measureLag,
    rowsWritten: () => written,
    breakerState: () => breaker.state,
    deadLettered: () => deadLettered,
    progress,
    joined: () => runner.joined(),
    ready: runner.ready,
    async close (): Promise<void> {
      if (closed) return
      closed = true
      try {
        await runner.close()
      } finally {
        metrics.buffered.set(0)
        await deadLetterTopic.close()
      }
    }
  }
}
