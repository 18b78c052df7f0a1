// With no OpenTelemetry SDK registered (the default: no OTEL_* configured) tracing costs nothing
// and breaks nothing: the platform runs on Kafka + PostgreSQL as before, a caller's `traceparent`
// still travels unchanged into the records (and the archive's trace_id), a request without one
// adds none, and no log line carries trace fields.
import { PassThrough } from 'node:stream'
import pg from 'pg'
import t from 'tap'
import { ClientStore } from '../../../api/auth/client-store.ts'
import { rewardsPlatform } from '../../../cli/rewards-platform.ts'
import { runPlatform } from '../../../cli/run-platform.ts'
import { SignalTrap } from '../../../cli/signal-trap.ts'
import { loadConfig } from '../../../lib/config.ts'
import { createLogger } from '../../../lib/logger.ts'
import { platformTopics } from '../../../lib/platform-topics.ts'
import { startArchiveBatchSpan } from '../../../lib/tracing/archive-batch-span.ts'
import { tracingActive } from '../../../lib/tracing/tracer.ts'
import { createKafkaLog } from '../../../log/kafka/index.ts'
import { REWARDS_STORES } from '../../../processors/rewards/topics.ts'
import { createTestDatabase, openMigrated, waitFor } from '../../archive/archive-helpers.ts'
import { brokers, unique, waitForStatus } from '../../cli/cli-helpers.ts'

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

t.test('no SDK: nothing recorded, traceparent passes through, nothing breaks', async t => {
  t.equal(tracingActive(), false, 'no tracer provider registered')
  t.equal(startArchiveBatchSpan([{ topic: 'x', headers: { traceparent: TRACEPARENT } }]).isRecording(), false, 'spans are no-ops')

  const prefix = `${unique('notrace')}.`
  const appId = unique('notrace-app')
  const topics = platformTopics({ topicPrefix: prefix })
  const database = await createTestDatabase('notrace_test')
  t.teardown(database.drop)
  const log = createKafkaLog({ brokers, clientId: unique('notrace-test') })
  t.teardown(async () => {
    await log.admin.deleteTopics([...Object.values(topics), ...Object.values(REWARDS_STORES).map(s => `${appId}-${s}-changelog`)]).catch(() => undefined)
    await log.close()
  })
  const dataDir = t.testdir({})
  const db = await openMigrated(database.url, dataDir)
  const { client: { clientId }, clientSecret } = await new ClientStore(db).create({ name: 'notrace-test', scopes: ['events:write'] })
  await db.close()

  const config = loadConfig({
    env: { REWARDS_KAFKA_BROKERS: brokers.join(','), REWARDS_DATABASE_URL: database.url, REWARDS_TOPIC_PREFIX: prefix, REWARDS_APPLICATION_ID: appId, REWARDS_DATA_DIR: dataDir, REWARDS_PARTITIONS: '1', REWARDS_HTTP_PORT: '0' },
    cwd: dataDir
  })
  const lines: Array<Record<string, unknown>> = []
  const stream = new PassThrough()
  let partial = ''
  let portSeen: (port: number) => void = () => {}
  const port = new Promise<number>(resolve => { portSeen = resolve })
  stream.on('data', chunk => {
    const parts = (partial + String(chunk)).split('\n')
    partial = parts.pop()!
    for (const part of parts) {
      const line = JSON.parse(part) as Record<string, unknown>
      lines.push(line)
      if (typeof line.msg === 'string' && line.msg.startsWith('HTTP listening')) portSeen(line.port as number)
    }
  })
  const signals = new SignalTrap()
  t.teardown(() => signals.release())
  const done = runPlatform({ config, logger: createLogger({ level: 'debug', destination: stream }), platform: rewardsPlatform(config), requested: ['processor', 'api', 'archiver', 'auth'], createTopics: true, signals })
  let stopped = false
  t.teardown(async () => { if (!stopped) { process.kill(process.pid, 'SIGTERM'); await done } })
  const base = `http://127.0.0.1:${await port}`
  await waitForStatus(`${base}/health/ready`, 200, 180_000)
  const tokenResponse = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials'
  })
  const { access_token: token } = await tokenResponse.json() as { access_token: string }

  const traced = unique('M')
  const untraced = unique('M')
  for (const [memberId, extra] of [[traced, { traceparent: TRACEPARENT }], [untraced, {}]] as const) {
    const response = await fetch(`${base}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...extra },
      body: JSON.stringify({ eventId: unique('e'), memberId, source: 'HOTEL', type: 'EARN', amountCents: 10_000, currency: 'USD', occurredAt: new Date().toISOString(), propertyId: 'P-1' })
    })
    t.equal(response.status, 202, `event of ${memberId} accepted`)
  }

  const archive = new pg.Client({ connectionString: database.url })
  await archive.connect()
  t.teardown(() => archive.end())
  const rows = await waitFor('both events and their confirmations archived', async () => {
    const result = await archive.query<{ member_id: string, kind: string, headers: Record<string, string>, trace_id: string | null }>(
      'SELECT member_id, kind, headers, trace_id FROM archive_records WHERE member_id = ANY($1) ORDER BY member_id, kind', [[traced, untraced]])
    return result.rows.length >= 4 ? result.rows : undefined
  }, 120_000)
  for (const row of rows.filter(r => r.member_id === traced)) {
    t.equal(row.headers.traceparent, TRACEPARENT, `${row.kind}: the caller's traceparent, unchanged`)
    t.equal(row.trace_id, '0af7651916cd43dd8448eb211c80319c')
  }
  for (const row of rows.filter(r => r.member_id === untraced)) {
    t.equal(row.headers.traceparent, undefined, `${row.kind}: no traceparent invented`)
    t.equal(row.trace_id, null)
  }
  t.ok(lines.some(l => l.msg === 'request' && l.url === '/v1/events'), 'requests are logged')
  t.same(lines.filter(l => 'trace_id' in l || 'span_id' in l), [], 'no log line has trace fields without an SDK')
  t.same(lines.filter(l => l.level === 'error' || l.level === 'fatal'), [], 'no error logged')

  process.kill(process.pid, 'SIGTERM')
  stopped = true
  t.equal(await done, 0, 'the platform stops cleanly')
})
