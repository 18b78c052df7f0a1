// Prometheus metrics of the notifications role, per endpoint (label `endpoint`, the id from the
// notifications file). Listed in docs/notifications.md.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export interface NotificationsMetrics {
  /** result: delivered | dead_lettered. */
  readonly deliveries: Counter<'endpoint' | 'kind' | 'result'>
  /** One per HTTP call; outcome: success | http_error | timeout | network_error. */
  readonly attemptSeconds: Histogram<'endpoint' | 'outcome'>
  /** Calls held back by the open circuit (no HTTP call, no attempt spent). */
  readonly shortCircuited: Counter<'endpoint'>
  readonly retries: Counter<'endpoint'>
  /** reason: RETRIES_EXHAUSTED | REFUSED | DELIVERY_TIMEOUT | MALFORMED. */
  readonly deadLetters: Counter<'endpoint' | 'reason'>
  /** 0 closed, 1 half-open, 2 open. */
  readonly circuitState: Gauge<'endpoint'>
  readonly inFlight: Gauge<'endpoint'>
  readonly queued: Gauge<'endpoint'>
  /** Records of assigned partitions not yet delivered or dead-lettered (last fetched end minus
   *  committed position). */
  readonly lag: Gauge
  readonly pausedPartitions: Gauge
}

function reuse<T> (registry: Registry, name: string, create: () => T): T {
  // A second notifier on the same registry (tests): reuse the metrics.
  return (registry.getSingleMetric(name) as T | undefined) ?? create()
}

export function notificationsMetrics (registry: Registry): NotificationsMetrics {
  const registers = [registry]
  return {
    deliveries: reuse(registry, 'rewards_notifications_deliveries_total', () => new Counter({ name: 'rewards_notifications_deliveries_total', help: 'Notifications settled per endpoint: delivered (2xx) or dead_lettered (written to notifications-dlq for any reason: retries exhausted, delivery time budget spent, refused with a 4xx, malformed record)', labelNames: ['endpoint', 'kind', 'result'], registers })),
    attemptSeconds: reuse(registry, 'rewards_notifications_attempt_duration_seconds', () => new Histogram({ name: 'rewards_notifications_attempt_duration_seconds', help: 'Duration of one webhook HTTP call, by outcome', labelNames: ['endpoint', 'outcome'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers })),
    shortCircuited: reuse(registry, 'rewards_notifications_short_circuited_total', () => new Counter({ name: 'rewards_notifications_short_circuited_total', help: 'Calls held back by an open circuit breaker (no HTTP call made, no attempt spent: the delivery waits for the trial call)', labelNames: ['endpoint'], registers })),
    retries: reuse(registry, 'rewards_notifications_retries_total', () => new Counter({ name: 'rewards_notifications_retries_total', help: 'Retries scheduled after a failed attempt', labelNames: ['endpoint'], registers })),
    deadLetters: reuse(registry, 'rewards_notifications_dlq_records_total', () => new Counter({ name: 'rewards_notifications_dlq_records_total', help: 'Records written to the notifications-dlq topic, by endpoint and reason (RETRIES_EXHAUSTED, REFUSED, DELIVERY_TIMEOUT, MALFORMED)', labelNames: ['endpoint', 'reason'], registers })),
    circuitState: reuse(registry, 'rewards_notifications_circuit_state', () => new Gauge({ name: 'rewards_notifications_circuit_state', help: 'Circuit breaker per endpoint: 0 closed, 1 half-open, 2 open', labelNames: ['endpoint'], registers })),
    inFlight: reuse(registry, 'rewards_notifications_in_flight_deliveries', () => new Gauge({ name: 'rewards_notifications_in_flight_deliveries', help: 'Deliveries running (calling or waiting to retry), per endpoint', labelNames: ['endpoint'], registers })),
    queued: reuse(registry, 'rewards_notifications_queued_deliveries', () => new Gauge({ name: 'rewards_notifications_queued_deliveries', help: 'Deliveries waiting for a concurrency slot, per endpoint', labelNames: ['endpoint'], registers })),
    lag: reuse(registry, 'rewards_notifications_lag_records', () => new Gauge({ name: 'rewards_notifications_lag_records', help: 'Records of the assigned partitions not yet settled (delivered or dead-lettered) and committed', registers })),
    pausedPartitions: reuse(registry, 'rewards_notifications_paused_partitions', () => new Gauge({ name: 'rewards_notifications_paused_partitions', help: 'Partitions paused because an endpoint queue is full', registers }))
  }
}
