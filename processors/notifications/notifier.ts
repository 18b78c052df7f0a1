// The notifier: a consumer group (`<application-id>-notifications`, read-committed like every
// group consumer of the log port, so it works on Kafka and on the embedded log) over
// reward-confirmed and redeem-confirmed, delivering each record to the endpoints it is routed to
// (notification-routing.ts), each endpoint with its own concurrency, retries and circuit breaker
// (endpoint-delivery.ts). The loop — poll, pause, retry, commit, rebalance, close — is the engine's
// consumer runner (docs/engine.md "Consumer runner"), one record per handler call, many at once;
// this file is its handler: routing, deliveries, dead letters.
//
// Guarantees and bounds:
// - At-least-once: offsets are committed (every commitIntervalMs, on revoke and on close) only up
//   to records that every routed endpoint has settled: delivered (2xx) or written to the
//   notifications DLQ (the runner's offset tracker). A crash redelivers what was not settled; the receiver
//   dedupes on the idempotency key, stable for a (record, endpoint).
// - Isolation from the processor: its own consumer group reading the processor's committed output,
//   so a slow partner never slows the stream application.
// - Isolation between endpoints, within a bound: each endpoint holds at most concurrency +
//   maxQueued deliveries. When any endpoint has less room than one poll can bring
//   (maxPollRecords), the handler asks the runner to pause every assigned partition (it keeps
//   polling, staying in the group) until it drains; healthy endpoints meanwhile finish what they hold. A dead endpoint
//   drains by its time budget (maxDeliveryMs, endpoint-delivery.ts): what it holds is
//   dead-lettered at most maxDeliveryMs (+ one timeoutMs) after its outage began, and from then on
//   its new deliveries are dead-lettered at once while it stays down. So a dead endpoint delays
//   the others by at most maxDeliveryMs + timeoutMs per outage (plus the DLQ writes).
// - Rebalance: revoked partitions' settled offsets are committed, their deliveries aborted (the
//   new owner redelivers them). Close waits closeGraceMs for deliveries in flight, then aborts.
import { Registry } from 'prom-client'
import type { Logger } from '../../lib/logger.ts'
import { startConsumerRunner, type Log, type LogProducer, type LogRecord } from '../../topology/index.ts'
import { EndpointDelivery, type BreakerStateName } from './endpoint-delivery.ts'
import type { EndpointConfig, NotificationKind } from '../../lib/notifications-config.ts'
import { notificationDlqHeaders, type DeadLetterReason } from './notifications-dlq.ts'
import { notificationsMetrics, type NotificationsMetrics } from './notifications-metrics.ts'
import { idempotencyKey, notificationBody, notificationOf, routes } from './notification-routing.ts'
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
  let inFlight = 0
  let settledCount = 0

  const producer: LogProducer = await deps.log.createProducer({ clientId: `${groupId}-dlq-${process.pid}` })

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

  /** The runner's handler, one record at a time (many at once): resolves when every endpoint it
   *  is routed to has settled it. Aborted (partition revoked or lost, shutting down): the runner
   *  ignores it, its offset is not committed, the next owner (or start) redelivers it. */
  async function handle (records: readonly LogRecord[], signal: AbortSignal): Promise<void> {
    await Promise.all(records.map(record => deliver(record, signal)))
  }

  async function deliver (record: LogRecord, signal: AbortSignal): Promise<void> {
    const kind = kinds.get(record.topic)
    if (kind === undefined) return
    const notification = notificationOf(record, kind)
    const malformed = 'error' in notification
    // A record whose value cannot be read goes to the DLQ for every endpoint taking its kind.
    const targets = deliveries.filter(d => malformed ? d.endpoint.kinds.has(kind) : routes(d.endpoint, kind, notification.source))
    // Started at once (synchronously, before any await): the endpoints' room drops now, so the
    // runner's next pause decision sees it.
    await Promise.all(targets.map(async target => {
      inFlight++
      try {
        await deliverTo(target, record, kind, notification, signal)
      } finally {
        inFlight--
      }
    }))
  }

  async function deliverTo (target: EndpointDelivery, record: LogRecord, kind: NotificationKind, notification: ReturnType<typeof notificationOf>, signal: AbortSignal): Promise<void> {
    const endpointId = target.endpoint.id
    const malformed = 'error' in notification
    const key = malformed ? null : idempotencyKey(kind, notification.memberId, notification.id, endpointId)
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
  }

  const runner = startConsumerRunner({
    log: deps.log,
    groupId,
    clientId: deps.clientId ?? `${groupId}-${process.pid}`,
    name: 'notifier',
    topics: [...kinds.keys()],
    maxPollRecords,
    ...(deps.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: deps.sessionTimeoutMs }),
    handler: {
      handle,
      // An endpoint with less room than one poll can bring: pause everything until it drains.
      mustPause: () => deliveries.some(d => d.room < maxPollRecords)
    },
    // One record per call, as many at once as the endpoints' room allows (they settle out of
    // order; the runner commits below the first unsettled one).
    batchMaxRecords: 1,
    maxInFlightBatches: Infinity,
    maxPendingRecords: Infinity,
    commitIntervalMs,
    // Revoked: commit what is settled, abort the rest at once (the new owner redelivers it).
    revokeGraceMs: 0,
    flushOnRevoke: false,
    closeGraceMs,
    ...(deps.registry === undefined ? {} : { registry: deps.registry }),
    ...(logger === undefined ? {} : { logger }),
    onPaused: paused => metrics.pausedPartitions.set(paused),
    onLag: lags => metrics.lag.set(lags.reduce((sum, l) => sum + l.lag, 0)),
    onFatal: error => deps.onFatal?.(error)
  })

  let closed = false
  return {
    ready: runner.ready,
    joined: () => runner.joined(),
    breakerState: id => deliveries.find(d => d.endpoint.id === id)?.breakerState,
    pendingDeliveries: () => inFlight,
    settled: () => settledCount,
    commit: () => runner.commit(),
    async close (): Promise<void> {
      if (closed) return
      closed = true
      try {
        await runner.close()
      } finally {
        metrics.pausedPartitions.set(0)
        await producer.close()
      }
    }
  }
}
