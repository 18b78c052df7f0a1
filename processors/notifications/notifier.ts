// The notifier: a consumer group (`<application-id>-notifications`, read-committed like every
// group consumer of the log port, so it works on Kafka and on the embedded log) over
// reward-confirmed and redeem-confirmed, delivering each record to the endpoints it is routed to
// (notification-routing.ts), each endpoint with its own concurrency, retries and circuit breaker
// (endpoint-delivery.ts).
//
// Guarantees and bounds:
// - At-least-once: offsets are committed (every commitIntervalMs, on revoke and on close) only up
//   to records that every routed endpoint has settled: delivered (2xx) or written to the
//   notifications DLQ (offset-tracker.ts). A crash redelivers what was not settled; the receiver
//   dedupes on the idempotency key, stable for a (record, endpoint).
// - Isolation from the processor: its own consumer group reading the processor's committed output,
//   so a slow partner never slows the stream application.
// - Isolation between endpoints, within a bound: each endpoint holds at most concurrency +
//   maxQueued deliveries. When any endpoint has less room than one poll can bring
//   (maxPollRecords), every assigned partition is paused (the loop keeps polling, staying in the
//   group) until it drains; healthy endpoints meanwhile finish what they hold. A dead endpoint
//   drains by its time budget (maxDeliveryMs, endpoint-delivery.ts): what it holds is
//   dead-lettered at most maxDeliveryMs (+ one timeoutMs) after its outage began, and from then on
//   its new deliveries are dead-lettered at once while it stays down. So a dead endpoint delays
//   the others by at most maxDeliveryMs + timeoutMs per outage (plus the DLQ writes).
// - Rebalance: revoked partitions' settled offsets are committed, their deliveries aborted (the
//   new owner redelivers them). Close waits closeGraceMs for deliveries in flight, then aborts.
import { Registry } from 'prom-client'
import { isRewardsError } from '../../lib/errors.ts'
import type { Logger } from '../../lib/logger.ts'
import type { GroupConsumer, Log, LogProducer, LogRecord, PartitionOffset, TopicPartition } from '../../topology/index.ts'
import { EndpointDelivery, type BreakerStateName } from './endpoint-delivery.ts'
import type { EndpointConfig, NotificationKind } from '../../lib/notifications-config.ts'
import { notificationDlqHeaders, type DeadLetterReason } from './notifications-dlq.ts'
import { notificationsMetrics, type NotificationsMetrics } from './notifications-metrics.ts'
import { idempotencyKey, notificationBody, notificationOf, routes } from './notification-routing.ts'
import { OffsetTracker } from './offset-tracker.ts'

export interface NotifierDeps {
  readonly log: Log
  /** The (prefixed) topic names to consume. */
  readonly topics: { readonly rewardConfirmed: string, readonly redeemConfirmed: string }
  /** The (prefixed) notifications DLQ topic. */
  readonly dlqTopic: string
  readonly endpoints: readonly EndpointConfig[]
  /** Consumer group; default `<applicationId>-notifications`. */
  readonly groupId?: string
  readonly applicationId?: string
  readonly clientId?: string
  readonly registry?: Registry
  readonly logger?: Logger
  /** Default 1000 ms. */
  readonly commitIntervalMs?: number
  /** How long close() waits for deliveries in flight; default 5000 ms. */
  readonly closeGraceMs?: number
  /** Records per poll at most (and the room every endpoint must have to poll); default 100. */
  readonly maxPollRecords?: number
  readonly sessionTimeoutMs?: number
  /** Called when the notifier can no longer work (e.g. the consumer failed for good). */
  readonly onFatal?: (error: unknown) => void
}

export interface Notifier {
  /** Resolves once the notifier has joined its group (first assignment). */
  readonly ready: Promise<void>
  joined (): boolean
  breakerState (endpointId: string): BreakerStateName | undefined
  /** Deliveries (record × endpoint) not settled yet. */
  pendingDeliveries (): number
  /** Records settled per endpoint since start (delivered or dead-lettered). */
  settled (): number
  /** Commits what is settled now (tests, shutdown). */
  commit (): Promise<void>
  /** Waits closeGraceMs for deliveries in flight, aborts the rest, commits, leaves the group. */
  close (): Promise<void>
}

const tpKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

