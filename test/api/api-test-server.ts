// An API server for tests, built as `rewards start` builds it (ops server + public API + token
// server), listening on a free port of 127.0.0.1, with its JSON log lines captured.
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { Registry } from 'prom-client'
import { openApiServices, type ApiServices } from '../../api/api-services.ts'
import { apiSettings, type ApiSettings } from '../../api/api-settings.ts'
import { tokenRoutes } from '../../api/auth/token-routes.ts'
import { Readiness } from '../../api/health/readiness.ts'
import { buildServer } from '../../api/ops-server.ts'
import { publicApi } from '../../api/public-api.ts'
import { MemberQueries } from '../../api/query/member-queries.ts'
import type { LocalReader } from '../../api/query/local-reader.ts'
import type { Queryable } from '../../lib/db/database.ts'
import { createLogger } from '../../lib/logger.ts'
import type { LogProducer } from '../../log/log-port.ts'
import { REWARDS_TOPICS } from '../../processors/rewards/topics.ts'

export const DATABASE_URL = process.env.REWARDS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export interface TestApi {
  readonly server: FastifyInstance
  readonly services: ApiServices
  readonly registry: Registry
  readonly url: string
  readonly logLines: string[]
  close (): Promise<void>
}

export async function startTestApi (options: {
  reader?: LocalReader
  producer?: () => Promise<LogProducer>
  settings?: Partial<Omit<ApiSettings, 'issuer'>>
  redisUrl?: string | null
  dataDir?: string
  /** Serve the report routes over this archive (undefined: 503 REPORTS_UNAVAILABLE). */
  reports?: { db: () => Queryable | undefined }
} = {}): Promise<TestApi> {
  const registry = new Registry()
  const logLines: string[] = []
  const logger = createLogger({ level: 'debug', destination: new Writable({ write (chunk, _enc, done) { logLines.push(String(chunk)); done() } }) })
  const server = buildServer({ readiness: new Readiness(), registry, logger })
  let url = ''
  const settings = apiSettings({ issuer: () => url, ...options.settings })
  const services = await openApiServices({
    config: { databaseUrl: DATABASE_URL, dataDir: options.dataDir ?? '/tmp/unused', redisUrl: options.redisUrl ?? null },
    settings,
    registry,
    logger
  })
  server.addHook('onClose', async () => { await services.close() })
  const reader = options.reader
  const queries = new MemberQueries({ ...(reader !== undefined ? { local: reader } : { local: stubReader() }), registry })
  await server.register(tokenRoutes, {
    issuer: settings.issuer, audience: settings.audience, tokenTtlSeconds: settings.tokenTtlSeconds,
    clients: services.tokenServer!.clients, keys: services.tokenServer!.keys, cache: services.cache, rateLimit: settings.tokenRateLimit, failureLimit: settings.tokenFailureLimit
  })
  await server.register(publicApi, {
    settings,
    guard: services.guard,
    cache: services.cache,
    queries,
    topics: REWARDS_TOPICS,
    registry,
    ...(options.reports !== undefined ? { reports: { ...options.reports, registry } } : {}),
    producer: options.producer ?? (() => Promise.reject(new Error('no producer in this test')))
  })
  await server.listen({ host: '127.0.0.1', port: 0 })
  url = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`
  return { server, services, registry, url, logLines, close: () => server.close() }
}

/** A reader that owns every member and knows one: `m-known` with 100 points. */
export function stubReader (): LocalReader {
  const balance = { memberId: 'm-known', earned: 100, reversed: 0, redeemed: 0, available: 100, qualifyingPoints: 100, tier: 'MEMBER', lastActivityAt: '2026-01-01T00:00:00.000Z', events: 1 }
  return {
    owner: () => ({ local: true, host: null, standbyHosts: [], localStandby: false }),
    balance: (memberId: string) => memberId === 'm-known' ? balance : undefined,
    balanceIfLocal: (memberId: string) => ({ local: true, value: memberId === 'm-known' ? balance : undefined }),
    activity: (memberId: string) => ({ memberId, items: [], nextCursor: null }),
    redemption: () => undefined,
    redemptionById: () => ({ decision: undefined, tasks: ['0_0'] }),
    host: () => null
  } as unknown as LocalReader
}
