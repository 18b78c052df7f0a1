// The report SQL on both databases the archive can be: a fresh PostgreSQL database and a fresh
// PGlite get the same hand-built archive rows (through the archiver's own row mapping and
// writer), including what a rebuild leaves behind (a second copy of a confirmation and of a dead
// letter); every report gives the figures worked out by hand below, identically on both.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Registry } from 'prom-client'
import type { Database } from '../../../lib/db/database.ts'
import type { LogRecord } from '../../../log/log-port.ts'
import { archiveKinds, toArchiveRow, writeArchiveRows } from '../../../processors/archive/index.ts'
import { REWARDS_TOPICS as T } from '../../../processors/rewards/topics.ts'
import { runReport, ReportParamsError } from '../../../processors/reports/index.ts'
import { createTestDatabase, openMigrated } from '../../archive/archive-helpers.ts'

const DAY = 86_400_000
const today = new Date(Math.floor(Date.now() / DAY) * DAY)
const at = (daysAgo: number, hour: number): string => new Date(today.getTime() - daysAgo * DAY + hour * 3_600_000).toISOString()
const day = (daysAgo: number): string => at(daysAgo, 0).slice(0, 10)

function records (): LogRecord[] {
  const out: LogRecord[] = []
  const offsets = new Map<string, bigint>()
  const add = (topic: string, key: string, value: unknown, headers: Record<string, string> = {}): void => {
    const offset = offsets.get(topic) ?? 0n
    offsets.set(topic, offset + 1n)
    out.push({
      topic, partition: 0, offset, timestamp: Date.now(), key: Buffer.from(key),
      value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
      headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)]))
    })
  }
  const earn = (m: string, id: string, source: string, cents: number, prop: string, when: string): void =>
    add(T.rewardEvents, m, { eventId: id, memberId: m, source, type: 'EARN', amountCents: cents, currency: 'USD', occurredAt: when, propertyId: prop })
  const confirmed = (m: string, id: string, source: string, type: string, points: number, when: string): void =>
    add(T.rewardConfirmed, m, { eventId: id, memberId: m, source, type, points, tier: 'MEMBER', ruleVersion: '2026-1', balance: {}, occurredAt: when, processedAt: when })
  // A: hotel 1000 + dining 300 two days ago; the hotel one reversed yesterday (on property P-2).
  earn('A', 'a1', 'HOTEL', 10_000, 'P-1', at(2, 10)); confirmed('A', 'a1', 'HOTEL', 'EARN', 1000, at(2, 10))
  earn('A', 'a2', 'DINING', 6_000, 'P-1', at(2, 11)); confirmed('A', 'a2', 'DINING', 'EARN', 300, at(2, 11))
  add(T.rewardEvents, 'A', { eventId: 'a3', memberId: 'A', source: 'HOTEL', type: 'REVERSAL', originalEventId: 'a1', amountCents: 0, currency: 'USD', occurredAt: at(1, 9), propertyId: 'P-2' })
  confirmed('A', 'a3', 'HOTEL', 'REVERSAL', -1000, at(1, 9))
  // B: hotel 2000 yesterday; its confirmation archived twice (a rebuild re-emitted it).
  earn('B', 'b1', 'HOTEL', 20_000, 'P-1', at(1, 23)); confirmed('B', 'b1', 'HOTEL', 'EARN', 2000, at(1, 23)); confirmed('B', 'b1', 'HOTEL', 'EARN', 2000, at(1, 23))
  // C: casino 50 today, and 400 forty days ago (outside the default 30 days).
  earn('C', 'c1', 'CASINO', 500_000, 'P-9', at(0, 1)); confirmed('C', 'c1', 'CASINO', 'EARN', 50, at(0, 1))
  earn('C', 'c0', 'HOTEL', 40_000, 'P-9', at(40, 1)); confirmed('C', 'c0', 'HOTEL', 'EARN', 400, at(40, 1))
  // Redemptions: B spends 500 online (confirmed), A asks 5000 at the hotel (rejected), today.
  add(T.redeemEvents, 'B', { redemptionId: 'r1', memberId: 'B', points: 500, rewardCode: 'X', channel: 'ONLINE', requestedAt: at(0, 2) })
  add(T.redeemConfirmed, 'B', { redemptionId: 'r1', memberId: 'B', points: 500, rewardCode: 'X', status: 'CONFIRMED', balance: {}, requestedAt: at(0, 2), processedAt: at(0, 2) })
  add(T.redeemEvents, 'A', { redemptionId: 'r2', memberId: 'A', points: 5000, rewardCode: 'X', channel: 'HOTEL', requestedAt: at(0, 3) })
  add(T.redeemConfirmed, 'A', { redemptionId: 'r2', memberId: 'A', points: 5000, rewardCode: 'X', status: 'REJECTED', reason: 'INSUFFICIENT_POINTS', balance: {}, requestedAt: at(0, 3), processedAt: at(0, 3) })
  // Dead letters: one malformed (twice: source offset 7 re-dead-lettered), one currency, one redeem schema.
  const dlq = (topic: string, code: string, offset: number, value: string): void => add(topic, 'Z', value, { 'error.code': code, 'source.topic': topic.replace('-dlq', ''), 'source.partition': '0', 'source.offset': String(offset) })
  dlq(T.rewardEventsDlq, 'MALFORMED_JSON', 7, '{oops'); dlq(T.rewardEventsDlq, 'MALFORMED_JSON', 7, '{oops')
  dlq(T.rewardEventsDlq, 'UNSUPPORTED_CURRENCY', 8, '{}'); dlq(T.redeemEventsDlq, 'SCHEMA_VIOLATION', 3, '{}')
  return out
}

