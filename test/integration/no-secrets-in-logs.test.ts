// Log hygiene over a full run: every role (`rewards start --role all`) as a child process on the
// real Kafka broker, PostgreSQL and Redis, at REWARDS_LOG_LEVEL=debug, with tracing on (console
// exporter: every span and its attributes printed to stdout) and a partner webhook configured.
// The client is created with `rewards clients create --json`; then tokens (basic and post), a
// WRONG secret, events, a redemption, a balance read, a garbage bearer token and a tampered real
// one. Every line either process wrote (stdout and stderr; the create command's stdout excepted:
// printing the secret once is its job) is searched for every secret of the run: the client
// secret, its Basic credentials, the wrong secret, each bearer token, the database password and
// the webhook signing secret. None may appear. Each line of the start process must be JSON with
// level, time and msg (spans on stdout excepted), lines must show up at debug level from every
// role, and the rejected requests must have been logged (so the search had something to find).
import { pointsInternalTopics } from '../../processors/rewards/points-windows.ts'
import { createServer } from 'node:http'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { platformTopics } from '../../lib/platform-topics.ts'
import { createKafkaLog } from '../../log/kafka/index.ts'
import { REWARDS_STORES } from '../../processors/rewards/topics.ts'
import { createTestDatabase } from '../archive/archive-helpers.ts'
import { brokers, cleanEnv, runCli, RunningCli, unique, waitForStatus } from '../cli/cli-helpers.ts'

