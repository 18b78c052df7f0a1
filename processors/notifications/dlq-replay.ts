// Replaying the notifications DLQ to one endpoint (`rewards notifications replay-dlq`, docs/
// notifications.md): reads `notifications-dlq`, keeps the records dead-lettered for that endpoint,
// and sends each again straight to it — the same body and the same idempotency key as the original
// attempts (so the partner dedupes anything it did receive), freshly signed, through the endpoint's
// own policies (endpoint-delivery.ts: concurrency, retries, circuit breaker, time budget).
//
// Why send from here rather than re-publish for the notifications role: re-publishing to the
// confirmed topics would notify every other endpoint again and feed the archiver duplicates, and a
// retry topic for the role would give no answer to the operator; sending here reports each
// outcome as it happens and stops at once when the partner fails again, having passed nothing it
// did not deliver.
//
// Progress is kept as committed offsets of a consumer group per endpoint
// (`<application-id>-notifications-replay-<endpoint>`, which never has members: the DLQ is read
// with a partition reader and the offsets set when records settle). A record counts as settled
// when delivered (2xx), refused by the partner (non-retriable 4xx: it stays in the DLQ, reported),
// not replayable (not a notification), or dead-lettered for another endpoint; offsets never pass
// an unsettled record (the engine's OffsetTracker). So a re-run sends nothing already replayed, and a run
// that stops or crashes resends at most what was in flight (at least once; the partner dedupes).
// Each run reads up to the DLQ's end as it was when the run began.
import { Registry } from 'prom-client'
import { RewardsError } from '../../lib/errors.ts'
import type { Logger } from '../../lib/logger.ts'
import { OffsetTracker, type Log, type LogRecord, type PartitionOffset, type TopicPartition } from '../../topology/index.ts'
import { EndpointDelivery } from './endpoint-delivery.ts'
import { NOTIFICATION_KINDS, type EndpointConfig, type NotificationKind } from '../../lib/notifications-config.ts'
import { NOTIFICATION_DLQ_HEADERS as H } from './notifications-dlq.ts'
import { notificationsMetrics } from './notifications-metrics.ts'
import { idempotencyKey, notificationBody, notificationOf } from './notification-routing.ts'

export interface DlqReplayOptions {
  readonly log: Log
  /** The (prefixed) notifications DLQ topic. */
  readonly dlqTopic: string
  readonly endpoint: EndpointConfig
  /** Where progress is kept; see replayGroupId(). */
  readonly groupId: string
  /** Count what would be sent; send nothing, commit nothing. */
  readonly dryRun?: boolean
  /** Replay at most this many of the endpoint's records in this run. */
  readonly limit?: number
  /** Aborts the run (e.g. SIGINT): what is delivered is committed, the rest left for next time. */
  readonly signal?: AbortSignal
  readonly logger?: Logger
  /** DLQ records read so far (every endpoint's) of those this run has to read. */
  readonly onProgress?: (read: number, total: number) => void
  /** A record of the endpoint that was not delivered but passed (refused, not replayable). */
  readonly onSkipped?: (skipped: SkippedRecord) => void
  /** Default 1000 ms. */
  readonly commitIntervalMs?: number
}

export interface SkippedRecord {
  readonly why: 'refused' | 'unreplayable'
  readonly detail: string
  /** Where it came from: `<topic>/<partition>@<offset>` of the confirmed record, and of the DLQ record. */
  readonly source: string
  readonly dlq: string
}

export interface DlqReplayResult {
  readonly endpointId: string
  /** DLQ records read in this run (every endpoint's), of `total` between its progress and the end. */
  readonly read: number
  readonly total: number
  /** Delivered again (dry run: would be sent). */
  readonly replayed: number
  /** Refused by the partner (non-retriable 4xx): passed, still in the DLQ. */
  readonly refused: number
  /** Not a notification (MALFORMED): passed, still in the DLQ. */
  readonly unreplayable: number
  /** Records of other endpoints passed, per endpoint id. */
  readonly otherEndpoints: ReadonlyMap<string, number>
  /** Why the run stopped before the end (the endpoint failed again, interrupted), or null. */
  readonly stopped: string | null
  /** --limit was reached before the end. */
  readonly limited: boolean
}

