// `rewards notifications replay-dlq` on the real broker with a real HTTP receiver: records
// dead-lettered while the partner failed (by the notifier, as in production) are delivered by the
// replay once it recovers — every one, with a valid signature (verified independently) and the
// idempotency key of its original attempts; --dry-run sends nothing; --limit sends that many and
// the next run goes on from there; a second run sends nothing; a partner still failing stops the
// run (exit 1) having passed nothing it did not deliver, and a later run delivers the rest.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import t from 'tap'
import { createKafkaLog } from '../../log/kafka/index.ts'
import type { ProducerRecord } from '../../log/log-port.ts'
import { parseNotificationsConfig } from '../../lib/notifications-config.ts'
import { startNotifier } from '../../processors/notifications/notifier.ts'
import { brokers, cleanEnv, runCli, unique } from '../cli/cli-helpers.ts'
import { counter, readTopic, rewardConfirmed, until } from '../processors/notifications/notifications-test-helpers.ts'
import { WebhookReceiver, type ReceivedRequest } from '../processors/notifications/webhook-receiver.ts'

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
const secrets = { PARTNER_SECRET: 'partner-secret-0123456789', OTHER_SECRET: 'other-secret-0123456789' }
const idOf = (r: ReceivedRequest): string => String(r.json.data.eventId ?? r.json.data.redemptionId)
const delivered = (requests: ReceivedRequest[]): ReceivedRequest[] => requests.filter(r => r.answered === 200)

function redeemConfirmed (topic: string, redemptionId: string, i: number): ProducerRecord {
  const memberId = `M-${i % 7}`
  const value = { redemptionId, memberId, points: 10, rewardCode: 'ROOM', status: 'CONFIRMED', balance: { memberId }, requestedAt: new Date().toISOString(), processedAt: new Date().toISOString() }
  return { topic, key: Buffer.from(memberId), value: Buffer.from(JSON.stringify(value)) }
}