t.test('a full run at debug level logs no secret and no token', async t => {
  const prefix = `${unique('hygiene')}.`
  const appId = unique('hygiene-app')
  const topics = platformTopics({ topicPrefix: prefix })
  const database = await createTestDatabase('hygiene_test')
  t.teardown(database.drop)
  const log = createKafkaLog({ brokers, clientId: unique('hygiene-test') })
  t.teardown(async () => {
    await log.admin.deleteTopics([...Object.values(topics), `${prefix}notifications-dlq`, ...Object.values(REWARDS_STORES).map(s => `${appId}-${s}-changelog`), ...pointsInternalTopics(appId)]).catch(() => undefined)
    await log.close()
  })

  // PostgreSQL trusts local connections, so a password in the URL is accepted and ignored: it is
  // there to be searched for.
  const dbPassword = `pw-${randomBytes(12).toString('hex')}`
  const dbUrl = new URL(database.url)
  dbUrl.password = dbPassword
  const webhookSecret = `whsec-${randomBytes(16).toString('hex')}`
  const deliveries: string[] = []
  const receiver = createServer((request, response) => {
    request.resume()
    request.on('end', () => { deliveries.push(String(request.headers['rewards-webhook-signature'])); response.writeHead(204).end() })
  })
  await new Promise<void>(resolve => receiver.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { receiver.closeAllConnections(); receiver.close(() => resolve()) }))
  const dataDir = t.testdir({})
  const notificationsFile = join(dataDir, 'notifications.json')
  writeFileSync(notificationsFile, JSON.stringify({ endpoints: [{ id: 'partner', url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks`, secretEnv: 'PARTNER_WEBHOOK_SECRET', kinds: ['reward-confirmed', 'redeem-confirmed'] }] }))
  const env = cleanEnv({
    REWARDS_KAFKA_BROKERS: brokers.join(','),
    REWARDS_DATABASE_URL: dbUrl.toString(),
    REWARDS_REDIS_URL: process.env.REWARDS_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REWARDS_TOPIC_PREFIX: prefix,
    REWARDS_APPLICATION_ID: appId,
    REWARDS_DATA_DIR: dataDir,
    REWARDS_PARTITIONS: '2',
    REWARDS_HTTP_PORT: '0',
    REWARDS_LOG_LEVEL: 'debug',
    REWARDS_NOTIFICATIONS_FILE: notificationsFile,
    PARTNER_WEBHOOK_SECRET: webhookSecret,
    OTEL_TRACES_EXPORTER: 'console'
  })

  const created = await runCli(['clients', 'create', '--name', 'hygiene-test', '--scopes', 'events:write,redemptions:write,balances:read', '--json'], { cwd: dataDir, env, timeoutMs: 60_000 })
  t.equal(created.code, 0, `client created ${created.stderr}`)
  const { clientId, clientSecret } = JSON.parse(created.stdout) as { clientId: string, clientSecret: string }

  const cli = new RunningCli(['start', '--role', 'all', '--create-topics'], { cwd: dataDir, env })
  t.teardown(() => cli.kill())
  const base = `http://127.0.0.1:${await cli.httpPort(120_000)}`
  await waitForStatus(`${base}/health/ready`, 200, 180_000)

  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  const basic = Buffer.from(`${clientId}:${clientSecret}`).toString('base64')
  const wrongSecret = `wrong-${randomBytes(16).toString('hex')}`
  const wrongBasic = Buffer.from(`${clientId}:${wrongSecret}`).toString('base64')
  const tokens: string[] = []
  const viaBasic = await fetch(`${base}/oauth/token`, { method: 'POST', headers: { ...form, authorization: `Basic ${basic}` }, body: 'grant_type=client_credentials' })
  t.equal(viaBasic.status, 200, 'token (client_secret_basic)')
  tokens.push((await viaBasic.json() as { access_token: string }).access_token)
  const viaPost = await fetch(`${base}/oauth/token`, { method: 'POST', headers: form, body: `grant_type=client_credentials&client_id=${clientId}&client_secret=${clientSecret}` })
  t.equal(viaPost.status, 200, 'token (client_secret_post)')
  tokens.push((await viaPost.json() as { access_token: string }).access_token)
  t.equal((await fetch(`${base}/oauth/token`, { method: 'POST', headers: { ...form, authorization: `Basic ${wrongBasic}` }, body: 'grant_type=client_credentials' })).status, 401, 'a wrong secret (basic) is refused')
  t.equal((await fetch(`${base}/oauth/token`, { method: 'POST', headers: form, body: `grant_type=client_credentials&client_id=${clientId}&client_secret=${wrongSecret}` })).status, 401, 'a wrong secret (post) is refused')

  const token = tokens[0]!
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const memberId = unique('M')
  const now = new Date().toISOString()
  const events = [
    { eventId: unique('stay'), memberId, source: 'HOTEL', type: 'EARN', amountCents: 40_000, currency: 'USD', occurredAt: now, propertyId: 'P-1' },
    { eventId: unique('dinner'), memberId, source: 'DINING', type: 'EARN', amountCents: 12_000, currency: 'USD', occurredAt: now, propertyId: 'P-1' }
  ]
  t.equal((await fetch(`${base}/v1/events`, { method: 'POST', headers: auth, body: JSON.stringify(events) })).status, 202, 'events accepted')
  // The balance exists once the events are processed (read with the other token).
  let balance = 0
  for (const until = Date.now() + 120_000; balance !== 200 && Date.now() < until;) {
    balance = (await fetch(`${base}/v1/members/${memberId}/balance`, { headers: { authorization: `Bearer ${tokens[1]}` } })).status
    if (balance !== 200) await new Promise(resolve => setTimeout(resolve, 200))
  }
  t.equal(balance, 200, 'balance read')
  const redemption = await fetch(`${base}/v1/redemptions`, { method: 'POST', headers: { ...auth, prefer: 'wait=30' }, body: JSON.stringify({ redemptionId: unique('r'), memberId, points: 100, rewardCode: 'DINNER', channel: 'DINING', requestedAt: new Date().toISOString() }) })
  t.equal(redemption.status, 200, 'redemption decided')
  const garbage = `eyJ${randomBytes(24).toString('base64url')}.${randomBytes(24).toString('base64url')}.${randomBytes(24).toString('base64url')}`
  const tampered = `${token.slice(0, -6)}${token.slice(-6) === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA'}`
  for (const bad of [garbage, tampered]) {
    t.equal((await fetch(`${base}/v1/members/${memberId}/balance`, { headers: { authorization: `Bearer ${bad}` } })).status, 401, 'a bad bearer token is refused')
  }
  // The webhook has its deliveries (so the notifier logged its work too) before we stop.
  const deadline = Date.now() + 60_000
  while (deliveries.length < 3 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
  t.ok(deliveries.length >= 3, `the partner received the confirmations (${deliveries.length})`)

  cli.child.kill('SIGTERM')
  t.same(await cli.waitForExit(60_000), { code: 0, signal: null }, 'graceful stop')

  const secrets: Record<string, string> = {
    'client secret': clientSecret,
    'basic credentials': basic,
    'wrong secret': wrongSecret,
    'wrong basic credentials': wrongBasic,
    'token (basic)': tokens[0]!,
    'token (post)': tokens[1]!,
    'token signature': token.split('.')[2]!,
    'garbage token': garbage,
    'tampered token': tampered,
    'database password': dbPassword,
    'webhook secret': webhookSecret
  }
  t.ok(created.stdout.includes(clientSecret), 'control: the search finds the secret where it is meant to be (the create command\'s output)')
  const outputs: Record<string, string> = { 'clients create (stderr)': created.stderr, 'start (stderr)': cli.stderr, 'start (stdout)': cli.stdout }
  for (const [stream, text] of Object.entries(outputs)) {
    for (const [what, secret] of Object.entries(secrets)) {
      const at = text.split('\n').filter(line => line.includes(secret))
      t.same(at, [], `${what} never in ${stream}`)
    }
  }

  const lines = cli.stderr.split('\n').filter(Boolean)
  const unparsable = lines.filter(line => { try { const o = JSON.parse(line); return typeof o.level !== 'string' || typeof o.time !== 'string' || typeof o.msg !== 'string' } catch { return true } })
  t.same(unparsable, [], 'every log line is JSON with level, time and msg')
  t.ok(cli.lines.some(l => l.level === 'debug'), 'debug lines are logged at REWARDS_LOG_LEVEL=debug')
  for (const role of ['processor', 'api', 'archiver', 'auth', 'notifications']) t.ok(cli.lines.some(l => l.role === role), `the ${role} role logs`)
  const rejected = cli.lines.filter(l => l.msg === 'request' && l.status === 401)
  t.ok(rejected.length >= 4, `the refused requests were logged (${rejected.length}), with their request ids`)
  t.ok(rejected.every(l => typeof l.reqId === 'string' && typeof l.trace_id === 'string'), 'request lines carry reqId and trace_id (tracing on)')
  t.match(cli.stdout, /traceId/, 'spans were printed (the console exporter ran)')
})
