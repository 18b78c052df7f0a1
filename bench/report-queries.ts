// Report queries over a synthetic archive on the local PostgreSQL: each report's plan (EXPLAIN
// ANALYZE: top node, indexes used) and its median time over 5 runs, with the archive's reporting
// index (kind, event_time) and without it (the baseline: sequential scans).
//
//   node_modules/.bin/node bench/report-queries.ts [rows-per-kind, default 20000]
//
// The archive gets, per kind, `rows` reward events with their confirmations (5% reversals, 1% of
// confirmations archived twice as after a rebuild) over 90 days and 2000 members, a tenth as many
// redemptions with decisions, and 1% dead letters. A fresh database, dropped at the end.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { openDatabase, type Queryable } from '../lib/db/database.ts'
import { migrate } from '../lib/db/migrate.ts'
import type { LogRecord } from '../log/log-port.ts'
import { archiveKinds, toArchiveRow, writeArchiveRows } from '../processors/archive/index.ts'
import { REWARDS_TOPICS as T } from '../processors/rewards/topics.ts'
import { REPORTS, reportParams } from '../processors/reports/index.ts'

const ROWS = Number(process.argv[2] ?? 20_000)
const ADMIN = process.env.REWARDS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const name = `bench_reports_${randomBytes(3).toString('hex')}`
const admin = new pg.Client({ connectionString: ADMIN })
await admin.connect()
await admin.query(`CREATE DATABASE ${name}`)
const url = new URL(ADMIN)
url.pathname = `/${name}`
const db = await openDatabase({ databaseUrl: url.toString(), dataDir: '/tmp/unused' })
try {
  await migrate(db)
  const kinds = archiveKinds(T)
  const now = Date.now()
  const offsets = new Map<string, bigint>()
  let batch: LogRecord[] = []
  const flush = async (): Promise<void> => { await writeArchiveRows(db, batch.map(r => toArchiveRow(r, kinds.get(r.topic)!))); batch = [] }
  const add = async (topic: string, key: string, value: string, headers: Record<string, string> = {}): Promise<void> => {
    const offset = offsets.get(topic) ?? 0n
    offsets.set(topic, offset + 1n)
    batch.push({ topic, partition: 0, offset, timestamp: now, key: Buffer.from(key), value: Buffer.from(value), headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)])) })
    if (batch.length >= 1000) await flush()
  }
  const sources = ['HOTEL', 'DINING', 'CASINO']
  for (let i = 0; i < ROWS; i++) {
    const m = `M-${i % 2000}`
    const at = new Date(now - (i % 90) * 86_400_000 - (i % 1440) * 60_000).toISOString()
    const reversal = i % 20 === 19
    const source = sources[i % 3]!
    await add(T.rewardEvents, m, JSON.stringify({ eventId: `e-${i}`, memberId: m, source, type: reversal ? 'REVERSAL' : 'EARN', ...(reversal ? { originalEventId: `e-${i - 1}` } : {}), amountCents: 10_000 + i, currency: 'USD', occurredAt: at, propertyId: `P-${i % 25}` }))
    const confirmed = JSON.stringify({ eventId: `e-${i}`, memberId: m, source, type: reversal ? 'REVERSAL' : 'EARN', points: reversal ? -100 : 100 + (i % 50), tier: 'MEMBER', ruleVersion: '2026-1', balance: {}, occurredAt: at, processedAt: at })
    await add(T.rewardConfirmed, m, confirmed)
    if (i % 100 === 0) await add(T.rewardConfirmed, m, confirmed)
    if (i % 10 === 0) {
      await add(T.redeemEvents, m, JSON.stringify({ redemptionId: `r-${i}`, memberId: m, points: 50, rewardCode: 'X', channel: 'ONLINE', requestedAt: at }))
      await add(T.redeemConfirmed, m, JSON.stringify({ redemptionId: `r-${i}`, memberId: m, points: 50, rewardCode: 'X', status: i % 30 === 0 ? 'REJECTED' : 'CONFIRMED', balance: {}, requestedAt: at, processedAt: at }))
    }
    if (i % 100 === 50) await add(T.rewardEventsDlq, m, '{bad', { 'error.code': 'MALFORMED_JSON', 'source.topic': T.rewardEvents, 'source.partition': '0', 'source.offset': String(i) })
  }
  await flush()
  await db.query('ANALYZE archive_records')
  const total = (await db.query<{ n: string }>('SELECT count(*)::text AS n FROM archive_records')).rows[0]!.n
  console.log(`archive_records: ${total} rows; report over the last 30 days (default parameters)`)

  /** The SQL a report sends, captured without running it. */
  const captured = async (report: string): Promise<{ sql: string, params: unknown[] }> => {
    let sent: { sql: string, params: unknown[] } | undefined
    const spy: Queryable = { query: async (sql: string, params?: unknown[]) => { sent = { sql, params: params ?? [] }; return { rows: [] } } }
    const definition = REPORTS.get(report)!
    await definition.query({ db: spy, topics: T }, reportParams(definition, {}))
    return sent!
  }
  const measure = async (label: string): Promise<void> => {
    for (const report of REPORTS.keys()) {
      const { sql, params } = await captured(report)
      const times: number[] = []
      let plan = ''
      for (let run = 0; run < 5; run++) {
        const result = await db.query<{ 'QUERY PLAN': Array<{ Plan: unknown, 'Execution Time': number }> }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params)
        const top = result.rows[0]!['QUERY PLAN'][0]!
        times.push(top['Execution Time'])
        const indexes = new Set<string>()
        const scans = new Set<string>()
        const walk = (node: Record<string, unknown>): void => {
          if (typeof node['Index Name'] === 'string') indexes.add(node['Index Name'])
          if (node['Node Type'] === 'Seq Scan') scans.add(`Seq Scan ${String(node['Relation Name'])}`)
          for (const child of (node.Plans as Array<Record<string, unknown>> | undefined) ?? []) walk(child)
        }
        walk(top.Plan as Record<string, unknown>)
        plan = [...[...indexes].map(i => `index ${i}`), ...scans].join(', ')
      }
      times.sort((a, b) => a - b)
      console.log(`${label.padEnd(22)} ${report.padEnd(16)} median ${times[2]!.toFixed(1).padStart(7)} ms  (${plan})`)
    }
  }
  await measure('with the indexes')
  await db.query('DROP INDEX archive_records_kind_time')
  await db.query('ANALYZE archive_records')
  await measure('without (kind, time)')
} finally {
  await db.close()
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await admin.end()
}
