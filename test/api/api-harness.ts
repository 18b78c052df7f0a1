// In-process platform instances for the API tests: a shared token server and API services
// (PostgreSQL, fixed issuer), processor instances (a StreamsApplication behind an HTTP server with
// the internal query routes, optionally the public API too) and API-only instances (forwarding
// through the consumer group), on one log (Kafka or embedded).
import { randomUUID } from 'node:crypto'
import * as oidc from 'openid-client'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { Registry } from 'prom-client'
import { openApiServices, type ApiServices } from '../../api/api-services.ts'
import { apiSettings, type ApiSettings } from '../../api/api-settings.ts'
import { scopeGuard, type ScopeGuard } from '../../api/auth/require-scope.ts'
import { RevokedClients } from '../../api/auth/revoked-clients.ts'
import { tokenRoutes } from '../../api/auth/token-routes.ts'
import { TokenVerifier } from '../../api/auth/token-verifier.ts'
import { Readiness } from '../../api/health/readiness.ts'
import { buildServer } from '../../api/ops-server.ts'
import { publicApi } from '../../api/public-api.ts'
import { GroupOwnerMap } from '../../api/query/group-owner-map.ts'
import type { LocalReader } from '../../api/query/local-reader.ts'
import { MemberQueries } from '../../api/query/member-queries.ts'
import { registerStreamsQueries } from '../../api/streams-queries.ts'
import { ensurePlatformTopics, platformTopics } from '../../lib/platform-topics.ts'
import { createKafkaLog } from '../../log/kafka/index.ts'
import type { Log, LogProducer } from '../../log/log-port.ts'
import { REWARDS_STORES } from '../../processors/rewards/topics.ts'
import { POINTS_WINDOW_STORES, pointsRepartitionTopic } from '../../processors/rewards/points-windows.ts'
import { changelogTopicName } from '../../topology/runtime/stream-task.ts'
import { buildRewardsTopology, defaultRuleSet, type RewardsTopics } from '../../processors/rewards/index.ts'
import { StreamsApplication, type StreamsApplicationOptions } from '../../topology/streams-application.ts'
import { DATABASE_URL } from './api-test-server.ts'

export interface Platform {
  readonly log: Log
  readonly topics: RewardsTopics
  readonly applicationId: string
  readonly issuer: string
  readonly services: ApiServices
  readonly settings: ApiSettings
  /** The token server (auth role) alone. */
  readonly authUrl: string
  /** Metrics of the shared services (cache, auth failures). */
  readonly registry: Registry
  /** A token of a client with `scopes`, the same one for the same scopes unless `fresh` (tokens
   *  expire after 300 s: a long benchmark asks for a fresh one). */
  token (scopes: string[], options?: { fresh?: boolean }): Promise<string>
  close (): Promise<void>
}

export interface Instance {
  readonly url: string
  readonly address: string
  readonly server: FastifyInstance
  readonly app: StreamsApplication | undefined
  readonly registry: Registry
  /** A processor's reader of its stores (for more API servers over the same instance). */
  readonly reader?: LocalReader
  close (): Promise<void>
}

export async function startPlatform (options: { log: Log, topics: RewardsTopics, applicationId: string, settings?: Partial<Omit<ApiSettings, 'issuer'>>, redisUrl?: string | null }): Promise<Platform> {
  const registry = new Registry()
  const auth = buildServer({ readiness: new Readiness(), registry })
  let issuer = ''
  const settings = apiSettings({ issuer: () => issuer, ...options.settings })
  const services = await openApiServices({ config: { databaseUrl: DATABASE_URL, dataDir: '/tmp/unused', redisUrl: options.redisUrl ?? null }, settings, registry })
  await auth.register(tokenRoutes, {
    issuer: settings.issuer, audience: settings.audience, tokenTtlSeconds: settings.tokenTtlSeconds,
    clients: services.tokenServer!.clients, keys: services.tokenServer!.keys, cache: services.cache, rateLimit: { max: 10_000, windowMs: 60_000 }
  })
  await auth.listen({ host: '127.0.0.1', port: 0 })
  issuer = `http://127.0.0.1:${(auth.server.address() as { port: number }).port}`
  const tokens = new Map<string, string>()
  return {
    ...options,
    issuer,
    services,
    settings,
    authUrl: issuer,
    registry,
    async token (scopes, options) {
      const key = scopes.join(' ')
      const known = tokens.get(key)
      if (known !== undefined && options?.fresh !== true) return known
      const { client, clientSecret } = await services.tokenServer!.clients.create({ name: `api-test-${randomUUID()}`, scopes })
      // An independent OAuth2 client, through discovery.
      const config = await oidc.discovery(new URL(issuer), client.clientId, clientSecret, oidc.ClientSecretBasic(clientSecret), { execute: [oidc.allowInsecureRequests] })
      const { access_token: token } = await oidc.clientCredentialsGrant(config, { scope: key })
      tokens.set(key, token)
      return token
    },
    async close () {
      await auth.close()
      await services.close()
    }
  }
}

