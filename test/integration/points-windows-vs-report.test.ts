// The points windows against the SQL report, end to end on real Kafka + PostgreSQL: `rewards
// start` (processor, api, archiver, auth) runs; the test publishes reward events over three
// properties, three sources and four UTC days (a reversal, a duplicate, a rejected reversal
// among them), day by day, then one event per property at the present to close the earlier
// windows; then every window GET /v1/properties/{id}/points calls closed equals the archive's
// figures: the points-issued report (summed over sources) for days, the report's own SQL
// (ISSUED_DECISIONS) grouped by UTC hour for hours. Every report day before the last closed one
// is in the route's answer.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, Partitioners, logLevel } from 'kafkajs'
import pg from 'pg'
import t from 'tap'
import { ensurePlatformTopics, platformTopics } from '../../lib/platform-topics.ts'
import { ISSUED_DECISIONS } from '../../processors/reports/points-issued.ts'
import { POINTS_WINDOW_STORES, pointsRepartitionTopic } from '../../processors/rewards/points-windows.ts'
import { REWARDS_STORES } from '../../processors/rewards/topics.ts'
import { changelogTopicName } from '../../topology/runtime/stream-task.ts'
import { createKafkaLog } from '../../log/kafka/index.ts'
import { brokers, cleanEnv, clientToken, runCli, RunningCli, unique, waitForStatus } from '../cli/cli-helpers.ts'
import { createTestDatabase, waitFor } from '../archive/archive-helpers.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const PROPERTIES = ['LV-01', 'AC-02', 'NY-03']
const SOURCES = ['HOTEL', 'DINING', 'CASINO']

interface Figures { earnEvents: number, earnedPoints: number, reversalEvents: number, reversedPoints: number, points: number }

