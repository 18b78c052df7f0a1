// The notifier on the real broker against a real HTTP receiver (webhook-receiver.ts): every
// notification arrives at least once with a valid signature (verified independently), routing
// by kind and source, retries after 500s and after requests hanging past timeoutMs, a stable
// idempotency key across retries, traceparent passed on; the records that exhaust their retries
// (and only those) land in the notifications DLQ (read with kafkajs); the circuit breaker opens
// (no calls while open) and closes when the endpoint recovers; offsets end fully committed.
import { Kafka, logLevel } from 'kafkajs'
import { Registry } from 'prom-client'
import t from 'tap'
import { createKafkaLog } from '../../../log/kafka/index.ts'
import type { ProducerRecord } from '../../../log/log-port.ts'
import { parseNotificationsConfig } from '../../../lib/notifications-config.ts'
import { startNotifier } from '../../../processors/notifications/notifier.ts'
import { brokers, unique } from '../../cli/cli-helpers.ts'
import { WebhookReceiver, type ReceivedRequest } from './webhook-receiver.ts'

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
const SOURCES = ['HOTEL', 'CASINO', 'DINING'] as const

function rewardConfirmed (topic: string, eventId: string, i: number, traced: boolean): ProducerRecord {
  const memberId = `M-${i % 7}`
  const value = { eventId, memberId, source: SOURCES[i % 3], type: 'EARN', points: 100 + i, tier: 'MEMBER', ruleVersion: '2026-1', balance: { memberId }, occurredAt: new Date().toISOString(), processedAt: new Date().toISOString() }
  return { topic, key: Buffer.from(memberId), value: Buffer.from(JSON.stringify(value)), ...(traced ? { headers: { traceparent: Buffer.from(TRACEPARENT) } } : {}) }
}

function redeemConfirmed (topic: string, redemptionId: string, i: number): ProducerRecord {
  const memberId = `M-${i % 7}`
  const value = { redemptionId, memberId, points: 10, rewardCode: 'ROOM', status: 'CONFIRMED', balance: { memberId }, requestedAt: new Date().toISOString(), processedAt: new Date().toISOString() }
  return { topic, key: Buffer.from(memberId), value: Buffer.from(JSON.stringify(value)) }
}

const idOf = (r: ReceivedRequest): string => String(r.json.data.eventId ?? r.json.data.redemptionId)
const delivered = (requests: ReceivedRequest[]): Set<string> => new Set(requests.filter(r => r.answered === 200).map(idOf))

async function gauge (registry: Registry, name: string, endpoint: string): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name)
  return (await metric?.get())?.values.find(v => v.labels.endpoint === endpoint)?.value
}

