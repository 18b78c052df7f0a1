// The public HTTP API as one Fastify plugin: shared schemas, the OAuth2 token server (unless an
// external IdP is configured), member queries, ingestion and redemptions, reports over the
// archive (when given a database), and the OpenAPI
// document of all of them (GET /openapi.json, rendered at GET /docs). Registered beside the ops
// routes of api/ops-server.ts, it inherits their request ids, error shape and HTTP metrics. Its
// JSON routes answer 406 to clients that accept no JSON; CORS when configured (off by default).
import fastifyCors from '@fastify/cors'
import type { FastifyPluginAsync } from 'fastify'
import { Registry } from 'prom-client'
import type { LogProducer } from '../topology/index.ts'
import type { RewardsTopics } from '../processors/rewards/topics.ts'
import type { ApiSettings } from './api-settings.ts'
import type { ClientStore } from './auth/client-store.ts'
import type { ScopeGuard } from './auth/require-scope.ts'
import type { SigningKeys } from './auth/signing-keys.ts'
import { tokenRoutes } from './auth/token-routes.ts'
import type { SharedCache } from './cache/shared-cache.ts'
import { jsonNotAccepted } from './content-negotiation.ts'
import { registerDocsPage } from './docs-page.ts'
import { collectOpenApi } from './openapi.ts'
import type { MemberQueries } from './query/member-queries.ts'
import { ingestRoutes } from './routes/ingest-routes.ts'
import { installBalanceFastLane } from './routes/balance-fast-lane.ts'
import { memberRoutes } from './routes/member-routes.ts'
import { propertyRoutes } from './routes/property-routes.ts'
import { bindRateLimitToRoutes, rateLimitedGuard, registerRateLimiting } from './routes/rate-limit.ts'
import { reportRoutes, type ReportRoutesOptions } from './routes/report-routes.ts'
import { addSharedSchemas } from './schemas.ts'

export interface PublicApiOptions {
  readonly settings: ApiSettings
  readonly guard: ScopeGuard
  readonly cache: SharedCache
  readonly queries: MemberQueries
  readonly producer: () => Promise<LogProducer>
  readonly topics: RewardsTopics
  /** The built-in token server; absent when an external IdP issues the tokens. */
  readonly tokenServer?: { readonly clients: ClientStore, readonly keys: SigningKeys }
  /** GET /v1/reports/… over the archive; absent: no report routes. */
  readonly reports?: Omit<ReportRoutesOptions, 'guard' | 'topics'>
  /** For the rate limit's metric; default: a private registry. */
  readonly registry?: Registry
}

export const publicApi: FastifyPluginAsync<PublicApiOptions> = async (app, options) => {
  const { settings } = options
  addSharedSchemas(app)
  const openapi = collectOpenApi(app, {
    title: 'Rewards & Redeem API',
    version: '1',
    tokenUrl: () => `${settings.issuer()}/oauth/token`,
    rateLimited: settings.apiRateLimit !== null,
    // Whether this process serves it or the auth role does, the built-in server is the API's.
    tokenServer: settings.jwksUrl === null
  })
  // Browsers from these origins only; bearer tokens, no cookies: no credentials mode.
  if (settings.corsOrigins !== null) {
    await app.register(fastifyCors, {
      origin: settings.corsOrigins === '*' ? '*' : [...settings.corsOrigins],
      methods: ['GET', 'HEAD', 'POST'],
      exposedHeaders: ['x-request-id', 'etag', 'location', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'idempotent-replayed', 'x-cache'],
      maxAge: 600
    })
  }
  await registerDocsPage(app, openapi)
  // A callback hook (no promise per request): see api/ops-server.ts.
  app.addHook('onRequest', (request, _reply, done) => {
    done(request.url.startsWith('/docs') ? undefined : jsonNotAccepted(request))
  })
  if (options.tokenServer !== undefined) {
    await app.register(tokenRoutes, {
      issuer: settings.issuer,
      audience: settings.audience,
      tokenTtlSeconds: settings.tokenTtlSeconds,
      clients: options.tokenServer.clients,
      keys: options.tokenServer.keys,
      cache: options.cache,
      rateLimit: settings.tokenRateLimit,
      failureLimit: settings.tokenFailureLimit
    })
  }
  // Every /v1 route: the token and scope, then the client's rate limit.
  const rateLimitStore = await registerRateLimiting(app, options.cache)
  const guard = settings.apiRateLimit === null ? options.guard : rateLimitedGuard(rateLimitStore, options.guard, settings.apiRateLimit, options.registry ?? new Registry())
  bindRateLimitToRoutes(app)
  await app.register(memberRoutes, { queries: options.queries, guard, cache: options.cache, balanceCacheTtlMs: settings.balanceCacheTtlMs })
  // The happy balance read without Fastify's per-request machinery, answered as the route would
  // (api/routes/balance-fast-lane.ts): not with CORS headers, nor with Redis behind the cache.
  if (settings.balanceFastLane && settings.corsOrigins === null) {
    installBalanceFastLane(app, { queries: options.queries, guard: guard('balances:read'), rateLimited: settings.apiRateLimit !== null, cache: options.cache, balanceCacheTtlMs: settings.balanceCacheTtlMs })
  }
  await app.register(ingestRoutes, {
    producer: options.producer,
    topics: options.topics,
    queries: options.queries,
    guard,
    cache: options.cache,
    redemptionWaitMs: settings.redemptionWaitMs,
    maxRedemptionWaitMs: settings.maxRedemptionWaitMs
  })
  await app.register(propertyRoutes, { queries: options.queries, guard })
  if (options.reports !== undefined) await app.register(reportRoutes, { ...options.reports, guard, topics: options.topics })
  app.get('/openapi.json', { schema: { hide: true } }, async () => openapi())
}