t.test('closed points windows equal the points-issued report on the archive', async t => {
  const prefix = `${unique('ptswin')}.`
  const appId = unique('ptswin-app')
  const database = await createTestDatabase('ptswin_e2e')
  t.teardown(database.drop)
  const log = createKafkaLog({ brokers, clientId: 'ptswin-test' })
  t.teardown(() => log.close())
  await ensurePlatformTopics(log, { topicPrefix: prefix, partitions: 3 })
  const topics = platformTopics({ topicPrefix: prefix })
  const stores = [...Object.values(REWARDS_STORES), ...Object.values(POINTS_WINDOW_STORES)]
  t.teardown(() => log.admin.deleteTopics([...Object.values(topics), ...stores.map(s => changelogTopicName(appId, s)), pointsRepartitionTopic(appId)]))
  const cwd = mkdtempSync(join(tmpdir(), 'ptswin-e2e-'))
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }))
  const env = cleanEnv({
    REWARDS_KAFKA_BROKERS: brokers.join(','),
    REWARDS_DATABASE_URL: database.url,
    REWARDS_TOPIC_PREFIX: prefix,
    REWARDS_APPLICATION_ID: appId,
    REWARDS_DATA_DIR: join(cwd, 'data'),
    REWARDS_HTTP_PORT: '0',
    REWARDS_PARTITIONS: '3'
  })
  const cli = new RunningCli(['start'], { cwd, env })
  t.teardown(() => cli.kill())
  const port = await cli.httpPort(120_000)
  const base = `http://127.0.0.1:${port}`
  await waitForStatus(`${base}/health/ready`, 200, 180_000)

  // Event times over four UTC days ending three days ago (within the broker's 7-day retention).
  const today = Math.floor(Date.now() / DAY) * DAY
  const firstDay = today - 6 * DAY
  const kafka = new Kafka({ clientId: 'ptswin-kafkajs', brokers, logLevel: logLevel.NOTHING })
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true })
  await producer.connect()
  t.teardown(() => producer.disconnect())
  const pool = new pg.Pool({ connectionString: database.url, max: 1 })
  t.teardown(() => pool.end())
  // Accepted decisions archived (each once: a single run of the processor re-emits nothing).
  const decided = async (): Promise<number> => Number((await pool.query<{ n: string }>("SELECT count(DISTINCT (member_id, event_id)) AS n FROM archive_records WHERE kind = 'reward-confirmed'")).rows[0]!.n)
  let expectedDecided = 0
  const send = async (events: object[], decisions: number): Promise<void> => {
    await producer.send({ topic: topics.rewardEvents, acks: -1, messages: events.map(e => ({ key: (e as { memberId: string }).memberId, value: JSON.stringify(e) })) })
    expectedDecided += decisions
    await waitFor(`${expectedDecided} decisions archived`, async () => await decided() >= expectedDecided, 180_000, 300)
  }
  let n = 0
  const earn = (memberId: string, property: string, source: string, at: number, cents: number): Record<string, unknown> =>
    ({ eventId: `e${++n}`, memberId, source, type: 'EARN', amountCents: cents, currency: 'USD', occurredAt: new Date(at).toISOString(), propertyId: property })
  // Day by day (a day's events counted before the next day's are sent: docs/rewards.md,
  // "Points issued per property", on decisions later than the grace).
  for (let d = 0; d < 4; d++) {
    const events: Array<Record<string, unknown>> = []
    for (const [p, property] of PROPERTIES.entries()) {
      for (let i = 0; i < 6; i++) {
        const at = firstDay + d * DAY + (i * 4 + p) * HOUR + 7 * 60_000
        events.push(earn(`M${(i + d) % 5}`, property, SOURCES[(i + p) % 3]!, at, 1_000 + 700 * i + 100 * d))
      }
    }
    let decisions = events.length
    if (d === 1) {
      const original = events[0]!
      events.push({ ...original }) // a duplicate: no decision of its own
      events.push({ ...earn(original.memberId as string, 'AC-02', 'HOTEL', firstDay + d * DAY + 20 * HOUR, 0), type: 'REVERSAL', originalEventId: original.eventId }) // its own property and hour
      events.push({ ...earn('M4', 'NY-03', 'HOTEL', firstDay + d * DAY + 21 * HOUR, 0), type: 'REVERSAL', originalEventId: 'nothing' }) // ORIGINAL_NOT_FOUND
      decisions += 1 // the reversal; the duplicate and the rejected reversal confirm nothing
    }
    await send(events, decisions)
  }
  // The present, per property: stream time passes every earlier window's end + grace.
  await send(PROPERTIES.map(property => earn('M9', property, 'HOTEL', Date.now() - 60_000, 100)), PROPERTIES.length)

  const created = await runCli(['clients', 'create', '--name', 'ptswin', '--scopes', 'reports:read', '--json'], { cwd, env })
  t.equal(created.code, 0, created.stderr)
  const { clientId, clientSecret } = JSON.parse(created.stdout) as { clientId: string, clientSecret: string }
  const token = await clientToken(base, clientId, clientSecret, 'reports:read')
  const get = async (path: string): Promise<any> => { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON answers
    const r = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })
    t.equal(r.status, 200, path)
    return await r.json()
  }
  const fromDay = new Date(firstDay).toISOString().slice(0, 10)
  const toDay = new Date(today).toISOString().slice(0, 10)
  const report = await get(`/v1/reports/points-issued?from=${fromDay}&to=${toDay}`)
  const sqlHours = await pool.query<Record<string, string>>(`${ISSUED_DECISIONS}
    SELECT property_id AS property, to_char(date_trunc('hour', event_time AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:00:00.000"Z"') AS start,
      count(*) FILTER (WHERE event_type = 'EARN')::text AS earn_events, coalesce(sum(points) FILTER (WHERE event_type = 'EARN'), 0)::text AS earned,
      count(*) FILTER (WHERE event_type = 'REVERSAL')::text AS reversal_events, coalesce(-sum(points) FILTER (WHERE event_type = 'REVERSAL'), 0)::text AS reversed,
      sum(points)::text AS net
    FROM decisions GROUP BY 1, 2`, [topics.rewardConfirmed, topics.rewardEvents, `${fromDay}T00:00:00Z`, new Date(today + DAY).toISOString(), null, null])

  const fromReport = new Map<string, Figures>() // `${property}@${start}`
  const add = (key: string, f: Figures): void => {
    const v = fromReport.get(key) ?? { earnEvents: 0, earnedPoints: 0, reversalEvents: 0, reversedPoints: 0, points: 0 }
    fromReport.set(key, { earnEvents: v.earnEvents + f.earnEvents, earnedPoints: v.earnedPoints + f.earnedPoints, reversalEvents: v.reversalEvents + f.reversalEvents, reversedPoints: v.reversedPoints + f.reversedPoints, points: v.points + f.points })
  }
  for (const row of report.rows as Array<Record<string, number | string>>) {
    add(`day:${row.property as string}@${row.day as string}T00:00:00.000Z`, { earnEvents: row.earnEvents as number, earnedPoints: row.earnedPoints as number, reversalEvents: row.reversalEvents as number, reversedPoints: row.reversedPoints as number, points: row.netPoints as number })
  }
  for (const r of sqlHours.rows) {
    add(`hour:${r.property!}@${r.start!}`, { earnEvents: Number(r.earn_events), earnedPoints: Number(r.earned), reversalEvents: Number(r.reversal_events), reversedPoints: Number(r.reversed), points: Number(r.net) })
  }
  t.ok(report.rows.some((r: { reversalEvents: number }) => r.reversalEvents > 0), 'the report has a reversal')

  const from = new Date(firstDay).toISOString()
  const to = new Date(today + DAY).toISOString()
  for (const window of ['hour', 'day'] as const) {
    let closed = 0
    for (const property of PROPERTIES) {
      const answer = await get(`/v1/properties/${property}/points?from=${from}&to=${to}&window=${window}`)
      const windows = answer.windows as Array<Figures & { start: string, end: string, closed: boolean }>
      const lastClosedEnd = Math.max(0, ...windows.filter(w => w.closed).map(w => Date.parse(w.end)))
      for (const w of windows.filter(w => w.closed)) {
        closed++
        const { start: _s, end: _e, closed: _c, ...figures } = w
        t.same(figures, fromReport.get(`${window}:${property}@${w.start}`), `${window} ${property} ${w.start}: route = report`)
      }
      // Every report window of this property ending by the last closed one is in the route's answer, closed.
      const reportStarts = [...fromReport.keys()].filter(k => k.startsWith(`${window}:${property}@`)).map(k => k.split('@')[1]!)
        .filter(s => Date.parse(s) + (window === 'hour' ? HOUR : DAY) <= lastClosedEnd)
      t.same(reportStarts.filter(s => !windows.some(w => w.start === s && w.closed)), [], `${window} ${property}: no closed report window missing`)
    }
    t.ok(closed >= (window === 'hour' ? 60 : 6), `${window}: ${closed} closed windows compared`)
  }
})