export async function startNotifier (deps: NotifierDeps): Promise<Notifier> {
  const groupId = deps.groupId ?? `${deps.applicationId ?? 'rewards'}-notifications`
  const commitIntervalMs = deps.commitIntervalMs ?? 1000
  const closeGraceMs = deps.closeGraceMs ?? 5000
  const logger = deps.logger
  const metrics: NotificationsMetrics = notificationsMetrics(deps.registry ?? new Registry())
  const maxPollRecords = Math.max(1, Math.min(deps.maxPollRecords ?? 100, ...deps.endpoints.map(e => e.maxQueued)))
  const kinds = new Map<string, NotificationKind>([[deps.topics.rewardConfirmed, 'reward-confirmed'], [deps.topics.redeemConfirmed, 'redeem-confirmed']])
  const deliveries = deps.endpoints.map(e => new EndpointDelivery(e, metrics, logger))
  const tracker = new OffsetTracker()
  /** Per assigned partition: aborts its deliveries when it is revoked or lost. */
  const aborts = new Map<string, AbortController>()
  const committed = new Map<string, bigint>()
  const inFlight = new Set<Promise<void>>()
  let settledCount = 0
  let closing = false
  let paused = false
  let lastCommitAt = Date.now()
  let markReady: () => void = () => {}
  const ready = new Promise<void>(resolve => { markReady = resolve })
  const stopping = new AbortController()

  const producer: LogProducer = await deps.log.createProducer({ clientId: `${groupId}-dlq-${process.pid}` })

  const consumer: GroupConsumer = deps.log.createGroupConsumer({
    groupId,
    clientId: deps.clientId ?? `${groupId}-${process.pid}`,
    topics: [...kinds.keys()],
    maxPollRecords,
    ...(deps.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: deps.sessionTimeoutMs }),
    listener: {
      async onPartitionsRevoked (partitions) {
        await commit(partitions)
        release(partitions)
      },
      async onPartitionsAssigned (partitions) {
        for (const tp of partitions) {
          aborts.set(tpKey(tp), new AbortController())
          committed.set(tpKey(tp), consumer.position(tp))
        }
        paused = false
        markReady()
        logger?.info({ partitions: partitions.length }, `notifier assigned ${partitions.length} partition(s)`)
      },
      async onPartitionsLost (partitions) {
        release(partitions)
      }
    }
  })

  function release (partitions: TopicPartition[]): void {
    for (const tp of partitions) {
      aborts.get(tpKey(tp))?.abort()
      aborts.delete(tpKey(tp))
      committed.delete(tpKey(tp))
      tracker.forget(tp)
    }
  }

  /** Commits, for the given partitions (default: every assigned one), what is settled. */
  async function commit (partitions: TopicPartition[] = consumer.assignment()): Promise<void> {
    const offsets: PartitionOffset[] = []
    for (const tp of partitions) {
      const at = committed.get(tpKey(tp))
      if (at === undefined) continue
      let position: bigint
      try {
        position = consumer.position(tp)
      } catch {
        continue // no longer assigned
      }
      const next = tracker.committable(tp, position)
      if (next > at) offsets.push({ topic: tp.topic, partition: tp.partition, offset: next })
    }
    lastCommitAt = Date.now()
    if (offsets.length > 0) {
      try {
        await consumer.commitOffsets(offsets)
        for (const o of offsets) if (committed.has(tpKey(o))) committed.set(tpKey(o), o.offset)
      } catch (error) {
        // Nothing is lost: the same offsets are committed next time (or re-read by the next owner).
        logger?.warn({ err: error }, `notifications offset commit failed: ${(error as Error).message}`)
      }
    }
    let lag = 0
    for (const tp of consumer.assignment()) {
      const at = committed.get(tpKey(tp))
      const end = consumer.endOffset(tp)
      if (at !== undefined && end !== undefined && end > at) lag += Number(end - at)
    }
    metrics.lag.set(lag)
  }

  /** Writes one dead letter, retrying (1 s … 30 s) until it is durable or the delivery is aborted.
   *  Returns false when aborted. */
  async function deadLetter (record: LogRecord, reason: DeadLetterReason, signal: AbortSignal): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) return false
      try {
        await producer.send([{ topic: deps.dlqTopic, key: record.key, value: record.value, headers: notificationDlqHeaders(record, reason) }])
        metrics.deadLetters.inc({ endpoint: reason.endpointId, reason: reason.reason })
        return true
      } catch (error) {
        logger?.warn({ err: error, endpoint: reason.endpointId }, `notifications DLQ write failed (${(error as Error).message}); retrying`)
        await sleep(Math.min(30_000, 1000 * 2 ** attempt))
      }
    }
  }

  function dispatch (record: LogRecord): void {
    const kind = kinds.get(record.topic)
    const partitionAbort = aborts.get(tpKey(record))
    if (kind === undefined || partitionAbort === undefined) return
    const notification = notificationOf(record, kind)
    const malformed = 'error' in notification
    // A record whose value cannot be read goes to the DLQ for every endpoint taking its kind.
    const targets = deliveries.filter(d => malformed ? d.endpoint.kinds.has(kind) : routes(d.endpoint, kind, notification.source))
    if (targets.length === 0) return // nothing to do: committable as soon as it is passed
    tracker.track(record, record.offset)
    let remaining = targets.length
    const signal = AbortSignal.any([partitionAbort.signal, stopping.signal])
    for (const target of targets) {
      const endpointId = target.endpoint.id
      const key = malformed ? null : idempotencyKey(kind, notification.memberId, notification.id, endpointId)
      const job = async (): Promise<void> => {
        let reason: DeadLetterReason | undefined
        if (malformed) {
          reason = { endpointId, reason: 'MALFORMED', kind, idempotencyKey: null, attempts: 0, calls: 0, error: notification.error, status: null }
        } else {
          const outcome = await target.deliver({ kind, idempotencyKey: key!, body: notificationBody(key!, notification), recordHeaders: record.headers, signal })
          if (outcome.result === 'aborted') return
          if (outcome.result === 'failed') {
            const { reason: code, attempts, calls, error, status, circuit, elapsedMs } = outcome
            reason = { endpointId, reason: code, kind, idempotencyKey: key, attempts, calls, error, status, circuit, elapsedMs }
          }
        }
        if (reason !== undefined && !await deadLetter(record, reason, signal)) return
        if (signal.aborted) return // settled, but the partition is no longer ours: the next owner redelivers
        metrics.deliveries.inc({ endpoint: endpointId, kind, result: reason === undefined ? 'delivered' : 'dead_lettered' })
        settledCount++
        if (--remaining === 0) tracker.settle(record, record.offset)
      }
      const running: Promise<void> = job().catch(error => {
        logger?.error({ err: error, endpoint: endpointId }, `notification delivery failed unexpectedly: ${(error as Error).message}`)
      }).finally(() => inFlight.delete(running))
      inFlight.add(running)
    }
  }

  async function loop (): Promise<void> {
    while (!closing) {
      const mustPause = deliveries.some(d => d.room < maxPollRecords)
      const assigned = consumer.assignment()
      if (mustPause) consumer.pause(assigned)
      else if (paused) consumer.resume(assigned)
      if (mustPause !== paused) logger?.info({ paused: mustPause }, mustPause ? 'notifications paused: an endpoint queue is full' : 'notifications resumed')
      paused = mustPause
      metrics.pausedPartitions.set(paused ? assigned.length : 0)
      let records: LogRecord[]
      try {
        records = await consumer.poll(paused ? 100 : 500)
      } catch (error) {
        // A retriable log error (broker unreachable, rebalance in progress) is waited out; nothing
        // settled is lost and nothing unsettled is committed. Anything else stops the notifier.
        if (closing || !isRewardsError(error) || !error.retriable) throw error
        logger?.warn({ err: error }, `notifier poll failed (${error.code}), retrying in 1 s`)
        await sleep(1000)
        continue
      }
      for (const record of records) dispatch(record)
      if (Date.now() - lastCommitAt >= commitIntervalMs) await commit()
    }
  }

  const running = loop().catch(error => {
    if (closing) return
    logger?.error({ err: error }, `notifier stopped: ${(error as Error).message}`)
    deps.onFatal?.(error)
  })

  return {
    ready,
    joined: () => consumer.groupMetadata() !== null,
    breakerState: id => deliveries.find(d => d.endpoint.id === id)?.breakerState,
    pendingDeliveries: () => inFlight.size,
    settled: () => settledCount,
    commit: () => commit(),
    async close (): Promise<void> {
      if (closing) return
      closing = true
      await running
      if (inFlight.size > 0) {
        let timer: NodeJS.Timeout | undefined
        await Promise.race([Promise.allSettled([...inFlight]), new Promise(resolve => { timer = setTimeout(resolve, closeGraceMs) })])
        clearTimeout(timer)
      }
      const unsettled = inFlight.size
      stopping.abort()
      try {
        await commit()
      } finally {
        if (unsettled > 0) logger?.info({ unsettled }, `notifier closing with ${unsettled} deliver(ies) unsettled: they are redelivered on the next start`)
        await consumer.close()
        await producer.close()
      }
    }
  }
}
