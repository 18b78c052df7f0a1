// What the API's routes share in one process, opened once per HTTP server and closed when it
// closes (onClose): the database of the built-in token server (clients and signing keys, with
// migrations applied; the process's one handle, shared with the archiver: lib/db/shared-database.ts),
// the token verifier and scope guard, and the shared cache (Redis or in-process). The processor role (internal query routes) and the api role (public routes) both
// use it, so a `--role all` process has one of each.
import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import type { RewardsConfig } from '../lib/config.ts'
import { archiveDatabaseConfig, type Database, type DatabaseConfig } from '../lib/db/database.ts'
import { isDatabaseUnreachable } from '../lib/db/database-errors.ts'
import { migrate, migrationMessage } from '../lib/db/migrate.ts'
import { migrateWhenReachable } from '../lib/db/migrate-when-reachable.ts'
import { acquireDatabase, databaseLocation } from '../lib/db/shared-database.ts'
import type { DependencyHealth } from '../lib/dependency-health.ts'
import type { Logger } from '../lib/logger.ts'
import { apiSettings, type ApiSettings } from './api-settings.ts'
import { ClientStore } from './auth/client-store.ts'
import { RevokedClients } from './auth/revoked-clients.ts'
import { importLegacyAuthDatabase } from './auth/legacy-auth-pg.ts'
import { scopeGuard, type ScopeGuard } from './auth/require-scope.ts'
import { SigningKeys } from './auth/signing-keys.ts'
import { TokenVerifier } from './auth/token-verifier.ts'
import { openSharedCache, type SharedCache } from './cache/shared-cache.ts'

export interface ApiServices {
  readonly settings: ApiSettings
  /** Null when an external IdP issues the tokens. */
  readonly db: Database | null
  readonly tokenServer: { readonly clients: ClientStore, readonly keys: SigningKeys } | undefined
  readonly verifier: TokenVerifier
  readonly guard: ScopeGuard
  /** For the internal (forwarded) query routes: with built-in keys the issuer is not checked,
   *  since the forwarding instance checked it and only the platform's own token server holds the
   *  keys (instances may be configured with different default issuers: their own addresses). */
  readonly internalGuard: ScopeGuard
  readonly cache: SharedCache
  /** Resolves once the token server's schema is migrated: at once, or (PostgreSQL configured but
   *  unreachable at start) when the database can be reached. Rejects on what waiting cannot fix
   *  (wrong password, a failing migration): the roles then stop the process. */
  readonly schemaReady: Promise<void>
  close (): Promise<void>
}

export interface ApiServicesInput {
  readonly config: Pick<RewardsConfig, 'databaseUrl' | 'dataDir' | 'redisUrl'> & Partial<Pick<RewardsConfig, 'authIssuer' | 'authJwksUrl' | 'authAudience' | 'apiRateLimit' | 'apiCorsOrigins'>>
  readonly settings: ApiSettings
  readonly registry: Registry
  readonly logger?: Logger
  /** An already open database to use (not closed by close()). */
  readonly db?: Database
  /** Where Redis outages are reported (`rewards start`). */
  readonly dependencies?: DependencyHealth
}

/** Where the token server's tables live: the configured PostgreSQL or, embedded, the archive's
 *  PGlite in <dataDir>/pg (one database, one migration set: lib/db/migrations). `rewards clients`
 *  opens the same (or, while `rewards start` holds it, asks the platform). */
export function authDatabaseConfig (config: Pick<RewardsConfig, 'databaseUrl' | 'dataDir' | 'pgliteCacheDir'>): DatabaseConfig {
  return archiveDatabaseConfig(config)
}

/** Opens (or shares) the token server's database, migrated, with the clients of an older
 *  <dataDir>/auth-pg imported once. */
export async function openAuthDatabase (config: Pick<RewardsConfig, 'databaseUrl' | 'dataDir' | 'pgliteCacheDir'>, logger?: Logger): Promise<Database> {
  const db = await acquireDatabase(authDatabaseConfig(config))
  try {
    const outcome = await migrate(db)
    if (outcome.applied.length > 0) logger?.info({ applied: outcome.applied.map(m => m.version), database: db.kind }, migrationMessage(outcome))
    const legacy = await importLegacyAuthDatabase(db, config.dataDir)
    if (legacy !== undefined) logger?.info(legacy, `imported ${legacy.imported} OAuth client(s) from ${legacy.from} (renamed ${legacy.from}.imported)`)
    return db
  } catch (error) {
    await db.close()
    throw error
  }
}

