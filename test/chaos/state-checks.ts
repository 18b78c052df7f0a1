// The platform's state against the model: every member's balance over HTTP (any instance; 503
// while a task restores is asked again), and the archive in PostgreSQL (every record of the six
// topics once, no duplicate rows).
import pg from 'pg'
import type { OutputCheck } from './output-checks.ts'
import { tierOf, type Model } from './reference-model.ts'
import type { ReadRecord } from './topic-reader.ts'

export interface BalanceFigures { checked: number, wrong: number, problems: string[] }

export async function checkBalances (model: Model, outputs: OutputCheck, options: { urls: () => string[], token: () => Promise<string>, timeoutMs?: number }): Promise<BalanceFigures> {
  const figures: BalanceFigures = { checked: 0, wrong: 0, problems: [] }
  const deadline = Date.now() + (options.timeoutMs ?? 180_000)
  const members = [...model.members.values()]
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < members.length) {
      const m = members[next++]!
      const last = m.history[m.history.length - 1]!
      const spent = outputs.confirmedRedeemed.get(m.memberId) ?? { redeemed: 0, lastConfirmedAtMs: null }
      const latest = Math.max(m.lastRewardAtMs ?? -Infinity, spent.lastConfirmedAtMs ?? -Infinity)
      const expected = last.events === 0
        ? undefined // never accepted a reward event: no balance (404)
        : {
            memberId: m.memberId, earned: last.earned, reversed: last.reversed, redeemed: spent.redeemed, available: last.earned - last.reversed - spent.redeemed,
            qualifyingPoints: last.earned - last.reversed, tier: tierOf(last.earned - last.reversed).name, lastActivityAt: new Date(latest).toISOString(), events: last.events
          }
      let answer: string
      for (let attempt = 0; ; attempt++) {
        const urls = options.urls()
        try {
          const response = await fetch(`${urls[attempt % urls.length]!}/v1/members/${m.memberId}/balance`, { headers: { authorization: `Bearer ${await options.token()}` }, signal: AbortSignal.timeout(10_000) })
          const body = await response.text()
          answer = `${response.status} ${body}`
          if (response.status === 200 || response.status === 404) {
            const got = response.status === 404 ? undefined : JSON.parse(body) as Record<string, unknown>
            const same = got === undefined || expected === undefined ? got === expected : Object.entries(expected).every(([k, v]) => got[k] === v)
            if (!same) {
              figures.wrong++
              if (figures.problems.length < 10) figures.problems.push(`${m.memberId}: ${answer} expected ${JSON.stringify(expected ?? '404')}`)
            }
            break
          }
        } catch (error) {
          answer = (error as Error).message
        }
        if (Date.now() > deadline) {
          figures.wrong++
          figures.problems.push(`${m.memberId}: no answer in time (last: ${answer})`)
          break
        }
        await new Promise(resolve => setTimeout(resolve, 250))
      }
      figures.checked++
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
  return figures
}

export interface ArchiveFigures { rows: number, expected: number, duplicateRows: number, missing: number, extra: number, problems: string[] }

/** Waits until the archive holds every record read from the topics (or timeoutMs), then counts. */
export async function checkArchive (databaseUrl: string, records: ReadRecord[], timeoutMs = 180_000): Promise<ArchiveFigures> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const expected = new Set(records.map(r => `${r.topic}|${r.partition}|${r.offset}`))
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const { rows } = await client.query<{ n: number }>('SELECT count(DISTINCT (topic, "partition", "offset"))::int AS n FROM archive_records')
      if (rows[0]!.n >= expected.size || Date.now() > deadline) break
      await new Promise(resolve => setTimeout(resolve, 1000))
    }
    const { rows } = await client.query<{ topic: string, partition: number, offset: string, n: number }>('SELECT topic, "partition", "offset"::text AS "offset", count(*)::int AS n FROM archive_records GROUP BY 1, 2, 3')
    const figures: ArchiveFigures = { rows: 0, expected: expected.size, duplicateRows: 0, missing: 0, extra: 0, problems: [] }
    const present = new Set<string>()
    for (const row of rows) {
      const id = `${row.topic}|${row.partition}|${row.offset}`
      present.add(id)
      figures.rows += row.n
      figures.duplicateRows += row.n - 1
      if (!expected.has(id)) { figures.extra++; if (figures.problems.length < 10) figures.problems.push(`archived but not read committed: ${id}`) }
    }
    for (const id of expected) if (!present.has(id)) { figures.missing++; if (figures.problems.length < 20) figures.problems.push(`not archived: ${id}`) }
    return figures
  } finally {
    await client.end()
  }
}
