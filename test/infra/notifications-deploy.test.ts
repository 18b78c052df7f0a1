// The notifications role on AWS beyond the shipped (empty) webhooks files: with partner endpoints
// configured, each signing secret is a generated Secrets Manager secret injected under its
// `secretEnv`, and the task's file-writer container really writes a file the app accepts; a bad
// file fails synth naming the field; and the delivery-failure alarm's log filter matches the lines
// the role really writes when a partner fails (real EndpointDelivery against a real HTTP
// receiver), and not those of a healthy partner.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { Registry } from 'prom-client'
import { notificationFailurePattern } from '../../infra/aws/lib/alarms.ts'
import { createLogger } from '../../lib/logger.ts'
import { EndpointDelivery } from '../../processors/notifications/endpoint-delivery.ts'
import { loadNotificationsConfig, parseNotificationsConfig } from '../../lib/notifications-config.ts'
import { notificationsMetrics } from '../../processors/notifications/notifications-metrics.ts'
import { WebhookReceiver } from '../processors/notifications/webhook-receiver.ts'
import { synthesize } from './cdk-synth.ts'
import { matchesJsonFilter } from './cloudwatch-json-filter.ts'

const dir = mkdtempSync(join(tmpdir(), 'rewards-notifications-deploy-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const endpoints = [
  { id: 'hotel-crm', url: 'https://crm.example.com/hooks/rewards', secretEnv: 'HOTEL_CRM_WEBHOOK_SECRET', kinds: ['reward-confirmed'], sources: ['HOTEL'] },
  { id: 'loyalty-app', url: 'https://app.example.com/webhooks/rewards', secretEnv: 'LOYALTY_APP_WEBHOOK_SECRET', kinds: ['reward-confirmed', 'redeem-confirmed'] },
  // Two endpoints may share a secret: one Secrets Manager secret, one variable.
  { id: 'loyalty-app-eu', url: 'https://eu.app.example.com/webhooks/rewards', secretEnv: 'LOYALTY_APP_WEBHOOK_SECRET', kinds: ['redeem-confirmed'] }
]

type Resource = { Type: string, Properties?: Record<string, unknown> }
const refId = (value: unknown): string => (value as { Ref?: string }).Ref ?? JSON.stringify(value)

t.test('partner endpoints on AWS: generated secrets injected by name, the file written for the app', async t => {
  const file = join(dir, 'dev.json')
  writeFileSync(file, JSON.stringify({ endpoints }, null, 2))
  const { resources } = synthesize({ env: 'dev', notificationsFile: file })
  const all = Object.entries(resources) as Array<[string, Resource]>

  const secrets = all.filter(([, r]) => r.Type === 'AWS::SecretsManager::Secret' && String(r.Properties?.Name).startsWith('rewards-dev/webhooks/'))
  t.same(secrets.map(([, r]) => r.Properties?.Name).sort(), ['rewards-dev/webhooks/HOTEL_CRM_WEBHOOK_SECRET', 'rewards-dev/webhooks/LOYALTY_APP_WEBHOOK_SECRET'], 'one secret per secretEnv')
  for (const [id, secret] of secrets) {
    t.ok(secret.Properties?.KmsKeyId, `${id}: encrypted with the stack's key`)
    t.match(secret.Properties?.GenerateSecretString, { PasswordLength: 64, ExcludePunctuation: true }, `${id}: generated, 64 characters`)
  }

  const tasks = all.filter(([, r]) => r.Type === 'AWS::ECS::TaskDefinition').map(([, r]) => r.Properties?.ContainerDefinitions as Array<Record<string, unknown>>)
  const appOf = (role: string) => tasks.flat().find(c => c.Name === 'rewards' && (c.Command as string[])[2] === role)
  const secretsOf = (c: Record<string, unknown> | undefined) => ((c?.Secrets ?? []) as Array<{ Name: string, ValueFrom: unknown }>)
  const app = appOf('notifications')
  const webhookSecrets = secretsOf(app).filter(s => !s.Name.startsWith('REWARDS_'))
  t.same(webhookSecrets.map(s => s.Name).sort(), ['HOTEL_CRM_WEBHOOK_SECRET', 'LOYALTY_APP_WEBHOOK_SECRET'], 'the app container gets each secretEnv')
  const secretIdByName = new Map(secrets.map(([id, r]) => [String(r.Properties?.Name).split('/').pop(), id]))
  for (const s of webhookSecrets) t.equal(refId(s.ValueFrom), secretIdByName.get(s.Name), `${s.Name} comes from its own secret`)
  for (const role of ['processor', 'api', 'archiver', 'auth']) {
    t.notOk(secretsOf(appOf(role)).some(s => !s.Name.startsWith('REWARDS_')), `${role} gets no webhook secret`)
  }
  t.notMatch(JSON.stringify(tasks), /x{32}/, 'the synth-time stand-in secrets are nowhere in the template')

  // Run the file writer as ECS would (its entry point and command, its environment), writing to a
  // temporary path instead of the volume; then load the result as the app does, with the secrets.
  const writer = tasks.flat().find(c => c.Name === 'notifications-file')
  const entryPoint = writer?.EntryPoint as string[]
  const command = writer?.Command as string[]
  t.equal(command[1], '/etc/rewards/notifications/notifications.json', 'writes where REWARDS_NOTIFICATIONS_FILE points')
  t.ok((app?.Environment as Array<{ Name: string, Value: string }>).some(e => e.Name === 'REWARDS_NOTIFICATIONS_FILE' && e.Value === command[1]), 'the app reads it there')
  const env = Object.fromEntries((writer?.Environment as Array<{ Name: string, Value: string }>).map(e => [e.Name, e.Value]))
  const target = join(dir, 'written.json')
  const run = (content: string | undefined) => spawnSync(process.execPath, [...entryPoint.slice(1), command[0] ?? '', target], {
    env: { PATH: process.env.PATH, ...(content === undefined ? env : { [command[0] ?? '']: content }) },
    encoding: 'utf8'
  })
  t.equal(entryPoint[0], 'node', 'runs node from the image')
  t.notMatch(JSON.stringify(writer), /\$\{/, 'no ${…} that CloudFormation would read as a parameter')
  const ok = run(undefined)
  t.equal(ok.status, 0, `the writer succeeds ${ok.stderr}`)
  t.match(ok.stdout, /^wrote .*written\.json \(\d+ bytes\)/)
  t.equal(statSync(target).mode & 0o777, 0o444, 'read-only file')
  const loaded = loadNotificationsConfig(target, { HOTEL_CRM_WEBHOOK_SECRET: 'h'.repeat(40), LOYALTY_APP_WEBHOOK_SECRET: 'l'.repeat(40) })
  t.same(loaded.endpoints.map(e => e.id), endpoints.map(e => e.id), 'the app loads the written file: every endpoint')
  t.same(JSON.parse(readFileSync(target, 'utf8')), { endpoints }, 'the same content as the repository file')
  const bad = run('{"endpoints": [')
  t.not(bad.status, 0, 'content that is not JSON fails the writer (and so the task, before the app starts)')
  t.match(bad.stderr, /JSON/)
})

t.test('a bad notifications file fails synth, naming the file and the field', async t => {
  const file = join(dir, 'bad.json')
  writeFileSync(file, JSON.stringify({ endpoints: [{ ...endpoints[0], kinds: ['reward-issued'] }] }))
  t.throws(() => synthesize({ env: 'dev', notificationsFile: file }), new RegExp(`notifications file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*kinds`))
  const notJson = join(dir, 'not.json')
  writeFileSync(notJson, '{ endpoints: ')
  t.throws(() => synthesize({ env: 'dev', notificationsFile: notJson }), /notifications file .*not\.json/)
})

t.test('the delivery-failure filter matches what the role logs when a partner fails, and only that', async t => {
  const receiver = new WebhookReceiver()
  const base = await receiver.start()
  t.teardown(() => receiver.close())
  const secret = 's'.repeat(32)
  const config = parseNotificationsConfig({
    endpoints: [
      { id: 'failing', url: `${base}/failing`, secretEnv: 'S', kinds: ['reward-confirmed'], maxAttempts: 1, breakerFailureThreshold: 1, breakerOpenMs: 200 },
      { id: 'refusing', url: `${base}/refusing`, secretEnv: 'S', kinds: ['reward-confirmed'] },
      { id: 'healthy', url: `${base}/healthy`, secretEnv: 'S', kinds: ['reward-confirmed'] }
    ]
  }, 'test', { S: secret })
  receiver.endpoint('/failing', secret, 'fail')
  receiver.endpoint('/refusing', secret, () => 'bad-request')
  receiver.endpoint('/healthy', secret, 'ok')

  const lines: Array<Record<string, unknown>> = []
  const logger = createLogger({
    level: 'info',
    base: { role: 'notifications' },
    destination: new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(...chunk.toString('utf8').split('\n').filter(l => l !== '').map(l => JSON.parse(l) as Record<string, unknown>)); done() } })
  })
  const metrics = notificationsMetrics(new Registry())
  const [failing, refusing, healthy] = config.endpoints.map(e => new EndpointDelivery(e, metrics, logger))
  const job = (n: number) => ({ kind: 'reward-confirmed', idempotencyKey: `k${n}`, body: Buffer.from(`{"id":"k${n}"}`), recordHeaders: {}, signal: new AbortController().signal })
  const matching = (from: number) => lines.slice(from).filter(line => matchesJsonFilter(notificationFailurePattern.logPatternString, JSON.stringify(line)))

  t.match(await healthy!.deliver(job(1)), { result: 'delivered' })
  t.same(matching(0), [], 'a healthy partner: no failure line')

  let mark = lines.length
  t.match(await failing!.deliver(job(2)), { result: 'failed', reason: 'RETRIES_EXHAUSTED' })
  const failed = matching(mark)
  t.ok(failed.length >= 2, `the failing partner: ${failed.map(l => String(l.msg)).join(' | ')}`)
  t.ok(failed.some(l => /circuit OPEN/.test(String(l.msg))), 'its circuit opening counts')
  t.ok(failed.some(l => /giving up/.test(String(l.msg))), 'its delivery giving up counts')
  t.ok(failed.every(l => l.endpoint === 'failing'), 'each names the endpoint')

  mark = lines.length
  t.match(await refusing!.deliver(job(3)), { result: 'failed', reason: 'REFUSED' })
  t.same(matching(mark).map(l => l.endpoint), ['refusing'], 'a partner refusing a record (4xx): one failure line')

  // Recovery: the trial call succeeds and the circuit closes; those lines are not failures.
  receiver.set('/failing', 'ok')
  mark = lines.length
  t.match(await failing!.deliver(job(4)), { result: 'delivered' })
  t.ok(lines.slice(mark).some(l => /circuit CLOSED/.test(String(l.msg))), 'the circuit closed (logged)')
  t.same(matching(mark), [], 'recovery lines are not failures')
})