async function fill (db: Database): Promise<void> {
  const kinds = archiveKinds(T)
  await writeArchiveRows(db, records().map(r => toArchiveRow(r, kinds.get(r.topic)!)))
}

const EXPECTED = {
  'points-issued': [
    { day: day(2), source: 'DINING', property: 'P-1', earnEvents: 1, earnedPoints: 300, reversalEvents: 0, reversedPoints: 0, netPoints: 300 },
    { day: day(2), source: 'HOTEL', property: 'P-1', earnEvents: 1, earnedPoints: 1000, reversalEvents: 0, reversedPoints: 0, netPoints: 1000 },
    { day: day(1), source: 'HOTEL', property: 'P-1', earnEvents: 1, earnedPoints: 2000, reversalEvents: 0, reversedPoints: 0, netPoints: 2000 },
    { day: day(1), source: 'HOTEL', property: 'P-2', earnEvents: 0, earnedPoints: 0, reversalEvents: 1, reversedPoints: 1000, netPoints: -1000 },
    { day: day(0), source: 'CASINO', property: 'P-9', earnEvents: 1, earnedPoints: 50, reversalEvents: 0, reversedPoints: 0, netPoints: 50 }
  ],
  'points-redeemed': [
    { day: day(0), channel: 'HOTEL', confirmed: 0, redeemedPoints: 0, rejected: 1, rejectedPoints: 5000 },
    { day: day(0), channel: 'ONLINE', confirmed: 1, redeemedPoints: 500, rejected: 0, rejectedPoints: 0 }
  ],
  'top-members': [
    { rank: 1, memberId: 'B', earnedPoints: 2000, reversedPoints: 0, netPoints: 2000, events: 1, qualifyingPoints: 2000, availablePoints: 1500 },
    { rank: 2, memberId: 'A', earnedPoints: 1300, reversedPoints: 1000, netPoints: 300, events: 3, qualifyingPoints: 300, availablePoints: 300 },
    { rank: 3, memberId: 'C', earnedPoints: 50, reversedPoints: 0, netPoints: 50, events: 1, qualifyingPoints: 450, availablePoints: 450 }
  ]
}

for (const kind of ['postgres', 'pglite'] as const) {
  t.test(`reports on ${kind}`, async t => {
    const dir = await mkdtemp(join(tmpdir(), 'reports-sql-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    let url: string | null = null
    if (kind === 'postgres') {
      const database = await createTestDatabase('reports_sql')
      t.teardown(database.drop)
      url = database.url
    }
    const db = await openMigrated(url, dir)
    t.teardown(() => db.close())
    t.equal(db.kind, kind)
    await fill(db)
    const registry = new Registry()
    const ctx = { db, topics: T, registry }
    for (const [name, rows] of Object.entries(EXPECTED)) {
      const result = await runReport(ctx, name, {})
      t.same(result.rows, rows, `${name}: default range (30 days to today)`)
      t.equal(result.truncated, false)
    }
    const dlq = await runReport(ctx, 'dlq-codes', {})
    t.same(dlq.rows.map(r => { const { firstAt: _f, lastAt: _l, ...rest } = r as Record<string, unknown>; return rest }), [
      { input: 'redeem-events', code: 'SCHEMA_VIOLATION', deadLetters: 1 },
      { input: 'reward-events', code: 'MALFORMED_JSON', deadLetters: 1 },
      { input: 'reward-events', code: 'UNSUPPORTED_CURRENCY', deadLetters: 1 }
    ], 'dlq-codes: a re-dead-lettered input counts once')

    t.same((await runReport(ctx, 'points-issued', { from: day(1), to: day(1), property: 'P-2' })).rows, [EXPECTED['points-issued'][3]], 'day and property filters')
    t.same((await runReport(ctx, 'points-issued', { source: 'DINING' })).rows, [EXPECTED['points-issued'][0]], 'source filter')
    t.same((await runReport(ctx, 'points-redeemed', { source: 'ONLINE' })).rows, [EXPECTED['points-redeemed'][1]], 'channel filter')
    const top = await runReport(ctx, 'top-members', { limit: 1 })
    t.same(top.rows, [EXPECTED['top-members'][0]], 'limit')
    t.equal(top.truncated, true, 'truncated when more rows matched')
    const older = await runReport(ctx, 'points-issued', { from: day(45), to: day(31) })
    t.equal(older.rows.length, 1, 'an explicit older range finds the 40-day-old event')

    await t.rejects(runReport(ctx, 'points-issued', { from: '2026-02-30' }), ReportParamsError, 'not a calendar day')
    await t.rejects(runReport(ctx, 'points-issued', { from: day(0), to: day(1) }), /is after/)
    await t.rejects(runReport(ctx, 'points-redeemed', { property: 'P-1' }), /does not take property/)
    await t.rejects(runReport(ctx, 'points-issued', { source: 'ONLINE' }), /source must be one of HOTEL, CASINO, DINING/)
    await t.rejects(runReport(ctx, 'points-issued', { limit: '0' }), /limit must be/)
    await t.rejects(runReport(ctx, 'nope', {}), /unknown report/)
    const metrics = await registry.getSingleMetricAsString('rewards_report_query_seconds')
    t.match(metrics, /rewards_report_query_seconds_count\{report="points-issued",outcome="ok"\} [1-9]/, 'query durations measured')
  })
}
