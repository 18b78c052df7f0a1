// The notifications role as its own process (`rewards start --role notifications`) beside a
// processor process, on the real broker, with a real HTTP receiver: while the partner hangs the
// processor keeps confirming at full speed (its own consumer group; nothing waits on webhooks),
// then the notifications process is killed (SIGKILL) and restarted: every notification arrives at
// least once, with a valid signature, none lost.
import { pointsInternalTopics } from '../../processors/rewards/points-windows.ts'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createKafkaLog } from '../../log/kafka/index.ts'
import type { LogRecord } from '../../log/log-port.ts'
import { REWARDS_STORES } from '../../processors/rewards/topics.ts'
import { brokers, cleanEnv, rewardEvent, RunningCli, unique, waitForStatus } from '../cli/cli-helpers.ts'
import { WebhookReceiver, type ReceivedRequest } from '../processors/notifications/webhook-receiver.ts'

const SECRET = 'partner-secret-0123456789abcdef'
const delivered = (requests: ReceivedRequest[]): Set<string> => new Set(requests.filter(r => r.answered === 200).map(r => String(r.json.data.eventId)))

t.test('notifications process: partner hangs, processor unaffected; kill -9 and restart lose nothing', async t => {
  const prefix = `${unique('notify-kill')}.`
  const appId = unique('notify-app')
  const dir = t.testdir({})
  const receiver = new WebhookReceiver()
  await receiver.start()
  t.teardown(() => receiver.close())
  const url = receiver.endpoint('/partner', SECRET, 'ok')
  const file = join(dir, 'notifications.json')
  writeFileSync(file, JSON.stringify({ endpoints: [{ id: 'partner', url, secretEnv: 'PARTNER_WEBHOOK_SECRET', kinds: ['reward-confirmed'], timeoutMs: 500, maxAttempts: 100, concurrency: 4, backoffInitialMs: 50, backoffMaxMs: 500, breakerOpenMs: 1000 }] }))
  const env = cleanEnv({
    REWARDS_KAFKA_BROKERS: brokers.join(','),
    REWARDS_TOPIC_PREFIX: prefix,
    REWARDS_APPLICATION_ID: appId,
    REWARDS_PARTITIONS: '2',
    REWARDS_HTTP_PORT: '0',
    REWARDS_NOTIFICATIONS_FILE: file,
    PARTNER_WEBHOOK_SECRET: SECRET
  })
  const log = createKafkaLog({ brokers, clientId: unique('notify-kill-test') })
  const topics = ['reward-events', 'redeem-events', 'reward-confirmed', 'redeem-confirmed', 'reward-events-dlq', 'redeem-events-dlq', 'notifications-dlq'].map(n => prefix + n)
  t.teardown(async () => {
    await log.admin.deleteTopics([...topics, ...Object.values(REWARDS_STORES).map(s => `${appId}-${s}-changelog`), ...pointsInternalTopics(appId)]).catch(() => undefined)
    await log.admin.deleteGroup(appId).catch(() => undefined)
    await log.admin.deleteGroup(`${appId}-notifications`).catch(() => undefined)
    await log.close()
  })

  const processor = new RunningCli(['start', '--role', 'processor', '--create-topics', '--data-dir', join(dir, 'processor')], { cwd: dir, env })
  t.teardown(() => processor.kill())
  await waitForStatus(`http://127.0.0.1:${await processor.httpPort()}/health/ready`, 200)
  const startNotifications = async (): Promise<RunningCli> => {
    const cli = new RunningCli(['start', '--role', 'notifications', '--create-topics', '--data-dir', join(dir, 'notifications')], { cwd: dir, env })
    t.teardown(() => cli.kill())
    const ready = await waitForStatus(`http://127.0.0.1:${await cli.httpPort()}/health/ready`, 200)
    t.match(await ready.json(), { checks: { notifications: { ready: true, detail: /delivering to 1 endpoint/ } } })
    return cli
  }
  let notifications = await startNotifications()
  t.same((await log.admin.describeTopics([`${prefix}notifications-dlq`])).map(d => d.partitions), [2], 'the role created its DLQ topic')

  const producer = await log.createProducer({ clientId: unique('notify-kill-producer') })
  t.teardown(() => producer.close())
  const send = (ids: string[]) => producer.send(ids.map((id, i) => ({ topic: `${prefix}reward-events`, key: Buffer.from(`K-${i % 5}`), value: rewardEvent(`K-${i % 5}`, id, 10_000 + i) })))

  // A: delivered while the partner answers.
  const batchA = Array.from({ length: 10 }, (_, i) => `a-${i}`)
  await send(batchA)
  await receiver.until(() => batchA.every(id => delivered(receiver.at('/partner')).has(id)), 'batch A delivered')

  // B: the partner hangs; the processor confirms all of B anyway, and fast.
  receiver.set('/partner', 'hang')
  const batchB = Array.from({ length: 40 }, (_, i) => `b-${i}`)
  const sentAt = Date.now()
  await send(batchB)
  const reader = log.createPartitionReader({ clientId: unique('notify-kill-reader') })
  reader.assign([0, 1].map(partition => ({ topic: `${prefix}reward-confirmed`, partition, offset: 0n })))
  const confirmed: LogRecord[] = []
  const deadline = Date.now() + 120_000
  while (confirmed.length < 50 && Date.now() < deadline) confirmed.push(...await reader.poll(200))
  await reader.close()
  const confirmMs = Date.now() - sentAt
  t.equal(confirmed.length, 50, `the processor confirmed all of B (${confirmMs} ms) while the partner hangs`)
  await receiver.until(() => receiver.at('/partner').some(r => String(r.json.data.eventId).startsWith('b-')), 'B reaches the hanging partner')
  t.equal([...delivered(receiver.at('/partner'))].filter(id => id.startsWith('b-')).length, 0, 'none of B delivered yet')

  // Kill -9 the notifications process mid-delivery, let the partner recover, restart.
  notifications.child.kill('SIGKILL')
  await notifications.exited
  receiver.set('/partner', 'ok')
  notifications = await startNotifications()
  await receiver.until(() => [...batchA, ...batchB].every(id => delivered(receiver.at('/partner')).has(id)), 'every notification delivered after the restart')
  t.ok(receiver.requests.every(r => r.signatureValid), `every request (${receiver.requests.length}) carries a valid signature`)
  const keys = new Map<string, Set<string>>()
  for (const r of receiver.at('/partner')) keys.set(String(r.json.data.eventId), (keys.get(String(r.json.data.eventId)) ?? new Set()).add(r.headers['idempotency-key']!))
  t.ok([...keys.values()].every(k => k.size === 1), 'redeliveries after the restart carry the same idempotency key')

  notifications.child.kill('SIGTERM')
  t.same(await notifications.waitForExit(30_000), { code: 0, signal: null }, 'SIGTERM: exit 0')
  processor.child.kill('SIGTERM')
  t.same(await processor.waitForExit(30_000), { code: 0, signal: null })
})
