// The api role: the public HTTP API (api/public-api.ts) on the main listener. With the processor
// role in the same process (`--role all`), keys this instance owns are read from its stores and
// the others forwarded; alone (`--role api`), it is stateless and forwards every query to the
// owning processor instance found through the consumer group (docs/decisions/0006-query-routing.md).
// Events and redemptions are produced to the log with one idempotent producer. Reports
// (GET /v1/reports/…) read the archive: a small pool of its own with REWARDS_DATABASE_URL,
// otherwise the embedded archive of the archiver role in this process (none → 503).
import { apiServicesFor } from '../../api/api-services.ts'
import { sharedArchiveDatabase } from '../../api/archive-access.ts'
import { publicApi } from '../../api/public-api.ts'
import { GroupOwnerMap } from '../../api/query/group-owner-map.ts'
import { MemberQueries } from '../../api/query/member-queries.ts'
import { localReaderOf } from '../../api/streams-queries.ts'
import type { Database } from '../../lib/db/database.ts'
import type { LogProducer } from '../../log/log-port.ts'
import { pointsRepartitionTopic } from '../../processors/rewards/points-windows.ts'
import type { Role, RoleContext } from './role.ts'

export function apiRole (ctx: RoleContext): Role {
  const logger = ctx.logger.child({ role: 'api' })
  const services = apiServicesFor(ctx.server, { config: ctx.config, registry: ctx.registry, logger, advertisedAddress: ctx.advertisedAddress, dependencies: ctx.dependencies })
  let producer: Promise<LogProducer> | undefined
  let reportsDb: Database | undefined
  let ready = false
  ctx.readiness.add('api', () => ready ? { ready: true, detail: 'serving' } : { ready: false, detail: 'opening the token store and cache' })

  void ctx.server.register(async scope => {
    const opened = await services
    if (ctx.config.databaseUrl !== null) {
      // pg connects on first query: nothing is reached until a report is asked for.
      const { archiveDatabaseConfig, openDatabase } = await import('../../lib/db/database.ts')
      reportsDb = await openDatabase(archiveDatabaseConfig(ctx.config, { maxConnections: 2 }))
    }
    // Decided when the server starts: the processor role (if any) has registered its reader by then.
    const local = localReaderOf(ctx.server)
    // The owner map serves API-only instances for every query, and every instance for lookups
    // of a redemption by id, which ask all processor instances.
    const queries = new MemberQueries({
      ...(local !== undefined ? { local } : {}),
      owners: new GroupOwnerMap({ log: ctx.log, groupId: ctx.config.applicationId, topic: ctx.platform.topics.rewardEvents }),
      propertyOwners: new GroupOwnerMap({ log: ctx.log, groupId: ctx.config.applicationId, topic: pointsRepartitionTopic(ctx.config.applicationId) }),
      registry: ctx.registry,
      forwardTimeoutMs: opened.settings.forwardTimeoutMs,
      maxStalenessRecords: ctx.config.queryMaxStalenessRecords ?? 0
    })
    await scope.register(publicApi, {
      settings: opened.settings,
      guard: opened.guard,
      cache: opened.cache,
      queries,
      topics: ctx.platform.topics,
      registry: ctx.registry,
      reports: { db: () => reportsDb ?? sharedArchiveDatabase(ctx.server), registry: ctx.registry },
      producer: () => {
        producer ??= ctx.log().then(log => log.createProducer({ clientId: `${ctx.config.applicationId}-api-${process.pid}` }))
        return producer
      }
      // The token server is the auth role's (role `all` runs both).
    })
    logger.info({ routing: local !== undefined ? 'local stores, forwarding the rest' : 'forwarding via the consumer group', auth: opened.settings.jwksUrl ?? 'built-in keys', cache: opened.cache.kind }, 'public API registered')
  })

  return {
    name: 'api',
    async start (): Promise<void> {
      await services
      ready = true
    },
    async close (): Promise<void> {
      ready = false
      const open = producer
      producer = undefined
      if (open !== undefined) await (await open.catch(() => undefined))?.close()
      const db = reportsDb
      reportsDb = undefined
      await db?.close()
    }
  }
}