t.test('replay-dlq: dead letters delivered after recovery, same keys, valid signatures, once', async t => {
  const prefix = `${unique('notify-replay')}.`
  const appId = unique('notify-replay-app')
  const dir = t.testdir({})
  const topics = { rewardConfirmed: `${prefix}reward-confirmed`, redeemConfirmed: `${prefix}redeem-confirmed` }
  const dlqTopic = `${prefix}notifications-dlq`
  const groups = [`${appId}-notifications`, `${appId}-notifications-replay-partner`, `${appId}-notifications-replay-other`]
  const log = createKafkaLog({ brokers, clientId: unique('notify-replay-test') })
  t.teardown(async () => {
    await log.admin.deleteTopics([topics.rewardConfirmed, topics.redeemConfirmed, dlqTopic]).catch(() => undefined)
    for (const g of groups) await log.admin.deleteGroup(g).catch(() => undefined)
    await log.close()
  })
  await log.admin.createTopics([topics.rewardConfirmed, topics.redeemConfirmed, dlqTopic].map(name => ({ name, partitions: 2 })))

  const receiver = new WebhookReceiver()
  await receiver.start()
  t.teardown(() => receiver.close())
  const quick = { timeoutMs: 1000, maxAttempts: 2, backoffInitialMs: 10, backoffMaxMs: 50, breakerFailureThreshold: 3, breakerOpenMs: 200 }
  const endpoints = [
    { id: 'partner', url: receiver.endpoint('/partner', secrets.PARTNER_SECRET, 'fail'), secretEnv: 'PARTNER_SECRET', kinds: ['reward-confirmed', 'redeem-confirmed'], ...quick },
    { id: 'other', url: receiver.endpoint('/other', secrets.OTHER_SECRET, 'fail'), secretEnv: 'OTHER_SECRET', kinds: ['reward-confirmed'], ...quick }
  ]

  // 1. The notifier dead-letters everything while both partners fail.
  const config = parseNotificationsConfig({ endpoints }, 'test', secrets)
  const registry = new Registry()
  const notifier = await startNotifier({ log, topics, dlqTopic, endpoints: config.endpoints, groupId: `${appId}-notifications`, registry, commitIntervalMs: 200, closeGraceMs: 1000 })
  let closed = false
  t.teardown(async () => { if (!closed) await notifier.close() })
  await notifier.ready
  const rewardIds = Array.from({ length: 12 }, (_, i) => `e-${i}`)
  const redeemIds = Array.from({ length: 3 }, (_, i) => `r-${i}`)
  const producer = await log.createProducer({ clientId: unique('notify-replay-producer') })
  t.teardown(() => producer.close())
  await producer.send([
    ...rewardIds.map((id, i) => rewardConfirmed(topics.rewardConfirmed, id, i, i % 2 === 0 ? { traceparent: Buffer.from(TRACEPARENT) } : undefined)),
    ...redeemIds.map((id, i) => redeemConfirmed(topics.redeemConfirmed, id, i))
  ])
  const partnerIds = [...rewardIds, ...redeemIds]
  await until('every record dead-lettered for both endpoints', async () =>
    await counter(registry, 'rewards_notifications_dlq_records_total', { endpoint: 'partner' }) === partnerIds.length &&
    await counter(registry, 'rewards_notifications_dlq_records_total', { endpoint: 'other' }) === rewardIds.length, 120_000)
  closed = true
  await notifier.close()
  t.equal(delivered(receiver.requests).length, 0, 'nothing was delivered while the partners failed')
  /** The key each record carried on its original (failed) attempts to partner. */
  const originalKeys = new Map<string, string>()
  for (const r of receiver.at('/partner')) originalKeys.set(idOf(r), r.headers['idempotency-key']!)
  t.equal(originalKeys.size, partnerIds.length, 'every partner record was tried before the DLQ')
  const dlq = await readTopic(dlqTopic, partnerIds.length + rewardIds.length)
  for (const r of dlq.filter(r => r.headers['notification.endpoint'] === 'partner')) {
    const value = JSON.parse(r.value) as { eventId?: string, redemptionId?: string }
    t.equal(r.headers['notification.idempotency-key'], originalKeys.get(value.eventId ?? value.redemptionId!), 'the DLQ keeps the key the partner saw')
  }

  // 2. The CLI with the same notifications file (partner recovered, other still down).
  const file = join(dir, 'notifications.json')
  writeFileSync(file, JSON.stringify({ endpoints }))
  const env = cleanEnv({ REWARDS_KAFKA_BROKERS: brokers.join(','), REWARDS_TOPIC_PREFIX: prefix, REWARDS_APPLICATION_ID: appId, REWARDS_DATA_DIR: join(dir, 'data'), REWARDS_NOTIFICATIONS_FILE: file, ...secrets })
  const replay = (...args: string[]) => runCli(['notifications', 'replay-dlq', ...args], { env, cwd: dir, timeoutMs: 120_000 })
  receiver.set('/partner', 'ok')
  const before = receiver.requests.length

  const dry = await replay('--endpoint', 'partner', '--dry-run')
  t.equal(dry.code, 0, `dry run exits 0\n${dry.stderr}`)
  t.match(dry.stdout, `partner: ${partnerIds.length} would be sent`)
  t.equal(receiver.requests.length, before, 'the dry run sent nothing')

  const limited = await replay('--endpoint', 'partner', '--limit', '5')
  t.equal(limited.code, 0, `--limit 5 exits 0\n${limited.stderr}`)
  t.match(limited.stdout, 'partner: 5 delivered')
  t.match(limited.stdout, '--limit 5 reached')
  t.equal(delivered(receiver.at('/partner')).length, 5, 'five sent')

  const rest = await replay('--endpoint', 'partner')
  t.equal(rest.code, 0, `the full run exits 0\n${rest.stderr}`)
  t.match(rest.stdout, `partner: ${partnerIds.length - 5} delivered`)
  t.match(rest.stderr, /replay-dlq partner: 100% (\d+)\/\1 records, \d+\/s, ETA \d+s/, 'progress on stderr, ending at 100 %')
  const replayed = delivered(receiver.at('/partner'))
  t.same(replayed.map(idOf).sort(), [...partnerIds].sort(), 'every dead-lettered record delivered exactly once across the runs')
  t.ok(replayed.every(r => r.signatureValid), 'every replayed request carries a valid signature (verified independently)')
  for (const r of replayed) t.equal(r.headers['idempotency-key'], originalKeys.get(idOf(r)), `${idOf(r)}: the original idempotency key`)
  for (const r of replayed) t.equal(r.json.id, r.headers['idempotency-key'], 'the body carries the same key')
  t.equal(replayed.find(r => idOf(r) === 'e-0')?.headers.traceparent, TRACEPARENT, 'the record\'s traceparent is passed on')
  t.equal(delivered(receiver.at('/other')).length, 0, '--endpoint partner sent nothing to other (which is still down)')

  const again = await replay('--endpoint', 'partner')
  t.equal(again.code, 0)
  t.match(again.stdout, 'partner: 0 delivered')
  t.equal(delivered(receiver.at('/partner')).length, partnerIds.length, 'a second run sends nothing')

  // 3. Every endpoint: other still fails, so its replay stops (exit 1) and passes nothing.
  const otherBefore = receiver.at('/other').length
  const failing = await replay()
  t.equal(failing.code, 1, 'exit 1 when a partner fails again')
  t.match(failing.stdout, 'partner: 0 delivered')
  t.match(failing.stderr, /other: stopped: other is failing again/)
  t.comment(`replay output:\n${failing.stdout}${failing.stderr}`)
  t.ok(receiver.at('/other').length > otherBefore, 'other was tried')
  receiver.set('/other', 'ok')
  const recovered = await replay()
  t.equal(recovered.code, 0, `after other recovers, exit 0\n${recovered.stderr}`)
  t.match(recovered.stdout, `other: ${rewardIds.length} delivered`)
  t.same(delivered(receiver.at('/other')).map(idOf).sort(), [...rewardIds].sort(), 'other got every record after all: the stopped run passed none')
  t.ok(receiver.at('/other').every(r => r.signatureValid), 'other: every signature valid')
  t.equal(delivered(receiver.at('/partner')).length, partnerIds.length, 'partner got nothing more')

  // 4. Progress is in the consumer groups, at the DLQ's end.
  const parts = [0, 1].map(partition => ({ topic: dlqTopic, partition }))
  const ends = await log.admin.listOffsets(parts, 'latest')
  for (const g of groups.slice(1)) {
    const committed = await log.admin.listCommittedOffsets(g, parts)
    t.same(committed.map(c => c.offset).sort(), ends.map(e => e.offset).sort(), `${g} committed to the DLQ's end`)
  }
})

