// The per-endpoint delivery time budget (maxDeliveryMs) on the real broker with a real HTTP
// receiver: a dead endpoint (every call hangs past timeoutMs) first fills its buffer, which pauses
// the consumer for everyone; within its budget what it holds goes to the notifications DLQ with
// reason DELIVERY_TIMEOUT, and from then on its records are dead-lettered as they come, so a
// healthy endpoint configured beside it receives everything while the dead one is still down. A
// third endpoint down for a maintenance window shorter than its budget loses nothing to the DLQ.
import { Registry } from 'prom-client'
import t from 'tap'
import { createKafkaLog } from '../../../log/kafka/index.ts'
import { parseNotificationsConfig } from '../../../lib/notifications-config.ts'
import { startNotifier } from '../../../processors/notifications/notifier.ts'
import { brokers, unique } from '../../cli/cli-helpers.ts'
import { counter, gauge, readTopic, rewardConfirmed, until } from './notifications-test-helpers.ts'
import { WebhookReceiver, type ReceivedRequest } from './webhook-receiver.ts'

const idOf = (r: ReceivedRequest): string => String(r.json.data.eventId)
const delivered = (requests: ReceivedRequest[]): Set<string> => new Set(requests.filter(r => r.answered === 200).map(idOf))

const DEAD_BUDGET_MS = 4000
const MAINT_BUDGET_MS = 15_000
const MAINT_WINDOW_MS = 2500
/** Allowance for DLQ writes, polls and a loaded machine. */
const SLACK_MS = 15_000