/** The group that keeps an endpoint's replay progress. */
export function replayGroupId (applicationId: string, endpointId: string): string {
  return `${applicationId}-notifications-replay-${endpointId}`
}

const tpKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`
const header = (record: LogRecord, name: string): string | undefined => record.headers[name]?.toString('utf8')
const isKind = (value: string | undefined): value is NotificationKind => (NOTIFICATION_KINDS as readonly string[]).includes(value ?? '')

export async function replayDlq (options: DlqReplayOptions): Promise<DlqReplayResult> {
  const { log, dlqTopic, endpoint, groupId } = options
  const dryRun = options.dryRun === true
  const limit = options.limit ?? Number.POSITIVE_INFINITY
  const commitIntervalMs = options.commitIntervalMs ?? 1000

  const [described] = await log.admin.describeTopics([dlqTopic])
  if (described === undefined) throw new RewardsError('LOG_TOPIC_NOT_FOUND', `topic ${dlqTopic} does not exist (nothing was ever dead-lettered, or another --topic-prefix)`)
  const partitions: TopicPartition[] = Array.from({ length: described.partitions }, (_, partition) => ({ topic: dlqTopic, partition }))
  const [earliest, latest, committedAtStart] = await Promise.all([
    log.admin.listOffsets(partitions, 'earliest'),
    log.admin.listOffsets(partitions, 'latest'),
    log.admin.listCommittedOffsets(groupId, partitions)
  ])
  const first = new Map(earliest.map(o => [tpKey(o), o.offset]))
  const committed = new Map(committedAtStart.map(o => [tpKey(o), o.offset]))
  /** Where this run starts (committed, or the log start when none or when retention passed it)
   *  and where it ends (the DLQ's end now). */
  const from = new Map<string, bigint>()
  const end = new Map(latest.map(o => [tpKey(o), o.offset]))
  let total = 0
  for (const tp of partitions) {
    const start = committed.get(tpKey(tp)) ?? 0n
    const lowest = first.get(tpKey(tp)) ?? 0n
    from.set(tpKey(tp), start > lowest ? start : lowest)
    const left = (end.get(tpKey(tp)) ?? 0n) - from.get(tpKey(tp))!
    if (left > 0n) total += Number(left)
  }

  let read = 0
  let replayed = 0
  let refused = 0
  let unreplayable = 0
  let matched = 0
  let limited = false
  let stopped: string | null = null
  const otherEndpoints = new Map<string, number>()
  options.onProgress?.(0, total)
  const result = (): DlqReplayResult => ({ endpointId: endpoint.id, read, total, replayed, refused, unreplayable, otherEndpoints, stopped, limited })
  if (total === 0) return result()

  const stop = new AbortController()
  const halt = (why: string): void => {
    if (stopped !== null) return
    stopped = why
    stop.abort()
  }
  const onSignal = (): void => halt('interrupted')
  if (options.signal?.aborted === true) halt('interrupted')
  options.signal?.addEventListener('abort', onSignal, { once: true })

  const delivery = new EndpointDelivery(endpoint, notificationsMetrics(new Registry()), options.logger)
  // The partner failing again (its circuit opens): stop at once instead of retrying for its whole
  // time budget; what is in flight is aborted and stays for the next run.
  const unwatch = delivery.onCircuitChange(state => {
    if (state === 'OPEN') halt(`${endpoint.id} is failing again: its circuit opened (last error: ${delivery.lastError ?? 'unknown'})`)
  })
  const tracker = new OffsetTracker()
  const inFlight = new Set<Promise<void>>()
  const reader = log.createPartitionReader({ clientId: `${groupId}-${process.pid}` })
  let lastCommitAt = Date.now()

  async function commit (): Promise<void> {
    lastCommitAt = Date.now()
    if (dryRun) return
    const offsets: PartitionOffset[] = []
    for (const tp of partitions) {
      const key = tpKey(tp)
      const upTo = end.get(key) ?? 0n
      if (from.get(key)! >= upTo) continue
      let next = tracker.committable(tp, reader.position(tp))
      if (next > upTo) next = upTo // records past the snapshot were not looked at
      if (next > (committed.get(key) ?? -1n)) offsets.push({ topic: tp.topic, partition: tp.partition, offset: next })
    }
    if (offsets.length === 0) return
    await log.admin.alterCommittedOffsets(groupId, offsets)
    for (const o of offsets) committed.set(tpKey(o), o.offset)
  }

  function handle (record: LogRecord): void {
    const target = header(record, H.endpoint)
    if (target !== endpoint.id) {
      const id = target ?? '(none)'
      otherEndpoints.set(id, (otherEndpoints.get(id) ?? 0) + 1)
      tracker.settle(record, record.offset)
      return
    }
    matched++
    const source = `${header(record, H.topic) ?? '?'}/${header(record, H.partition) ?? '?'}@${header(record, H.offset) ?? '?'}`
    const dlq = `${record.topic}/${record.partition}@${record.offset}`
    const kind = header(record, H.kind)
    const notification = isKind(kind) ? notificationOf(record, kind) : { error: `no notification kind (${H.kind}: ${kind ?? 'absent'})` }
    if ('error' in notification) {
      unreplayable++
      options.onSkipped?.({ why: 'unreplayable', detail: notification.error, source, dlq })
      tracker.settle(record, record.offset)
      return
    }
    // The key the endpoint saw (computed the same way, should the header be missing).
    const key = header(record, H.idempotencyKey) ?? idempotencyKey(notification.kind, notification.memberId, notification.id, endpoint.id)
    if (dryRun) {
      replayed++
      tracker.settle(record, record.offset)
      return
    }
    const running: Promise<void> = delivery.deliver({ kind: notification.kind, idempotencyKey: key, body: notificationBody(key, notification), recordHeaders: record.headers, signal: stop.signal })
      .then(outcome => {
        if (outcome.result === 'aborted') return
        if (outcome.result === 'delivered') {
          replayed++
        } else if (outcome.reason === 'REFUSED') {
          refused++
          options.onSkipped?.({ why: 'refused', detail: outcome.error, source, dlq })
        } else {
          halt(`${endpoint.id} is failing again: ${outcome.error} (${outcome.reason}, ${outcome.attempts} attempt(s))`)
          return
        }
        tracker.settle(record, record.offset)
      })
      .finally(() => inFlight.delete(running))
    inFlight.add(running)
  }

  try {
    reader.assign(partitions.filter(tp => from.get(tpKey(tp))! < (end.get(tpKey(tp)) ?? 0n)).map(tp => ({ ...tp, offset: from.get(tpKey(tp))! })))
    const atEnd = (tp: TopicPartition): boolean => from.get(tpKey(tp))! >= (end.get(tpKey(tp)) ?? 0n) || reader.position(tp) >= end.get(tpKey(tp))!
    while (stopped === null && !limited && !partitions.every(atEnd)) {
      const records = await reader.poll(500)
      for (const record of records) {
        if (record.offset >= (end.get(tpKey(record)) ?? 0n)) continue // arrived after the run began
        tracker.track(record, record.offset)
        if (limited || stopped !== null) continue // left pending: the next run starts here
        if (header(record, H.endpoint) === endpoint.id) {
          if (matched >= limit) { limited = true; continue }
          // The endpoint's own concurrency (its queue is not needed here).
          while (inFlight.size >= endpoint.concurrency) await Promise.race(inFlight)
          if (stopped !== null) continue
        }
        read++
        handle(record)
      }
      options.onProgress?.(read, total)
      if (Date.now() - lastCommitAt >= commitIntervalMs) await commit()
    }
    await Promise.allSettled([...inFlight])
    await commit()
    options.onProgress?.(read, total)
    return result()
  } finally {
    stop.abort()
    unwatch()
    options.signal?.removeEventListener('abort', onSignal)
    await Promise.allSettled([...inFlight])
    await reader.close()
  }
}