async function counter (registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? []
  return values.filter(v => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((sum, v) => sum + v.value, 0)
}

/** The HTTP calls to an endpoint that have ended (any outcome): the attempt histogram's count. */
async function attemptsEnded (registry: Registry, endpoint: string): Promise<number> {
  const values = (await registry.getSingleMetric('rewards_notifications_attempt_duration_seconds')?.get())?.values ?? []
  return values.filter(v => (v as { metricName?: string }).metricName === 'rewards_notifications_attempt_duration_seconds_count' && v.labels.endpoint === endpoint).reduce((sum, v) => sum + v.value, 0)
}

async function until (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}

t.test('webhooks: retries, timeouts, DLQ, circuit breaker, at-least-once', async t => {
  const prefix = `${unique('notify')}.`
  const groupId = unique('notify-group')
  const topics = { rewardConfirmed: `${prefix}reward-confirmed`, redeemConfirmed: `${prefix}redeem-confirmed` }
  const dlqTopic = `${prefix}notifications-dlq`
  const log = createKafkaLog({ brokers, clientId: unique('notify-test') })
  const kafka = new Kafka({ brokers, clientId: unique('notify-verify'), logLevel: logLevel.NOTHING })
  t.teardown(async () => {
    await log.admin.deleteTopics([topics.rewardConfirmed, topics.redeemConfirmed, dlqTopic]).catch(() => undefined)
    await log.admin.deleteGroup(groupId).catch(() => undefined)
    await log.close()
  })
  await log.admin.createTopics([topics.rewardConfirmed, topics.redeemConfirmed, dlqTopic].map(name => ({ name, partitions: 2 })))

  const receiver = new WebhookReceiver()
  await receiver.start()
  t.teardown(() => receiver.close())
  const secrets = { STEADY_SECRET: 'steady-secret-0123456789', HOTEL_SECRET: 'hotel-secret-0123456789', FLAKY_SECRET: 'flaky-secret-0123456789' }
  let outage = false
  const seenSlow = new Set<string>()
  const flakyUrl = receiver.endpoint('/flaky', secrets.FLAKY_SECRET, request => {
    const id = idOf(request)
    if (id.startsWith('poison-') || outage) return 'fail'
    if (id.startsWith('slow-') && !seenSlow.has(id)) {
      seenSlow.add(id)
      return 'hang' // past timeoutMs: the call times out and is retried
    }
    return 'ok'
  })
  const config = parseNotificationsConfig({
    endpoints: [
      { id: 'steady', url: receiver.endpoint('/steady', secrets.STEADY_SECRET, 'ok'), secretEnv: 'STEADY_SECRET', kinds: ['reward-confirmed', 'redeem-confirmed'] },
      { id: 'hotel', url: receiver.endpoint('/hotel', secrets.HOTEL_SECRET, 'ok'), secretEnv: 'HOTEL_SECRET', kinds: ['reward-confirmed'], sources: ['HOTEL'] },
      { id: 'flaky', url: flakyUrl, secretEnv: 'FLAKY_SECRET', kinds: ['reward-confirmed', 'redeem-confirmed'], concurrency: 2, maxAttempts: 6, timeoutMs: 300, backoffInitialMs: 20, backoffMaxMs: 100, breakerFailureThreshold: 3, breakerOpenMs: 1000 }
    ]
  }, 'test', secrets)
  const registry = new Registry()
  const notifier = await startNotifier({ log, topics, dlqTopic, endpoints: config.endpoints, groupId, registry, commitIntervalMs: 200, closeGraceMs: 2000 })
  let closed = false
  t.teardown(async () => { if (!closed) await notifier.close() })
  await notifier.ready

  // Phase 1: 20 reward confirmations (2 poison: always 500; 2 slow: hang once) and 6 redemptions.
  const rewardIds = Array.from({ length: 20 }, (_, i) => i === 3 || i === 11 ? `poison-${i}` : i === 5 || i === 8 ? `slow-${i}` : `e-${i}`)
  const redeemIds = Array.from({ length: 6 }, (_, i) => `r-${i}`)
  const producer = await log.createProducer({ clientId: unique('notify-producer') })
  t.teardown(() => producer.close())
  await producer.send([
    ...rewardIds.map((id, i) => rewardConfirmed(topics.rewardConfirmed, id, i, i % 2 === 0)),
    ...redeemIds.map((id, i) => redeemConfirmed(topics.redeemConfirmed, id, i))
  ])
  const all = [...rewardIds, ...redeemIds]
  const healthy = all.filter(id => !id.startsWith('poison-'))
  const hotelIds = rewardIds.filter((_, i) => SOURCES[i % 3] === 'HOTEL')

  await receiver.until(() => delivered(receiver.at('/steady')).size === all.length, 'steady: every notification')
  await receiver.until(() => delivered(receiver.at('/hotel')).size === hotelIds.length, 'hotel: every HOTEL reward')
  await receiver.until(() => healthy.every(id => delivered(receiver.at('/flaky')).has(id)), 'flaky: every healthy notification')
  await until('two dead letters', async () => await counter(registry, 'rewards_notifications_dlq_records_total', { endpoint: 'flaky' }) === 2)

  t.ok(receiver.requests.every(r => r.signatureValid), `all ${receiver.requests.length} requests carry a valid signature (verified independently)`)
  t.same([...delivered(receiver.at('/steady'))].sort(), [...all].sort(), 'steady got every record')
  t.same([...new Set(receiver.at('/hotel').map(idOf))].sort(), [...hotelIds].sort(), 'hotel got the HOTEL rewards only, and no redemption')
  for (const r of receiver.requests) t.equal(r.headers['idempotency-key'], r.json.id, 'the idempotency key is in the header and the body')
  const slowKeys = receiver.at('/flaky').filter(r => idOf(r) === 'slow-5').map(r => r.headers['idempotency-key'])
  t.ok(slowKeys.length >= 2 && new Set(slowKeys).size === 1, `a retried notification keeps its idempotency key (${slowKeys.length} requests)`)
  t.equal(receiver.at('/flaky').find(r => idOf(r) === 'slow-5' && r.answered === 0)?.headers['rewards-webhook-attempt'], '1', 'the first attempt hung past timeoutMs')
  for (const id of ['poison-3', 'poison-11']) t.equal(receiver.at('/flaky').filter(r => idOf(r) === id).length, 6, `${id}: exactly maxAttempts (6) calls`)
  t.equal(receiver.at('/steady').find(r => idOf(r) === 'e-0')?.headers.traceparent, TRACEPARENT, 'traceparent passed on from the record')
  t.equal(receiver.at('/steady').find(r => idOf(r) === 'e-1')?.headers.traceparent, undefined, 'no traceparent when the record has none')
  t.equal(new Set(receiver.at('/steady').map(r => r.headers['idempotency-key'])).size, all.length, 'one key per record and endpoint')

  // The DLQ holds exactly the two poison records, for flaky, with why.
  const dlqRecords: Array<{ key: string, value: string, headers: Record<string, string> }> = []
  const consumer = kafka.consumer({ groupId: unique('notify-dlq-verify'), sessionTimeout: 60_000 })
  await consumer.connect()
  await consumer.subscribe({ topic: dlqTopic, fromBeginning: true })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`DLQ: ${dlqRecords.length}/2 records`)), 60_000)
    consumer.run({
      eachMessage: async ({ message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]))
        dlqRecords.push({ key: message.key!.toString(), value: message.value!.toString(), headers })
        if (dlqRecords.length >= 2) { clearTimeout(timer); resolve() }
      }
    }).catch(reject)
  })
  await consumer.disconnect()
  const dlqEnds = await log.admin.listOffsets([0, 1].map(partition => ({ topic: dlqTopic, partition })), 'latest')
  t.equal(dlqEnds.reduce((n, o) => n + Number(o.offset), 0), 2, 'the DLQ holds two records, no more')
  t.same(dlqRecords.map(r => (JSON.parse(r.value) as { eventId: string }).eventId).sort(), ['poison-11', 'poison-3'], 'exactly the records that exhausted their retries')
  for (const r of dlqRecords) {
    t.match(r.headers, { 'notification.endpoint': 'flaky', 'notification.kind': 'reward-confirmed', 'notification.attempts': '6', 'notification.status': '500', 'notification.error': 'HTTP 500', 'source.topic': topics.rewardConfirmed })
  }
  t.equal(await counter(registry, 'rewards_notifications_deliveries_total', { endpoint: 'flaky', result: 'dead_lettered' }), 2)
  t.equal(await counter(registry, 'rewards_notifications_deliveries_total', { endpoint: 'flaky', result: 'delivered' }), healthy.length)
  t.ok(await counter(registry, 'rewards_notifications_attempt_duration_seconds', { endpoint: 'flaky', outcome: 'timeout' }) > 0, 'timeouts measured')

  // Phase 2: flaky fails everything; the breaker opens, holds calls back, then closes on recovery.
  // The poison records' last failures left flaky's circuit open; a healthy record closes it (the
  // breaker half-opens lazily, on the next call after breakerOpenMs).
  await producer.send([rewardConfirmed(topics.rewardConfirmed, 'warm-0', 50, false)])
  await receiver.until(() => delivered(receiver.at('/flaky')).has('warm-0'), 'flaky: the warm-up record')
  await until('flaky circuit closed before the outage', async () => await gauge(registry, 'rewards_notifications_circuit_state', 'flaky') === 0, 30_000)
  outage = true
  const outageFrom = receiver.at('/flaky').length
  const outageIds = Array.from({ length: 10 }, (_, i) => `o-${i}`)
  await producer.send(outageIds.map((id, i) => rewardConfirmed(topics.rewardConfirmed, id, 100 + i, false)))
  await until('flaky circuit open', async () => await gauge(registry, 'rewards_notifications_circuit_state', 'flaky') === 2)
  t.equal(notifier.breakerState('flaky'), 'OPEN')
  t.equal(notifier.breakerState('steady'), 'CLOSED', 'one breaker per endpoint: steady is unaffected')
  // flaky has concurrency 2: a call sent just before the circuit opened may reach the receiver
  // after it did. Every call sent has ended once the receiver has seen as many as the notifier
  // finished; from then on, any call the receiver sees was sent while the circuit was open.
  await until('flaky: no call in flight', async () => receiver.at('/flaky').length === await attemptsEnded(registry, 'flaky'), 5_000)
  const seenWhenOpen = receiver.at('/flaky').length
  // The circuit opened once three failed calls had reached the receiver (every call since the
  // outage began fails), so it stays open until at least the third one's arrival + breakerOpenMs
  // (1000 ms); only then may a trial call come. Watch for calls until then (50 ms of margin), not
  // longer: on a loaded machine the waits above can take most of that second.
  const openUntil = receiver.at('/flaky')[outageFrom + 2]!.at + 1000 - 50
  const watchMs = Math.min(600, openUntil - Date.now())
  if (watchMs >= 100) {
    await new Promise(resolve => setTimeout(resolve, watchMs))
    const whileOpen = receiver.at('/flaky').slice(seenWhenOpen).filter(r => r.at < openUntil)
    t.equal(whileOpen.length, 0, `no call to flaky while its circuit is open (watched ${watchMs} ms)`)
  } else {
    t.comment(`the circuit's open second had ${watchMs} ms left once no call was in flight: too little to watch`)
  }
  t.ok(await counter(registry, 'rewards_notifications_short_circuited_total', { endpoint: 'flaky' }) > 0, 'deliveries were held back by the open circuit')
  outage = false
  await receiver.until(() => outageIds.every(id => delivered(receiver.at('/flaky')).has(id)), 'flaky: every notification after the outage')
  t.equal(await gauge(registry, 'rewards_notifications_circuit_state', 'flaky'), 0, 'the circuit closed again')
  await receiver.until(() => outageIds.every(id => delivered(receiver.at('/steady')).has(id)), 'steady: the outage records')
  t.equal(await counter(registry, 'rewards_notifications_dlq_records_total', { endpoint: 'flaky' }), 2, 'nothing dead-lettered for the outage')
  t.ok(receiver.requests.every(r => r.signatureValid), 'every signature valid')

  // Everything settled: the committed offsets reach the end of both topics.
  const parts = [topics.rewardConfirmed, topics.redeemConfirmed].flatMap(topic => [0, 1].map(partition => ({ topic, partition })))
  const ends = await log.admin.listOffsets(parts, 'latest')
  await until('offsets committed to the end', async () => {
    await notifier.commit()
    const committed = await log.admin.listCommittedOffsets(groupId, parts)
    return ends.every(e => committed.find(c => c.topic === e.topic && c.partition === e.partition)?.offset === e.offset)
  }, 30_000)
  t.equal(notifier.pendingDeliveries(), 0)
  closed = true
  await notifier.close()
})