t.test('replay-dlq: bad input is refused clearly', async t => {
  const dir = t.testdir({})
  const file = join(dir, 'notifications.json')
  writeFileSync(file, JSON.stringify({ endpoints: [{ id: 'partner', url: 'http://127.0.0.1:9/x', secretEnv: 'PARTNER_SECRET', kinds: ['reward-confirmed'] }] }))
  const env = cleanEnv({ REWARDS_KAFKA_BROKERS: brokers.join(','), REWARDS_DATA_DIR: join(dir, 'data'), ...secrets })
  // Four independent refusals: run at once (each run is mostly module loading).
  const [none, unknown, badLimit, help] = await Promise.all([
    runCli(['notifications', 'replay-dlq'], { env, cwd: dir }),
    runCli(['notifications', 'replay-dlq', '--endpoint', 'nope'], { env: { ...env, REWARDS_NOTIFICATIONS_FILE: file }, cwd: dir }),
    runCli(['notifications', 'replay-dlq', '--limit', '0'], { env: { ...env, REWARDS_NOTIFICATIONS_FILE: file }, cwd: dir }),
    runCli(['notifications', 'replay-dlq', '--help'], { env, cwd: dir })
  ])
  t.equal(none.code, 2)
  t.match(none.stderr, /no notifications file \(REWARDS_NOTIFICATIONS_FILE/)
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /no endpoint "nope" in the notifications file .*notifications\.json \(endpoints: partner\)/)
  t.not(badLimit.code, 0)
  t.match(badLimit.stderr, /--limit must be a whole number ≥ 1/)
  t.equal(help.code, 0)
  t.match(help.stdout, /--endpoint <id>[\s\S]*--dry-run[\s\S]*--limit <n>[\s\S]*notifications-replay-<endpoint>/)
})