export async function openApiServices (input: ApiServicesInput): Promise<ApiServices> {
  const { settings } = input
  const builtIn = settings.jwksUrl === null
  let db: Database | null = null
  const ownsDb = input.db === undefined
  let schemaReady: Promise<void> = Promise.resolve()
  const abandon = new AbortController()
  if (builtIn) {
    if (input.db !== undefined) {
      db = input.db
      await migrate(db)
    } else if (input.config.databaseUrl !== null) {
      // PostgreSQL may be down now: the API starts anyway (tokens answer 503 DATABASE_UNAVAILABLE
      // until it is up) and the schema is migrated when it can be reached. Up, it is migrated
      // before this returns, as on the embedded database.
      const location = authDatabaseConfig(input.config)
      db = await acquireDatabase(location)
      try {
        const outcome = await migrate(db)
        if (outcome.applied.length > 0) input.logger?.info({ applied: outcome.applied.map(m => m.version), database: db.kind }, migrationMessage(outcome))
      } catch (error) {
        if (!isDatabaseUnreachable(error)) {
          await db.close()
          throw error
        }
        input.logger?.warn({ event: 'database.unreachable.at.start', reason: (error as Error).message }, 'PostgreSQL cannot be reached: the API starts without it; tokens are issued once it is reachable')
        schemaReady = migrateWhenReachable(db, { location: databaseLocation(location), signal: abandon.signal, ...(input.logger !== undefined ? { logger: input.logger } : {}) }).then(() => undefined)
        schemaReady.catch(() => undefined) // observed by the roles (ctx.fatal)
      }
    } else {
      db = await openAuthDatabase(input.config, input.logger)
    }
  }
  const keys = db === null ? undefined : new SigningKeys(db, { retiredKeyGraceMs: (settings.tokenTtlSeconds + 60) * 1000, rotateAfterMs: settings.keyRotationMs })
  // One revoked set and one key set for both verifiers, loaded now: a verifier used for the first
  // time during a PostgreSQL outage still has them (docs/api.md "PostgreSQL outages").
  const revoked = db === null ? undefined : new RevokedClients(db)
  await Promise.all([revoked?.preload(), keys?.publicJwks().catch(() => undefined)])
  const verifier = new TokenVerifier({
    issuer: settings.issuer,
    audience: settings.audience,
    jwksUrl: settings.jwksUrl,
    ...(keys !== undefined ? { keys } : {}),
    ...(revoked !== undefined ? { revoked } : {})
  })
  const internalVerifier = !builtIn
    ? verifier
    : new TokenVerifier({ issuer: null, audience: settings.audience, jwksUrl: null, ...(keys !== undefined ? { keys } : {}), ...(revoked !== undefined ? { revoked } : {}) })
  const cache = openSharedCache({ redisUrl: input.config.redisUrl, registry: input.registry, ...(input.logger !== undefined ? { logger: input.logger } : {}), ...(input.dependencies !== undefined ? { health: input.dependencies } : {}) })
  return {
    settings,
    db,
    tokenServer: db === null || keys === undefined ? undefined : { clients: new ClientStore(db), keys },
    verifier,
    guard: scopeGuard(verifier, input.registry),
    internalGuard: internalVerifier === verifier ? scopeGuard(verifier, input.registry) : scopeGuard(internalVerifier, input.registry),
    cache,
    schemaReady,
    async close () {
      abandon.abort()
      await cache.close()
      if (db !== null && ownsDb) await db.close()
    }
  }
}

interface ServerServices {
  /** Set on first open (and cleared when that open failed, so that a later call tries again). */
  opened?: Promise<ApiServices>
  readonly open: () => Promise<ApiServices>
}

const perServer = new WeakMap<FastifyInstance, ServerServices>()

function servicesEntry (server: FastifyInstance, input: Omit<ApiServicesInput, 'settings'> & { settings?: ApiSettings, advertisedAddress: () => string }): ServerServices {
  let entry = perServer.get(server)
  if (entry === undefined) {
    const authIssuer = input.config.authIssuer ?? null
    const authJwksUrl = input.config.authJwksUrl ?? null
    const authAudience = input.config.authAudience ?? null
    const apiRateLimit = input.config.apiRateLimit
    const corsOrigins = input.config.apiCorsOrigins
    const settings = input.settings ?? apiSettings({
      issuer: authIssuer !== null ? () => authIssuer : () => `http://${input.advertisedAddress()}`,
      ...(authJwksUrl !== null ? { jwksUrl: authJwksUrl } : {}),
      ...(authAudience !== null ? { audience: authAudience } : {}),
      ...(apiRateLimit !== undefined ? { apiRateLimit } : {}),
      ...(corsOrigins !== undefined ? { corsOrigins } : {})
    })
    const created: ServerServices = {
      open: () => {
        if (created.opened === undefined) {
          const opening = openApiServices({ ...input, settings })
          created.opened = opening
          opening.catch(() => { if (created.opened === opening) delete created.opened })
        }
        return created.opened
      }
    }
    entry = created
    perServer.set(server, entry)
    // Registered now (Fastify refuses hooks once it listens), whether or not anything opens.
    server.addHook('onClose', async () => {
      await (await created.opened?.catch(() => undefined))?.close()
    })
  }
  return entry
}

/** The services of this HTTP server, opened on first use and closed when the server closes.
 *  The first call must happen before the server starts listening. */
export function apiServicesFor (server: FastifyInstance, input: Omit<ApiServicesInput, 'settings'> & { settings?: ApiSettings, advertisedAddress: () => string }): Promise<ApiServices> {
  return servicesEntry(server, input).open()
}

/** The same services, opened only when the returned function is first called (possibly after the
 *  server listens; a failed open is tried again on the next call), or at once by apiServicesFor
 *  if another role of the process opens them. Must be called before the server listens. A
 *  processor-only process uses them only to check the tokens of forwarded queries: it does not
 *  open the token store (the embedded PostgreSQL, migrations, signing keys) nor the cache to
 *  start (docs/api.md "Roles"). */
export function apiServicesOnDemand (server: FastifyInstance, input: Omit<ApiServicesInput, 'settings'> & { settings?: ApiSettings, advertisedAddress: () => string }): () => Promise<ApiServices> {
  return servicesEntry(server, input).open
}
