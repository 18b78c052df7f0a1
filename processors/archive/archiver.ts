// The archiver: a consumer group (read-committed, as every group consumer of the log port) over
// the six platform topics, writing every record to PostgreSQL (archive_records).
//
// Guarantees and bounds:
// - Exactly one row per record: rows are inserted with ON CONFLICT (topic, partition, offset) DO
//   NOTHING, and offsets are committed only after the insert returned (the rows are durable). A
//   crash between the two re-reads the batch, which inserts nothing new.
// - Bounded memory: at most maxBufferedRecords rows are held; when full, or while PostgreSQL is
//   failing, every assigned partition is paused and the loop keeps polling (staying in the group,
//   answering rebalances) without fetching.
// - PostgreSQL down: writes are retried with exponential backoff behind a circuit breaker
//   (lib/resilience/postgres-policy.ts); nothing is committed meanwhile, so nothing is lost; when
//   it is back the buffer is written and the partitions resume: the archiver catches up.
// - A row PostgreSQL refuses (a data error, not an outage: lib/db/database-errors.ts) cannot wedge
//   it: the failed batch is bisected until the refused rows are alone, the good rows land, each
//   refused record goes to archive_dead_letters (or, refused there too, to a dead-letter topic) and
//   the offsets move past it (docs/archive.md, "Rows the database refuses").
// - Stuck or behind: progress() says whether the durable offsets have not moved for stallSeconds
//   while lag > 0, or lag is above maxLagRecords; readiness shows it (degraded, with the reason).
// - Rebalance: on revoke the buffer is flushed (one attempt) and committed; rows that could not be
//   written are dropped (their offsets were not committed: the next owner re-reads them).
// - Archive lag (records in the log not yet durable in the archive, per assigned partition) is
//   the `rewards_archive_lag_records` gauge and lagRecords().
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { isRewardsError } from '../../lib/errors.ts'
import { endArchiveBatchSpan, startArchiveBatchSpan } from '../../lib/tracing/archive-batch-span.ts'
import type { Logger } from '../../lib/logger.ts'
import type { Database } from '../../lib/db/database.ts'
import type { GroupConsumer, Log, LogRecord, PartitionOffset, TopicPartition } from '../../topology/index.ts'
import type { RewardsTopics } from '../rewards/topics.ts'
import { archiveKinds, toArchiveRow, type ArchiveRow } from './archive-row.ts'
import { writeArchiveRows } from './archive-writer.ts'
import { DeadLetterTopic, refusalOf, writeArchiveDeadLetter, type Refusal } from './archive-dead-letters.ts'
import { classifyDatabaseError, isDatabaseUnreachable } from '../../lib/db/database-errors.ts'
import { kafkaPolicy } from '../../lib/resilience/kafka-policy.ts'
import type { IBackoff } from 'cockatiel'
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

const tpKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`

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

  let buffer: ArchiveRow[] = []
  let firstBufferedAt = 0
  let closing = false
  let paused = false
  let written = 0
  let lastLag = 0
  let lastLagAt = 0
  let lastProgressAt = Date.now()
  let pollBackoff: IBackoff<unknown> | undefined
  let deadLettered = 0
  const deadLetterTopic = new DeadLetterTopic(deps.log, deps.deadLetterTopic ?? `${groupId}-dead-letters`, `${groupId}-dead-letters-${process.pid}`)
  /** Next offset not yet durable in the archive, per assigned partition. */
  const durable = new Map<string, PartitionOffset>()
  let markReady: () => void = () => {}
  const ready = new Promise<void>(resolve => { markReady = resolve })

  const consumer: GroupConsumer = deps.log.createGroupConsumer({
    groupId,
    clientId: deps.clientId ?? `${groupId}-${process.pid}`,
    topics: [...kinds.keys()],
    maxPollRecords: Math.min(batchSize, 1000),
    ...(deps.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: deps.sessionTimeoutMs }),
    listener: {
      async onPartitionsRevoked (partitions) {
        await flush()
        dropBuffered(partitions)
        for (const tp of partitions) forget(tp)
      },
      async onPartitionsAssigned (partitions) {
        for (const tp of partitions) durable.set(tpKey(tp), { ...tp, offset: consumer.position(tp) })
        paused = false
        markReady()
        logger?.info({ partitions: partitions.length }, `archiver assigned ${partitions.length} partition(s)`)
      },
      async onPartitionsLost (partitions) {
        dropBuffered(partitions)
        for (const tp of partitions) forget(tp)
      }
    }
  })

  function forget (tp: TopicPartition): void {
    durable.delete(tpKey(tp))
    metrics.lag.remove({ topic: tp.topic, partition: String(tp.partition) })
  }

  function dropBuffered (partitions: TopicPartition[]): void {
    if (buffer.length === 0) return
    const gone = new Set(partitions.map(tpKey))
    buffer = buffer.filter(r => !gone.has(tpKey(r)))
    metrics.buffered.set(buffer.length)
  }

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

  /** The first `handled` rows of the buffer are durable: count them, drop them, commit. */
  async function settle (handled: ArchiveRow[], inserted: number, deadLetters: readonly ArchiveRow[]): Promise<void> {
    written += inserted
    const archived = handled.length - deadLetters.length
    const refused = new Set(deadLetters)
    if (inserted < archived) metrics.duplicates.inc(archived - inserted)
    const perTopic = new Map<string, number>()
    const next = new Map<string, PartitionOffset>()
    for (const r of handled) {
      if (!refused.has(r)) perTopic.set(r.topic, (perTopic.get(r.topic) ?? 0) + 1)
      next.set(tpKey(r), { topic: r.topic, partition: r.partition, offset: r.offset + 1n })
    }
    // Counted per record archived (inserted now or found already there); dead letters are not.
    for (const [topic, n] of perTopic) metrics.rows.inc({ topic }, n)
    buffer = buffer.slice(handled.length)
    firstBufferedAt = buffer.length > 0 ? Date.now() : 0
    metrics.buffered.set(buffer.length)
    const offsets = [...next.values()]
    try {
      await consumer.commitOffsets(offsets)
    } catch (error) {
      // Rows are durable; a lost commit only means re-reading them (no duplicates: ON CONFLICT).
      logger?.warn({ err: error }, `archive offset commit failed: ${(error as Error).message}`)
    }
    for (const o of offsets) {
      const k = tpKey(o)
      if (durable.has(k)) durable.set(k, o)
    }
    lastProgressAt = Date.now()
  }

  /** Writes the buffer in batches; commits the offsets of what was written. A failure is not
   *  retried here (the loop retries after the breaker's backoff; a rebalance or shutdown takes what
   *  landed). Returns true when the buffer is empty afterwards. */
  async function flush (): Promise<boolean> {
    while (buffer.length > 0) {
      if (!breaker.canAttempt()) return false
      const batch = buffer.slice(0, batchSize)
      const outcome = await writeIsolating(batch)
      if (outcome.handled > 0) await settle(batch.slice(0, outcome.handled), outcome.inserted, outcome.deadLettered)
      if (outcome.error !== undefined) {
        const error = outcome.error
        if (!(error instanceof NotAttemptedError)) {
          metrics.failures.inc()
          logger?.warn({ err: error, rows: batch.length - outcome.handled, retryInMs: breaker.nextAttemptInMs(), breaker: breaker.state }, `archive write failed: ${(error as Error).message}`)
        }
        return false
      }
    }
    return true
  }

  /** With nothing buffered, everything up to each partition's read position is archived: commit
   *  the positions that passed the durable offset. They move past records only through control
   *  records (transaction markers), which carry no data but count as offsets; without this the
   *  archive lag of a transactional topic would never reach 0. */
  async function advancePastControlRecords (): Promise<void> {
    const offsets: PartitionOffset[] = []
    for (const at of durable.values()) {
      let position: bigint
      try {
        position = consumer.position(at)
      } catch {
        continue // no longer assigned
      }
      if (position > at.offset) offsets.push({ topic: at.topic, partition: at.partition, offset: position })
    }
    if (offsets.length === 0) return
    try {
      await consumer.commitOffsets(offsets)
      for (const o of offsets) durable.set(tpKey(o), o)
      lastProgressAt = Date.now()
    } catch (error) {
      logger?.warn({ err: error }, `archive offset commit failed: ${(error as Error).message}`)
    }
  }

  async function measureLag (): Promise<number> {
    const assigned = [...durable.values()]
    if (assigned.length === 0) {
      lastLag = 0
      lastProgressAt = Date.now()
      return 0
    }
    const ends = await deps.log.admin.listOffsets(assigned.map(({ topic, partition }) => ({ topic, partition })), 'latest')
    let total = 0
    for (const end of ends) {
      const at = durable.get(tpKey(end))
      if (at === undefined) continue
      const lag = end.offset > at.offset ? Number(end.offset - at.offset) : 0
      total += lag
      metrics.lag.set({ topic: end.topic, partition: String(end.partition) }, lag)
    }
    lastLag = total
    if (total === 0) lastProgressAt = Date.now()
    lastLagAt = Date.now()
    return total
  }

  function progress (): ArchiverProgress {
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

  async function loop (): Promise<void> {
    while (!closing) {
      reportProgress()
      const mustPause = buffer.length >= maxBuffered || (buffer.length > 0 && breaker.state !== 'CLOSED')
      if (mustPause !== paused) {
        const assigned = consumer.assignment()
        if (mustPause) consumer.pause(assigned)
        else consumer.resume(assigned)
        paused = mustPause
      } else if (paused) {
        consumer.pause(consumer.assignment()) // partitions assigned since
      }
      const waitMs = buffer.length === 0 ? 500 : Math.max(10, Math.min(flushIntervalMs, breaker.nextAttemptInMs() || flushIntervalMs))
      let records: LogRecord[]
      try {
        records = await consumer.poll(waitMs)
      } catch (error) {
        // A retriable log error (broker unreachable, rebalance in progress) is waited out; the
        // buffer and the committed offsets are unaffected. Anything else stops the archiver.
        if (closing || !isRewardsError(error) || !error.retriable) throw error
        pollBackoff = (pollBackoff ?? kafkaPolicy.pollBackoff).next(undefined)
        logger?.warn({ err: error }, `archiver poll failed (${error.code}), retrying in ${Math.round(pollBackoff.duration)} ms`)
        await new Promise(resolve => setTimeout(resolve, pollBackoff!.duration))
        continue
      }
      pollBackoff = undefined
      for (const record of records) {
        const kind = kinds.get(record.topic)
        if (kind === undefined) continue
        if (buffer.length === 0) firstBufferedAt = Date.now()
        buffer.push(toArchiveRow(record, kind))
      }
      metrics.buffered.set(buffer.length)
      if (buffer.length >= batchSize || (buffer.length > 0 && Date.now() - firstBufferedAt >= flushIntervalMs)) {
        await flush()
      }
      if (buffer.length === 0) await advancePastControlRecords()
      if (Date.now() - lastLagAt >= lagIntervalMs) {
        try {
          await measureLag()
        } catch (error) {
          lastLagAt = Date.now()
          logger?.debug({ err: error }, 'archive lag measurement failed')
        }
      }
    }
  }

  const running = loop().catch(error => {
    if (closing) return
    logger?.error({ err: error }, `archiver stopped: ${(error as Error).message}`)
    deps.onFatal?.(error)
  })

  return {
    lagRecords: () => lastLag,
    measureLag,
    rowsWritten: () => written,
    breakerState: () => breaker.state,
    deadLettered: () => deadLettered,
    progress,
    joined: () => consumer.groupMetadata() !== null,
    ready,
    async close (): Promise<void> {
      if (closing) return
      closing = true
      await running
      if (buffer.length > 0) {
        const done = await flush()
        if (!done) logger?.warn({ rows: buffer.length }, 'archiver closing with rows not written (PostgreSQL unavailable): they will be re-read on the next start')
      }
      await consumer.close()
      await deadLetterTopic.close()
    }
  }
}
