// The DLQ replay on the embedded log (the same port as Kafka), with a real HTTP receiver: the
// notifier dead-letters while the partner fails (and a record that is not JSON as MALFORMED);
// after recovery replayDlq() delivers each record once with its original idempotency key, reports
// a record the partner refuses (400) and the malformed one without blocking the rest, keeps its
// progress in the replay group (a second run sends nothing), and a dry run sends nothing.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import t from 'tap'
import { openEmbeddedLog } from '../../../log/embedded/index.ts'
import { replayDlq, replayGroupId, type SkippedRecord } from '../../../processors/notifications/dlq-replay.ts'
import { parseNotificationsConfig } from '../../../lib/notifications-config.ts'
import { startNotifier } from '../../../processors/notifications/notifier.ts'
import { counter, rewardConfirmed, until } from './notifications-test-helpers.ts'
import { WebhookReceiver, type ReceivedRequest } from './webhook-receiver.ts'

const SECRET = 'embedded-secret-0123456789'
const idOf = (r: ReceivedRequest): string => String(r.json.data.eventId)

t.test('replayDlq on the embedded log: delivered once, refused and malformed reported, progress kept', async t => {
  // Its own directory, removed only after the log is closed (the test's last teardown step).
  const dir = mkdtempSync(join(tmpdir(), 'rewards-replay-embedded-'))
  const log = await openEmbeddedLog({ dir: join(dir, 'log') })
  const closing: Array<() => Promise<void>> = []
  t.teardown(async () => {
    for (const close of closing.reverse()) await close().catch(() => undefined)
    await log.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const topics = { rewardConfirmed: 'reward-confirmed', redeemConfirmed: 'redeem-confirmed' }
  const dlqTopic = 'notifications-dlq'
  await log.admin.createTopics([topics.rewardConfirmed, topics.redeemConfirmed, dlqTopic].map(name => ({ name, partitions: 2 })))

  const receiver = new WebhookReceiver()
  await receiver.start()
  t.teardown(() => receiver.close())
  const url = receiver.endpoint('/partner', SECRET, 'fail')
  const [endpoint] = parseNotificationsConfig({
    endpoints: [{ id: 'partner', url, secretEnv: 'PARTNER_SECRET', kinds: ['reward-confirmed'], timeoutMs: 1000, maxAttempts: 2, backoffInitialMs: 10, backoffMaxMs: 50, breakerFailureThreshold: 3, breakerOpenMs: 200 }]
  }, 'test', { PARTNER_SECRET: SECRET }).endpoints

  const registry = new Registry()
  const notifier = await startNotifier({ log, topics, dlqTopic, endpoints: [endpoint!], groupId: 'notify-embedded', registry, commitIntervalMs: 200, closeGraceMs: 1000 })
  let closed = false
  closing.push(async () => { if (!closed) await notifier.close() })
  await notifier.ready
  const ids = Array.from({ length: 8 }, (_, i) => `e-${i}`)
  const producer = await log.createProducer({ clientId: 'notify-embedded-producer' })
  closing.push(() => producer.close())
  await producer.send([
    ...ids.map((id, i) => rewardConfirmed(topics.rewardConfirmed, id, i)),
    { topic: topics.rewardConfirmed, key: Buffer.from('M-x'), value: Buffer.from('not json') }
  ])
  await until('every record dead-lettered', async () => await counter(registry, 'rewards_notifications_dlq_records_total', { endpoint: 'partner' }) === ids.length + 1, 120_000)
  t.equal(await counter(registry, 'rewards_notifications_dlq_records_total', { endpoint: 'partner', reason: 'MALFORMED' }), 1, 'the record that is not JSON: MALFORMED')
  closed = true
  await notifier.close()
  const originalKeys = new Map(receiver.at('/partner').map(r => [idOf(r), r.headers['idempotency-key']!]))
  t.equal(originalKeys.size, ids.length)

  const groupId = replayGroupId('rewards', 'partner')
  t.equal(groupId, 'rewards-notifications-replay-partner')
  const seenBefore = receiver.requests.length
  const dry = await replayDlq({ log, dlqTopic, endpoint: endpoint!, groupId, dryRun: true })
  t.match(dry, { replayed: ids.length, unreplayable: 1, refused: 0, stopped: null, read: ids.length + 1, total: ids.length + 1 }, 'dry run counts')
  t.equal(receiver.requests.length, seenBefore, 'the dry run sent nothing')
  t.same(await log.admin.listCommittedOffsets(groupId, [0, 1].map(partition => ({ topic: dlqTopic, partition }))), [], 'and recorded no progress')

  // The partner is back, but refuses e-3 for good (400).
  receiver.set('/partner', request => idOf(request) === 'e-3' ? 'bad-request' : 'ok')
  const skipped: SkippedRecord[] = []
  const run = await replayDlq({ log, dlqTopic, endpoint: endpoint!, groupId, onSkipped: s => skipped.push(s) })
  t.match(run, { replayed: ids.length - 1, refused: 1, unreplayable: 1, stopped: null, limited: false })
  t.same(skipped.map(s => s.why).sort(), ['refused', 'unreplayable'])
  t.match(skipped.find(s => s.why === 'refused'), { detail: 'HTTP 400', source: /^reward-confirmed\/\d@\d+$/ })
  const delivered = receiver.at('/partner').filter(r => r.answered === 200)
  t.same(delivered.map(idOf).sort(), ids.filter(id => id !== 'e-3').sort(), 'every other record delivered once')
  t.ok(delivered.every(r => r.signatureValid && r.headers['idempotency-key'] === originalKeys.get(idOf(r))), 'valid signatures, original keys')

  const again = await replayDlq({ log, dlqTopic, endpoint: endpoint!, groupId })
  t.match(again, { read: 0, total: 0, replayed: 0, refused: 0 }, 'a second run reads and sends nothing (the refused record is not retried)')
  t.equal(receiver.at('/partner').filter(r => r.answered === 200).length, ids.length - 1)
})
