// Reports end to end on real Kafka + PostgreSQL: `rewards start` (processor, api, archiver,
// auth) runs; the test publishes a known set of events with an independent client (kafkajs) —
// three sources, three properties, three UTC days, a reversal, a duplicate, a tier change,
// confirmed and rejected redemptions, and records the processor must dead-letter with six
// different codes — waits until the archive holds every decision and dead letter, then compares
// every report, over HTTP and through `rewards report` (table, CSV, JSON), with the figures the
// test computes itself from its input and docs/contract.md "Earning rules" (the oracle below does not use the project's
// rules engine). Then the same archive rows go into a PGlite, and `rewards report` on the
// embedded default gives the same figures. Bad dates → 400 / a clear CLI error; a token without
// reports:read → 403.
import { pointsInternalTopics } from '../../processors/rewards/points-windows.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, Partitioners, logLevel } from 'kafkajs'
import pg from 'pg'
import t from 'tap'
import { ensurePlatformTopics, platformTopics } from '../../lib/platform-topics.ts'
import { archiveKinds, toArchiveRow, writeArchiveRows } from '../../processors/archive/index.ts'
import { changelogTopicName } from '../../topology/runtime/stream-task.ts'
import { createKafkaLog } from '../../log/kafka/index.ts'
import { brokers, cleanEnv, clientToken, runCli, RunningCli, unique, waitForStatus } from '../cli/cli-helpers.ts'
import { createTestDatabase, openMigrated, waitFor } from '../archive/archive-helpers.ts'

// ---- The oracle: docs/contract.md "Earning rules" written out here, independently of processors/rewards. ----
const RATE: Record<string, bigint> = { HOTEL: 10000n, DINING: 5000n, CASINO: 100n }
const TIERS = [{ name: 'PLATINUM', min: 150_000, mult: 20000n }, { name: 'GOLD', min: 50_000, mult: 15000n }, { name: 'SILVER', min: 10_000, mult: 12500n }, { name: 'MEMBER', min: 0, mult: 10000n }]
const multiplier = (qualifying: number): bigint => TIERS.find(t => qualifying >= t.min)!.mult

interface Earn { kind: 'earn', member: string, id: string, source: string, cents: number, property: string, at: string }
interface Reversal { kind: 'reversal', member: string, id: string, original: string, source: string, property: string, at: string }
interface Redeem { member: string, id: string, points: number, channel: string, at: string }

interface Decision { member: string, type: 'EARN' | 'REVERSAL', points: number, source: string, property: string, day: string }

/** Accepted reward decisions, in each member's order (the partition's offset order). */
function oracleRewards (events: Array<Earn | Reversal>): Decision[] {
  const qualifying = new Map<string, number>()
  const earned = new Map<string, number>() // `${member}:${id}` → points of an accepted EARN
  const reversed = new Set<string>()
  const seen = new Set<string>()
  const out: Decision[] = []
  for (const e of events) {
    const key = `${e.member}:${e.id}`
    if (seen.has(key)) continue // duplicate eventId: no second effect
    let points: number
    if (e.kind === 'earn') {
      points = Number(BigInt(e.cents) * RATE[e.source]! * multiplier(qualifying.get(e.member) ?? 0) / 1_000_000_000n)
      earned.set(key, points)
    } else {
      const original = `${e.member}:${e.original}`
      if (!earned.has(original) || reversed.has(original)) continue // dead-lettered
      reversed.add(original)
      points = -earned.get(original)!
    }
    seen.add(key)
    qualifying.set(e.member, (qualifying.get(e.member) ?? 0) + points)
    out.push({ member: e.member, type: e.kind === 'earn' ? 'EARN' : 'REVERSAL', points, source: e.source, property: e.property, day: e.at.slice(0, 10) })
  }
  return out
}

function groupBy<T> (items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item])
  return groups
}
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

