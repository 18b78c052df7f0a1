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
//   (circuit-breaker.ts); nothing is committed meanwhile, so nothing is lost; when it is back the
//   buffer is written and the partitions resume: the archiver catches up.
// - Rebalance: on revoke the buffer is flushed (one attempt) and committed; rows that could not be
//   written are dropped (their offsets were not committed: the next owner re-reads them).
// - Archive lag (records in the log not yet durable in the archive, per assigned partition) is
//   the `rewards_archive_lag_records` gauge and lagRecords().
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { isRewardsError } from '../../lib/errors.ts'
import { endArchiveBatchSpan, startArchiveBatchSpan } from '../../lib/tracing/archive-batch-span.ts'
import type { Logger } from '../../lib/logger.ts'
import type { Database } from '../../lib/db/database.ts'
import type { GroupConsumer, Log, LogRecord, PartitionOffset, TopicPartition } from '../../log/log-port.ts'
import type { RewardsTopics } from '../rewards/topics.ts'
import { archiveKinds, toArchiveRow, type ArchiveRow } from './archive-row.ts'
import { writeArchiveRows } from './archive-writer.ts'
import { CircuitBreaker, type BreakerState, type CircuitBreakerOptions } from './circuit-breaker.ts'

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
  readonly breaker?: CircuitBreakerOptions
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
  /** In its consumer group (possibly with no partition, when there are more archivers than
   *  partitions). */
  joined (): boolean
  /** Resolves once the archiver has joined its group (first assignment). */
  readonly ready: Promise<void>
  /** Flushes what is buffered (when PostgreSQL answers), commits, leaves the group. */
  close (): Promise<void>
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
      buffered: registry.getSingleMetric('rewards_archive_buffered_records') as Gauge
    }
  }
  return {
    rows: new Counter({ name: 'rewards_archive_rows_total', help: 'Rows inserted into the archive, by topic', labelNames: ['topic'], registers }),
    duplicates: new Counter({ name: 'rewards_archive_duplicate_rows_total', help: 'Records re-read after a restart that were already archived (not inserted again)', registers }),
    failures: new Counter({ name: 'rewards_archive_write_failures_total', help: 'Failed archive batch writes (retried)', registers }),
    lag: new Gauge({ name: 'rewards_archive_lag_records', help: 'Records in the log not yet durable in the archive, per assigned partition (per instance: sum)', labelNames: ['topic', 'partition'], registers }),
    breaker: new Gauge({ name: 'rewards_archive_circuit_state', help: 'Circuit breaker around PostgreSQL: 0 closed, 1 half-open, 2 open', registers }),
    batchSeconds: new Histogram({ name: 'rewards_archive_batch_write_seconds', help: 'Time to write one archive batch', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers }),
    buffered: new Gauge({ name: 'rewards_archive_buffered_records', help: 'Records read and not yet durable in the archive', registers })
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
  const breaker = new CircuitBreaker({
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
        await flush(true)
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

  /** Writes the buffer in batches; commits the offsets of what was written. With `once`, a failure
   *  is not retried (rebalance, shutdown). Returns true when the buffer is empty afterwards. */
  async function flush (once: boolean): Promise<boolean> {
    while (buffer.length > 0) {
      if (!breaker.canAttempt()) return false
      const batch = buffer.slice(0, batchSize)
      const end = metrics.batchSeconds.startTimer()
      const span = startArchiveBatchSpan(batch)
      let inserted: number
      try {
        inserted = await writeArchiveRows(deps.db, batch)
        endArchiveBatchSpan(span, inserted)
      } catch (error) {
        end()
        endArchiveBatchSpan(span, undefined, error)
        metrics.failures.inc()
        breaker.recordFailure()
        logger?.warn({ err: error, rows: batch.length, retryInMs: breaker.nextAttemptInMs(), breaker: breaker.state }, `archive write failed: ${(error as Error).message}`)
        if (once) return false
        return false
      }
      end()
      breaker.recordSuccess()
      written += inserted
      if (inserted < batch.length) metrics.duplicates.inc(batch.length - inserted)
      const perTopic = new Map<string, number>()
      const next = new Map<string, PartitionOffset>()
      for (const r of batch) {
        perTopic.set(r.topic, (perTopic.get(r.topic) ?? 0) + 1)
        next.set(tpKey(r), { topic: r.topic, partition: r.partition, offset: r.offset + 1n })
      }
      // Counted per record archived (inserted now or found already there).
      for (const [topic, n] of perTopic) metrics.rows.inc({ topic }, n)
      buffer = buffer.slice(batch.length)
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
    } catch (error) {
      logger?.warn({ err: error }, `archive offset commit failed: ${(error as Error).message}`)
    }
  }

  async function measureLag (): Promise<number> {
    const assigned = [...durable.values()]
    if (assigned.length === 0) {
      lastLag = 0
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
    lastLagAt = Date.now()
    return total
  }

  async function loop (): Promise<void> {
    while (!closing) {
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
        logger?.warn({ err: error }, `archiver poll failed (${error.code}), retrying in 1 s`)
        await new Promise(resolve => setTimeout(resolve, 1000))
        continue
      }
      for (const record of records) {
        const kind = kinds.get(record.topic)
        if (kind === undefined) continue
        if (buffer.length === 0) firstBufferedAt = Date.now()
        buffer.push(toArchiveRow(record, kind))
      }
      metrics.buffered.set(buffer.length)
      if (buffer.length >= batchSize || (buffer.length > 0 && Date.now() - firstBufferedAt >= flushIntervalMs)) {
        await flush(false)
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
    joined: () => consumer.groupMetadata() !== null,
    ready,
    async close (): Promise<void> {
      if (closing) return
      closing = true
      await running
      if (buffer.length > 0) {
        const done = await flush(true)
        if (!done) logger?.warn({ rows: buffer.length }, 'archiver closing with rows not written (PostgreSQL unavailable): they will be re-read on the next start')
      }
      await consumer.close()
    }
  }
}