function ownerMap (platform: Platform): GroupOwnerMap {
  return new GroupOwnerMap({ log: async () => platform.log, groupId: platform.applicationId, topic: platform.topics.rewardEvents, ttlMs: 500 })
}

/** Owners of the properties' points windows (api/query/member-queries.ts pointsWindows). */
function propertyOwnerMap (platform: Platform): GroupOwnerMap {
  return new GroupOwnerMap({ log: async () => platform.log, groupId: platform.applicationId, topic: pointsRepartitionTopic(platform.applicationId), ttlMs: 500 })
}

/** The platform's public and internal token checks, over a revoked-clients set loaded now and
 *  not reloaded within a test: for the tests that count which reads a fast lane answered. A lane
 *  admits a token only while its client is known not revoked without reading the database
 *  (docs/api.md "Balance fast lane"); the platform's set is due a reload 5 s after its last
 *  load, and a lane read just past that mark is handed to the route, which reloads it — correct,
 *  but then whether the lane answered a read depends on where that mark fell. The servers a test
 *  compares share these (a token verified by one is verified before for the other). */
export async function guardsWithRevocationsLoaded (platform: Platform): Promise<{ guard: ScopeGuard, internalGuard: ScopeGuard }> {
  const revoked = new RevokedClients(platform.services.db!, { reloadMs: 3_600_000 })
  await revoked.preload()
  const common = { audience: platform.settings.audience, jwksUrl: null, keys: platform.services.tokenServer!.keys, revoked }
  const registry = new Registry()
  return {
    guard: scopeGuard(new TokenVerifier({ issuer: platform.settings.issuer, ...common }), registry),
    // As api/api-services.ts builds the internal one: built-in keys, the issuer not checked.
    internalGuard: scopeGuard(new TokenVerifier({ issuer: null, ...common }), registry)
  }
}

/** Every topic a run of the rewards topology creates besides the platform's: changelogs and the
 *  repartition topic. */
export function internalTopicsOf (applicationId: string): string[] {
  const stores = [...Object.values(REWARDS_STORES), ...Object.values(POINTS_WINDOW_STORES)]
  return [...stores.map(s => changelogTopicName(applicationId, s)), pointsRepartitionTopic(applicationId)]
}

function producerOf (log: Log): () => Promise<LogProducer> {
  let producer: Promise<LogProducer> | undefined
  return () => {
    producer ??= log.createProducer({ clientId: `api-test-${randomUUID()}` })
    return producer
  }
}

async function listen (server: FastifyInstance): Promise<{ url: string, address: string }> {
  await server.listen({ host: '127.0.0.1', port: 0 })
  const address = `127.0.0.1:${(server.server.address() as { port: number }).port}`
  return { url: `http://${address}`, address }
}

/** A processor instance: stream application + internal routes, and (publicApi) the public API. */
export async function startProcessor (platform: Platform, options: { stateDir?: string, publicApi?: boolean, streams?: Partial<StreamsApplicationOptions['config']>, waitRunning?: boolean } = {}): Promise<Instance> {
  const registry = new Registry()
  const server = buildServer({ readiness: new Readiness(), registry })
  // Created once the server listens (its address is the application server).
  const holder: { app?: StreamsApplication } = {}
  const reader = registerStreamsQueries(server, () => holder.app, async () => platform.services)
  let producer: (() => Promise<LogProducer>) | undefined
  if (options.publicApi === true) {
    producer = producerOf(platform.log)
    await server.register(publicApi, {
      settings: platform.settings, guard: platform.services.guard, cache: platform.services.cache,
      queries: new MemberQueries({ local: reader, owners: ownerMap(platform), registry }), topics: platform.topics, producer, registry
    })
  }
  const { url, address } = await listen(server)
  const app = new StreamsApplication(buildRewardsTopology({ rules: defaultRuleSet(), topics: platform.topics }), {
    log: platform.log,
    registry,
    config: {
      applicationId: platform.applicationId,
      stateDir: options.stateDir ?? mkdtempSync(join(tmpdir(), 'api-proc-')),
      applicationServer: address,
      ...options.streams
    }
  })
  holder.app = app
  await app.start()
  if (options.waitRunning !== false) await app.waitForState('RUNNING', 120_000)
  const started = app
  return {
    url, address, server, app: started, registry, reader,
    async close () {
      await started.close()
      await server.close()
      if (producer !== undefined) await (await producer()).close()
    }
  }
}