t.test('reports equal the figures computed from the input', async t => {
  const prefix = `${unique('reports')}.`
  const appId = unique('reports-app')
  const database = await createTestDatabase('reports_e2e')
  t.teardown(database.drop)
  const log = createKafkaLog({ brokers, clientId: 'reports-test' })
  t.teardown(() => log.close())
  await ensurePlatformTopics(log, { topicPrefix: prefix, partitions: 3 })
  const topics = platformTopics({ topicPrefix: prefix })
  t.teardown(() => log.admin.deleteTopics([...Object.values(topics), ...['balances', 'event-dedupe', 'redemption-dedupe', 'redemption-index', 'dedupe-expiry', 'activity'].map(s => changelogTopicName(appId, s)), ...pointsInternalTopics(appId)]))
  const cwd = mkdtempSync(join(tmpdir(), 'reports-e2e-'))
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

  // ---- The input: event times over the last three days (within the broker's retention). ----
  const now = Date.now()
  const at = (daysAgo: number, minutes: number): string => new Date(now - daysAgo * 86_400_000 - minutes * 60_000).toISOString()
  const rewards: Array<Earn | Reversal> = [
    { kind: 'earn', member: 'M1', id: 'm1-stay', source: 'HOTEL', cents: 120_000, property: 'LV-01', at: at(2, 50) }, // 12000 → SILVER
    { kind: 'earn', member: 'M1', id: 'm1-dinner', source: 'DINING', cents: 8_000, property: 'LV-01', at: at(2, 40) }, // at SILVER: 500
    { kind: 'earn', member: 'M1', id: 'm1-slots', source: 'CASINO', cents: 250_000, property: 'AC-02', at: at(1, 30) }, // 312.5 → 312
    { kind: 'reversal', member: 'M1', id: 'm1-rev', original: 'm1-dinner', source: 'DINING', property: 'LV-01', at: at(1, 20) },
    { kind: 'reversal', member: 'M1', id: 'm1-rev-again', original: 'm1-dinner', source: 'DINING', property: 'LV-01', at: at(1, 10) }, // ALREADY_REVERSED
    { kind: 'earn', member: 'M2', id: 'm2-stay', source: 'HOTEL', cents: 48_900, property: 'LV-01', at: at(1, 50) },
    { kind: 'earn', member: 'M2', id: 'm2-dinner', source: 'DINING', cents: 12_000, property: 'NY-03', at: at(0, 40) },
    { kind: 'earn', member: 'M2', id: 'm2-dinner', source: 'DINING', cents: 12_000, property: 'NY-03', at: at(0, 40) }, // duplicate
    { kind: 'earn', member: 'M3', id: 'm3-table', source: 'CASINO', cents: 1_000_000, property: 'AC-02', at: at(0, 30) },
    { kind: 'earn', member: 'M3', id: 'm3-zero', source: 'HOTEL', cents: 0, property: 'NY-03', at: at(2, 30) },
    { kind: 'reversal', member: 'M4', id: 'm4-rev', original: 'nothing', source: 'HOTEL', property: 'NY-03', at: at(0, 20) } // ORIGINAL_NOT_FOUND
  ]
  const wire = (e: Earn | Reversal): string => JSON.stringify(e.kind === 'earn'
    ? { eventId: e.id, memberId: e.member, source: e.source, type: 'EARN', amountCents: e.cents, currency: 'USD', occurredAt: e.at, propertyId: e.property }
    : { eventId: e.id, memberId: e.member, source: e.source, type: 'REVERSAL', originalEventId: e.original, amountCents: 0, currency: 'USD', occurredAt: e.at, propertyId: e.property })
  const badRewards = [
    { key: 'M5', value: '{"eventId": "broken', code: 'MALFORMED_JSON' },
    { key: 'M5', value: JSON.stringify({ eventId: 'eur', memberId: 'M5', source: 'HOTEL', type: 'EARN', amountCents: 100, currency: 'EUR', occurredAt: at(0, 5), propertyId: 'LV-01' }), code: 'UNSUPPORTED_CURRENCY' },
    { key: 'M6', value: JSON.stringify({ eventId: 'other', memberId: 'M7', source: 'HOTEL', type: 'EARN', amountCents: 100, currency: 'USD', occurredAt: at(0, 5), propertyId: 'LV-01' }), code: 'KEY_MISMATCH' },
    { key: 'M5', value: JSON.stringify({ eventId: 'noprop', memberId: 'M5', source: 'HOTEL', type: 'EARN', amountCents: 100, currency: 'USD', occurredAt: at(0, 5) }), code: 'SCHEMA_VIOLATION' }
  ]
  const redeems: Redeem[] = [
    { member: 'M1', id: 'r1', points: 5000, channel: 'ONLINE', at: new Date(now).toISOString() },
    { member: 'M2', id: 'r2', points: 10_000, channel: 'HOTEL', at: new Date(now + 1000).toISOString() },
    { member: 'M2', id: 'r3', points: 490, channel: 'DINING', at: new Date(now + 2000).toISOString() }
  ]

  const kafka = new Kafka({ clientId: 'reports-test-kafkajs', brokers, logLevel: logLevel.NOTHING })
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true })
  await producer.connect()
  t.teardown(() => producer.disconnect())
  await producer.send({ topic: topics.rewardEvents, acks: -1, messages: [...rewards.map(e => ({ key: e.member, value: wire(e) })), ...badRewards.map(b => ({ key: b.key, value: b.value }))] })

  const decisions = oracleRewards(rewards)
  const pool = new pg.Pool({ connectionString: database.url, max: 1 })
  t.teardown(() => pool.end())
  const count = async (sql: string): Promise<number> => Number((await pool.query<{ n: string }>(sql)).rows[0]!.n)
  await waitFor('every reward decision and dead letter archived', async () =>
    await count("SELECT count(DISTINCT event_id) AS n FROM archive_records WHERE kind = 'reward-confirmed'") === decisions.length &&
    await count("SELECT count(*) AS n FROM archive_records WHERE kind = 'reward-dlq'") === badRewards.length + 2, 180_000, 500)

  // Redemptions once the rewards are decided, so each decision follows from the balances above.
  await producer.send({ topic: topics.redeemEvents, acks: -1, messages: [
    ...redeems.map(r => ({ key: r.member, value: JSON.stringify({ redemptionId: r.id, memberId: r.member, points: r.points, rewardCode: 'GIFT', channel: r.channel, requestedAt: r.at }) })),
    { key: 'M1', value: 'not json at all' }
  ] })
  const available = new Map<string, number>()
  for (const d of decisions) available.set(d.member, (available.get(d.member) ?? 0) + d.points)
  const redeemed = redeems.map(r => {
    const ok = (available.get(r.member) ?? 0) >= r.points
    if (ok) available.set(r.member, available.get(r.member)! - r.points)
    return { ...r, status: ok ? 'CONFIRMED' : 'REJECTED' }
  })
  t.same(redeemed.map(r => r.status), ['CONFIRMED', 'REJECTED', 'CONFIRMED'], 'the input has confirmed and rejected redemptions')
  await waitFor('every redemption decision and dead letter archived', async () =>
    await count("SELECT count(DISTINCT redemption_id) AS n FROM archive_records WHERE kind = 'redeem-confirmed'") === redeems.length &&
    await count("SELECT count(*) AS n FROM archive_records WHERE kind = 'redeem-dlq'") === 1, 180_000, 500)

  // ---- Expected rows, from the oracle. ----
  const days = [...new Set([...decisions.map(d => d.day), ...redeemed.map(r => r.at.slice(0, 10))])].sort()
  const range = { from: days[0]!, to: days[days.length - 1]! }
  const expected: Record<string, object[]> = {
    'points-issued': [...groupBy(decisions, d => `${d.day}|${d.source}|${d.property}`)].sort(([a], [b]) => cmp(a, b)).map(([k, ds]) => {
      const [day, source, property] = k.split('|')
      const earns = ds.filter(d => d.type === 'EARN')
      const revs = ds.filter(d => d.type === 'REVERSAL')
      return { day, source, property, earnEvents: earns.length, earnedPoints: sum(earns.map(d => d.points)), reversalEvents: revs.length, reversedPoints: -sum(revs.map(d => d.points)), netPoints: sum(ds.map(d => d.points)) }
    }),
    'points-redeemed': [...groupBy(redeemed, r => `${r.at.slice(0, 10)}|${r.channel}`)].sort(([a], [b]) => cmp(a, b)).map(([k, rs]) => {
      const [day, channel] = k.split('|')
      const ok = rs.filter(r => r.status === 'CONFIRMED')
      const no = rs.filter(r => r.status === 'REJECTED')
      return { day, channel, confirmed: ok.length, redeemedPoints: sum(ok.map(r => r.points)), rejected: no.length, rejectedPoints: sum(no.map(r => r.points)) }
    }),
    'top-members': [...groupBy(decisions, d => d.member)].map(([member, ds]) => ({
      memberId: member,
      earnedPoints: sum(ds.filter(d => d.type === 'EARN').map(d => d.points)),
      reversedPoints: -sum(ds.filter(d => d.type === 'REVERSAL').map(d => d.points)),
      netPoints: sum(ds.map(d => d.points)),
      events: ds.length,
      qualifyingPoints: sum(ds.map(d => d.points)),
      availablePoints: available.get(member)!
    })).sort((a, b) => b.netPoints - a.netPoints || cmp(a.memberId, b.memberId)).map((r, i) => ({ rank: i + 1, ...r })),
    'dlq-codes': [
      ...[...groupBy([...badRewards.map(b => b.code), 'ALREADY_REVERSED', 'ORIGINAL_NOT_FOUND'], c => c)].map(([code, cs]) => ({ input: topics.rewardEvents, code, deadLetters: cs.length })),
      { input: topics.redeemEvents, code: 'MALFORMED_JSON', deadLetters: 1 }
    ].sort((a, b) => b.deadLetters - a.deadLetters || cmp(a.input, b.input) || cmp(a.code, b.code))
  }
  t.equal(expected['points-issued']!.length >= 6, true, 'several days × sources × properties')
  const withoutTimes = (rows: object[]): object[] => rows.map(r => { const { firstAt: _f, lastAt: _l, ...rest } = r as Record<string, unknown>; return rest })

  // ---- HTTP ----
  const token = async (scopes: string): Promise<string> => {
    const created = await runCli(['clients', 'create', '--name', `reports-${scopes}`, '--scopes', scopes, '--json'], { cwd, env })
    t.equal(created.code, 0, `client ${scopes} created ${created.stderr}`)
    const { clientId, clientSecret } = JSON.parse(created.stdout) as { clientId: string, clientSecret: string }
    return await clientToken(base, clientId, clientSecret, scopes)
  }
  const reportsToken = await token('reports:read')
  const get = (path: string, bearer: string | null = reportsToken): Promise<Response> => fetch(`${base}${path}`, { headers: bearer === null ? {} : { authorization: `Bearer ${bearer}` } })
  for (const [name, rows] of Object.entries(expected)) {
    const response = await get(`/v1/reports/${name}?from=${range.from}&to=${range.to}`)
    const body = await response.json() as { rows: object[], truncated: boolean, params: object }
    t.equal(response.status, 200, `GET ${name}`, { body })
    t.same(name === 'dlq-codes' ? withoutTimes(body.rows) : body.rows, rows, `HTTP ${name} equals the oracle`)
    t.equal(body.truncated, false)
  }
  const hotel = await (await get(`/v1/reports/points-issued?from=${range.from}&to=${range.to}&source=HOTEL&property=LV-01`)).json() as { rows: object[] }
  t.same(hotel.rows, expected['points-issued']!.filter(r => (r as { source: string }).source === 'HOTEL' && (r as { property: string }).property === 'LV-01'), 'HTTP source and property filters')
  const top1 = await (await get(`/v1/reports/top-members?from=${range.from}&to=${range.to}&limit=1`)).json() as { rows: object[], truncated: boolean }
  t.same({ rows: top1.rows, truncated: top1.truncated }, { rows: [expected['top-members']![0]], truncated: true }, 'HTTP limit')

  const badDate = await get('/v1/reports/points-issued?from=2026-02-30')
  t.equal(badDate.status, 400, 'not a calendar day → 400')
  t.match(await badDate.json(), { error: { code: 'INVALID_REPORT_PARAMS', message: /from must be a UTC calendar day/ } })
  const badFormat = await get('/v1/reports/points-issued?to=yesterday')
  t.equal(badFormat.status, 400, 'not a date → 400')
  t.match(await badFormat.json(), { error: { code: 'VALIDATION_FAILED' } })
  const reversedRange = await get(`/v1/reports/points-issued?from=${range.to}&to=${range.from}`)
  t.equal(reversedRange.status, 400, 'from after to → 400')
  const notTaken = await get('/v1/reports/points-redeemed?property=LV-01')
  t.equal(notTaken.status, 400, 'a filter the report does not take → 400')
  // Refused by the request validator, by name (docs/api.md, "Validation").
  t.match(await notTaken.json(), { error: { code: 'VALIDATION_FAILED', message: /unknown query parameter property/, details: [{ in: 'querystring', path: '/property', code: 'unknown' }] } })
  t.equal((await get('/v1/reports/dlq-codes', null)).status, 401, 'no token → 401')
  const forbidden = await get('/v1/reports/dlq-codes', await token('balances:read'))
  t.equal(forbidden.status, 403, 'a token without reports:read → 403')
  t.match(await forbidden.json(), { error: { code: 'FORBIDDEN' } })
  const openapi = await (await fetch(`${base}/openapi.json`)).json() as { paths: Record<string, { get?: { security?: unknown } }> }
  t.same(openapi.paths['/v1/reports/top-members']?.get?.security, [{ oauth2: ['reports:read'] }], 'published in the OpenAPI document')
  const metrics = await (await fetch(`${base}/metrics`)).text()
  t.match(metrics, /rewards_report_query_seconds_count\{report="points-issued",outcome="ok"\} [1-9]/, 'query duration histogram')

  // ---- CLI on PostgreSQL (JSON, CSV, table) ----
  const reportCli = async (args: string[], cliEnv = env): Promise<string> => {
    const run = await runCli(['report', ...args, '--from', range.from, '--to', range.to], { cwd, env: cliEnv, timeoutMs: 120_000 })
    t.equal(run.code, 0, `rewards report ${args.join(' ')} ${run.stderr}`)
    return run.stdout
  }
  const columns: Record<string, string[]> = {}
  for (const [name, rows] of Object.entries(expected)) {
    const json = JSON.parse(await reportCli([name, '--format', 'json'])) as { rows: object[], columns: Array<{ name: string }> }
    t.same(name === 'dlq-codes' ? withoutTimes(json.rows) : json.rows, rows, `CLI JSON ${name} equals the oracle`)
    columns[name] = json.columns.map(c => c.name)
    if (name === 'dlq-codes') continue // times vary: JSON covers it
    const csv = (await reportCli([name, '--format', 'csv'])).trimEnd().split('\n')
    t.same(csv, [columns[name]!.join(','), ...rows.map(r => columns[name]!.map(c => String((r as Record<string, unknown>)[c])).join(','))], `CLI CSV ${name} equals the oracle`)
    const table = (await reportCli([name])).trimEnd().split('\n').slice(1).map(line => line.trim().split(/\s+/))
    t.same(table, [columns[name]!, ...rows.map(r => columns[name]!.map(c => String((r as Record<string, unknown>)[c])))], `CLI table ${name} equals the oracle`)
  }
  const cliBad = await runCli(['report', 'points-issued', '--from', '2026-13-01'], { cwd, env })
  t.equal(cliBad.code, 1, 'CLI: bad date exits 1')
  t.match(cliBad.stderr, /from must be a UTC calendar day as YYYY-MM-DD \(got "2026-13-01"\)/)

  cli.child.kill('SIGTERM')
  t.match(await cli.waitForExit(90_000), { code: 0 }, 'platform stopped')

  // ---- The same archive in the embedded PostgreSQL: `rewards report` without a database URL ----
  const embeddedDir = join(cwd, 'embedded')
  const pglite = await openMigrated(null, embeddedDir)
  const kinds = archiveKinds(topics)
  const raw = await pool.query<{ topic: string, partition: number, offset: string, record_timestamp: Date, key: Buffer | null, value: Buffer | null, headers: Record<string, string> }>(
    'SELECT topic, "partition", "offset", record_timestamp, "key", "value", headers FROM archive_records ORDER BY id')
  await writeArchiveRows(pglite, raw.rows.map(r => toArchiveRow({
    topic: r.topic, partition: r.partition, offset: BigInt(r.offset), timestamp: r.record_timestamp.getTime(), key: r.key, value: r.value,
    headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, Buffer.from(v)]))
  }, kinds.get(r.topic)!)))
  await pglite.close()
  const embeddedEnv = cleanEnv({ REWARDS_TOPIC_PREFIX: prefix, REWARDS_DATA_DIR: embeddedDir })
  for (const [name, rows] of Object.entries(expected)) {
    const json = JSON.parse(await reportCli([name, '--format', 'json'], embeddedEnv)) as { rows: object[] }
    t.same(name === 'dlq-codes' ? withoutTimes(json.rows) : json.rows, rows, `embedded (PGlite) ${name} equals the oracle`)
  }
})