t.test('delivery budget: a dead endpoint costs bounded time; a maintenance window loses nothing', async t => {
  const prefix = `${unique('notify-budget')}.`
  const groupId = unique('notify-budget-group')
  const topics = { rewardConfirmed: `${prefix}reward-confirmed`, redeemConfirmed: `${prefix}redeem-confirmed` }
  const dlqTopic = `${prefix}notifications-dlq`
  const log = createKafkaLog({ brokers, clientId: unique('notify-budget-test') })
  t.teardown(async () => {
    await log.admin.deleteTopics([topics.rewardConfirmed, topics.redeemConfirmed, dlqTopic]).catch(() => undefined)
    await log.admin.deleteGroup(groupId).catch(() => undefined)
    await log.close()
  })
  await log.admin.createTopics([topics.rewardConfirmed, topics.redeemConfirmed, dlqTopic].map(name => ({ name, partitions: 2 })))

  const receiver = new WebhookReceiver()
  await receiver.start()
  t.teardown(() => receiver.close())
  const secrets = { HEALTHY_SECRET: 'healthy-secret-0123456789', DEAD_SECRET: 'dead-secret-0123456789', MAINT_SECRET: 'maint-secret-0123456789' }
  let maintenanceUntil = Number.POSITIVE_INFINITY
  const fast = { timeoutMs: 300, maxAttempts: 100, backoffInitialMs: 50, backoffMaxMs: 200, breakerFailureThreshold: 3, breakerOpenMs: 500 }
  const config = parseNotificationsConfig({
    endpoints: [
      { id: 'healthy', url: receiver.endpoint('/healthy', secrets.HEALTHY_SECRET, 'ok'), secretEnv: 'HEALTHY_SECRET', kinds: ['reward-confirmed'] },
      // Small buffer (2 + 4): it fills within the first polls and pauses the consumer.
      { id: 'dead', url: receiver.endpoint('/dead', secrets.DEAD_SECRET, 'hang'), secretEnv: 'DEAD_SECRET', kinds: ['reward-confirmed'], ...fast, concurrency: 2, maxQueued: 4, maxDeliveryMs: DEAD_BUDGET_MS },
      { id: 'maint', url: receiver.endpoint('/maint', secrets.MAINT_SECRET, () => Date.now() < maintenanceUntil ? 'fail' : 'ok'), secretEnv: 'MAINT_SECRET', kinds: ['reward-confirmed'], ...fast, maxDeliveryMs: MAINT_BUDGET_MS }
    ]
  }, 'test', secrets)
  t.equal(config.endpoints[0]!.maxDeliveryMs, 900_000, 'default budget: 15 minutes')

  const registry = new Registry()
  const notifier = await startNotifier({ log, topics, dlqTopic, endpoints: config.endpoints, groupId, registry, commitIntervalMs: 200, closeGraceMs: 1000 })
  let closed = false
  t.teardown(async () => { if (!closed) await notifier.close() })
  await notifier.ready

  const ids = Array.from({ length: 40 }, (_, i) => `b-${i}`)
  const producer = await log.createProducer({ clientId: unique('notify-budget-producer') })
  t.teardown(() => producer.close())
  const startedAt = Date.now()
  maintenanceUntil = startedAt + MAINT_WINDOW_MS
  await producer.send(ids.map((id, i) => rewardConfirmed(topics.rewardConfirmed, id, i)))

  // While waiting for the healthy endpoint, watch the back-pressure the dead one causes.
  let maxPaused = 0
  const sampler = setInterval(() => { void gauge(registry, 'rewards_notifications_paused_partitions').then(v => { maxPaused = Math.max(maxPaused, v ?? 0) }) }, 20)
  t.teardown(() => clearInterval(sampler))
  await receiver.until(() => delivered(receiver.at('/healthy')).size === ids.length, 'healthy: every notification', 120_000)
  const healthyDoneAt = Date.now()
  clearInterval(sampler)
  t.ok(maxPaused > 0, 'the dead endpoint filled its buffer: the consumer was paused for everyone')
  t.equal(receiver.at('/dead').filter(r => r.answered !== 0).length, 0, 'the dead endpoint is still down (never answered) when the healthy one has everything')
  t.ok(healthyDoneAt - startedAt <= DEAD_BUDGET_MS + fast.timeoutMs + SLACK_MS,
    `healthy had everything ${healthyDoneAt - startedAt} ms after the records were produced: within the dead endpoint's budget (${DEAD_BUDGET_MS} ms) + timeoutMs + slack, not after its recovery`)
  t.ok(receiver.at('/healthy').every(r => r.signatureValid), 'healthy: every signature valid')

  // Every record of the dead endpoint is in the DLQ, within its budget, saying why.
  await until('40 dead letters', async () => await counter(registry, 'rewards_notifications_dlq_records_total', { endpoint: 'dead' }) === ids.length, 60_000)
  const dlq = await readTopic(dlqTopic, ids.length)
  const dlqEnds = await log.admin.listOffsets([0, 1].map(partition => ({ topic: dlqTopic, partition })), 'latest')
  t.equal(dlqEnds.reduce((n, o) => n + Number(o.offset), 0), ids.length, 'the DLQ holds the dead endpoint\'s records, no more (nothing of maint or healthy)')
  t.same(dlq.map(r => (JSON.parse(r.value) as { eventId: string }).eventId).sort(), [...ids].sort(), 'every record of the dead endpoint is dead-lettered once')
  for (const r of dlq) {
    t.match(r.headers, { 'notification.endpoint': 'dead', 'notification.reason': 'DELIVERY_TIMEOUT', 'notification.circuit': /^(OPEN|HALF_OPEN|CLOSED)$/, 'notification.attempts': /^\d+$/, 'notification.elapsed-ms': /^\d+$/, 'source.topic': topics.rewardConfirmed })
    t.ok(r.timestamp >= startedAt + DEAD_BUDGET_MS - 1000, `dead-lettered no earlier than the budget (${r.timestamp - startedAt} ms)`)
    t.ok(r.timestamp <= startedAt + DEAD_BUDGET_MS + fast.timeoutMs + SLACK_MS, `dead-lettered within the budget + timeoutMs + slack (${r.timestamp - startedAt} ms)`)
  }
  t.ok(dlq.some(r => r.headers['notification.error'] === `timed out after ${fast.timeoutMs} ms`), 'records that were tried say the last error (the call timed out)')
  t.ok(dlq.some(r => r.headers['notification.attempts'] === '0' && /^no call made: circuit open/.test(r.headers['notification.error'] ?? '')), 'records dead-lettered past the budget without a call say the circuit was open')
  t.ok(receiver.at('/dead').length < ids.length, `past the budget the dead endpoint gets trial calls only, not one per record (${receiver.at('/dead').length} calls for ${ids.length} records)`)
  t.equal(await counter(registry, 'rewards_notifications_dlq_records_total', { endpoint: 'dead', reason: 'DELIVERY_TIMEOUT' }), ids.length, 'DLQ counter by reason')

  // The endpoint down for a window shorter than its budget lost nothing.
  await receiver.until(() => delivered(receiver.at('/maint')).size === ids.length, 'maint: every notification after its window', 60_000)
  t.ok(receiver.at('/maint').some(r => r.answered === 500), 'maint was down for a while (answered 500)')
  t.equal(await counter(registry, 'rewards_notifications_dlq_records_total', { endpoint: 'maint' }), 0, 'nothing of maint dead-lettered')
  t.ok(receiver.at('/maint').every(r => r.signatureValid), 'maint: every signature valid')

  // Everything settled: the committed offsets reach the end of the topic.
  const parts = [0, 1].map(partition => ({ topic: topics.rewardConfirmed, partition }))
  const ends = await log.admin.listOffsets(parts, 'latest')
  await until('offsets committed to the end', async () => {
    await notifier.commit()
    const committed = await log.admin.listCommittedOffsets(groupId, parts)
    return ends.every(e => committed.find(c => c.partition === e.partition)?.offset === e.offset)
  }, 30_000)
  closed = true
  await notifier.close()
})
