// A running platform's /metrics, for the tests of docs/metrics.md, the Grafana dashboard and the
// Prometheus alert rules: `rewards start --role <roles>` as a child process on the real Kafka
// broker, PostgreSQL and Redis (unique topic prefix, application id and database), driven through
// everything that creates series lazily — events over HTTP, a redemption, a balance read twice
// (cache miss, then hit), an activity page, a request without a token, an unknown URL and a
// malformed record produced straight to reward-events (a dead letter) — then scraped once every
// part has shown its work. Extending to a new role: add it to the `roles` argument, pass what it
// needs to be configured through `options.env` (e.g. a notifications file written in the run's
// data directory) and drive whatever its metrics need in `drive` (see the test file).
import { pointsInternalTopics } from '../../processors/rewards/points-windows.ts'
import type { Test } from 'tap'
import { createKafkaLog } from '../../log/kafka/index.ts'
import type { Log } from '../../log/log-port.ts'
import { notificationsDlqTopic, platformTopics } from '../../lib/platform-topics.ts'
import { REWARDS_STORES } from '../../processors/rewards/topics.ts'
import { ClientStore } from '../../api/auth/client-store.ts'
import { createTestDatabase, openMigrated, waitFor } from '../archive/archive-helpers.ts'
import { brokers, cleanEnv, clientToken, RunningCli, unique, waitForStatus, type LogLine } from '../cli/cli-helpers.ts'

export interface Scrape {
  /** The exposition text as served. */
  readonly text: string
  /** Metric families (# TYPE lines): name → type. */
  readonly families: ReadonlyMap<string, string>
  /** Names a PromQL selector can use: every family, plus _bucket/_sum/_count of histograms and
   *  _sum/_count of summaries. */
  readonly selectable: ReadonlySet<string>
  /** Label names seen on each family's samples (without `le` and `quantile`). */
  readonly labels: ReadonlyMap<string, ReadonlySet<string>>
}

export function parseExposition (text: string): Scrape {
  const families = new Map<string, string>()
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(m[1]!, m[2]!)
  const selectable = new Set<string>()
  for (const [name, type] of families) {
    selectable.add(name)
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) selectable.add(name + suffix)
    if (type === 'summary') for (const suffix of ['_sum', '_count']) selectable.add(name + suffix)
  }
  const familyOf = (sample: string): string | undefined => {
    if (families.has(sample)) return sample
    const base = sample.replace(/_(bucket|sum|count)$/, '')
    return families.has(base) ? base : undefined
  }
  const labels = new Map<string, Set<string>>()
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? \S+$/gm)) {
    const family = familyOf(m[1]!)
    if (family === undefined) continue
    const set = labels.get(family) ?? new Set<string>()
    labels.set(family, set)
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) if (l[1] !== 'le' && l[1] !== 'quantile') set.add(l[1]!)
  }
  return { text, families, selectable, labels }
}

/** Sum of a family's samples whose labels include `match` (exact values). */
export function sampleSum (text: string, name: string, match: Record<string, string> = {}): number {
  let sum = 0
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) {
    const labels = Object.fromEntries([...(m[1] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)].map(l => [l[1], l[2]]))
    if (Object.entries(match).every(([k, v]) => labels[k] === v)) sum += Number(m[2])
  }
  return sum
}

export interface RunningPlatform {
  readonly base: string
  readonly token: string
  readonly memberId: string
  /** Topic names of this run (unique prefix). */
  readonly topics: ReturnType<typeof platformTopics>
  /** The test's own connection to the broker. */
  readonly log: Log
  scrape (): Promise<string>
}

export interface PlatformOptions {
  /** Extra environment of the platform process. Given the run's data directory (the process'
   *  working directory, removed with the test) to write files the variables point at, such as
   *  REWARDS_NOTIFICATIONS_FILE. */
  readonly env?: (dataDir: string) => Record<string, string>
}

/** Starts the platform with `roles`, drives it, waits until `settled(metricsText)` holds, and
 *  returns the final scrape. Everything it creates is removed in t's teardown. */
export async function scrapeDrivenPlatform (t: Test, roles: readonly string[], drive: (p: RunningPlatform) => Promise<void>, settled: (text: string) => boolean, options: PlatformOptions = {}): Promise<Scrape & { readonly logLines: readonly LogLine[] }> {
  const prefix = `${unique('metrics')}.`
  const appId = unique('metrics-app')
  const database = await createTestDatabase('metrics_test')
  t.teardown(database.drop)
  const topics = platformTopics({ topicPrefix: prefix })
  const log = createKafkaLog({ brokers, clientId: unique('metrics-test') })
  t.teardown(async () => {
    await log.admin.deleteTopics([...Object.values(topics), notificationsDlqTopic({ topicPrefix: prefix }), ...Object.values(REWARDS_STORES).map(s => `${appId}-${s}-changelog`), ...pointsInternalTopics(appId)]).catch(() => undefined)
    await log.close()
  })
  const dataDir = t.testdir({})
  const env = cleanEnv({
    REWARDS_KAFKA_BROKERS: brokers.join(','),
    REWARDS_DATABASE_URL: database.url,
    REWARDS_REDIS_URL: process.env.REWARDS_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REWARDS_TOPIC_PREFIX: prefix,
    REWARDS_APPLICATION_ID: appId,
    REWARDS_DATA_DIR: dataDir,
    REWARDS_PARTITIONS: '3',
    REWARDS_HTTP_PORT: '0',
    ...options.env?.(dataDir)
  })

  // The client straight in the token server's tables (what `rewards clients create` does).
  const db = await openMigrated(database.url, dataDir)
  const { client: { clientId }, clientSecret } = await new ClientStore(db).create({ name: 'metrics-test', scopes: ['balances:read', 'events:write', 'redemptions:write'] })
  await db.close()

  const cli = new RunningCli(['start', '--role', roles.join(','), '--create-topics'], { cwd: dataDir, env })
  t.teardown(() => cli.kill())
  const base = `http://127.0.0.1:${await cli.httpPort(120_000)}`
  await waitForStatus(`${base}/health/ready`, 200, 180_000)

  const token = await clientToken(base, clientId, clientSecret)

  const scrape = async (): Promise<string> => {
    const response = await fetch(`${base}/metrics`)
    if (response.status !== 200) throw new Error(`GET /metrics: ${response.status}`)
    return await response.text()
  }
  await drive({ base, token, memberId: unique('M'), topics, log, scrape })
  let last = ''
  await waitFor('every part of the platform to show its work in /metrics', async () => {
    last = await scrape()
    return settled(last)
  }, 180_000, 500).catch(error => { throw new Error(`${(error as Error).message}\nlast scrape:\n${last}`) })

  cli.child.kill('SIGTERM')
  const exit = await cli.waitForExit(60_000)
  t.same(exit, { code: 0, signal: null }, 'the platform stops cleanly after the scrape')
  return { ...parseExposition(last), logLines: cli.lines }
}