/** An API-only instance: no stores; every query forwarded to the owner found in the group. */
export async function startApiOnly (platform: Platform): Promise<Instance> {
  const registry = new Registry()
  const server = buildServer({ readiness: new Readiness(), registry })
  const producer = producerOf(platform.log)
  await server.register(publicApi, {
    settings: platform.settings, guard: platform.services.guard, cache: platform.services.cache,
    queries: new MemberQueries({ owners: ownerMap(platform), propertyOwners: propertyOwnerMap(platform), registry }),
    topics: platform.topics, producer, registry
  })
  const { url, address } = await listen(server)
  return {
    url, address, server, app: undefined, registry,
    async close () {
      await server.close()
      await (await producer()).close()
    }
  }
}

export function earn (memberId: string, eventId: string, amountCents: number, occurredAt = '2026-03-01T12:00:00Z'): Record<string, unknown> {
  return { eventId, memberId, source: 'HOTEL', type: 'EARN', amountCents, currency: 'USD', occurredAt, propertyId: 'LV-01' }
}

export function redeem (memberId: string, redemptionId: string, points: number, requestedAt = '2026-03-02T12:00:00Z'): Record<string, unknown> {
  return { redemptionId, memberId, points, rewardCode: 'ROOM-NIGHT', channel: 'ONLINE', requestedAt }
}

export async function call (url: string, token: string, init: { method?: string, body?: unknown, headers?: Record<string, string> } = {}): Promise<{ status: number, body: any, headers: Headers }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- test responses of many shapes
  const response = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { authorization: `Bearer ${token}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {})
  })
  return { status: response.status, body: await response.json().catch(() => undefined), headers: response.headers }
}

/** Polls until `check` passes or the time is up. */
export async function eventually<T> (fn: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last = await fn()
  while (!check(last)) {
    if (Date.now() > deadline) return last
    await new Promise(resolve => setTimeout(resolve, 100))
    last = await fn()
  }
  return last
}

/** A platform on the real broker with topics of its own (`${name}<time>-…`); `close` closes it
 *  and removes its topics and changelogs (after the instances on it closed). */
export interface KafkaPlatform {
  /** Unique name of the run: topic prefix and application id. */
  readonly run: string
  readonly log: Log
  readonly topics: RewardsTopics
  readonly platform: Platform
  close (): Promise<void>
}

export async function startKafkaPlatform (name: string, partitions: number, settings?: Partial<Omit<ApiSettings, 'issuer'>>): Promise<KafkaPlatform> {
  const brokers = (process.env.REWARDS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
  const run = `${name}${Date.now().toString(36)}`
  const log = createKafkaLog({ brokers, clientId: run })
  const topics = platformTopics({ topicPrefix: `${run}-` })
  await ensurePlatformTopics(log, { topicPrefix: `${run}-`, partitions })
  const platform = await startPlatform({ log, topics, applicationId: run, ...(settings !== undefined ? { settings } : {}) })
  const close = async (): Promise<void> => {
    await platform.close()
    await log.admin.deleteTopics([...Object.values(topics), ...internalTopicsOf(run)]).catch(() => undefined)
    await log.close()
  }
  return { run, log, topics, platform, close }
}

export interface KafkaCluster {
  /** Unique name of the run: topic prefix and application id. */
  readonly run: string
  readonly platform: Platform
  /** Two processor instances (with the public API) and one API-only instance. */
  readonly a: Instance
  readonly b: Instance
  readonly api: Instance
  /** Closes processor B (a member leaving); `bClosed` is true once it has. */
  closeB (): Promise<void>
  readonly bClosed: boolean
}

/** Two processors and an API-only instance on the real broker, with topics of their own (removed,
 *  with the changelogs, in t's teardown). No per-client rate limit: the hand-over loops poll as
 *  fast as they can (test/api/rate-limit.test.ts covers the limit). */
export async function startKafkaCluster (t: Test, name: string, partitions: number): Promise<KafkaCluster> {
  const kafka = await startKafkaPlatform(name, partitions, { apiRateLimit: null })
  const { run, platform } = kafka
  const a = await startProcessor(platform, { publicApi: true, waitRunning: false })
  const b = await startProcessor(platform, { publicApi: true, waitRunning: false })
  const api = await startApiOnly(platform)
  let bClosed = false
  let closingB: Promise<void> | undefined
  const closeB = async (): Promise<void> => { closingB ??= b.close().then(() => { bClosed = true }); await closingB }
  t.teardown(async () => {
    await api.close()
    await closeB()
    await a.close()
    await kafka.close()
  })
  return { run, platform, a, b, api, closeB, get bClosed () { return bClosed } }
}
