// The auth role: the built-in OAuth2 token server (POST /oauth/token, JWKS, discovery) on the main
// listener. Clients and signing keys live in PostgreSQL, so any number of auth instances issue
// interchangeable tokens. With an external IdP configured (JWKS URL) it serves nothing.
// On the embedded database it also serves client administration to `rewards clients` on this
// machine (api/auth/client-admin-routes.ts), announced in <data-dir>/admin.json while it runs.
import { apiServicesFor } from '../../api/api-services.ts'
import { newAdminToken, removeAdminRunFile, writeAdminRunFile } from '../../api/auth/admin-run-file.ts'
import { clientAdminRoutes } from '../../api/auth/client-admin-routes.ts'
import { tokenRoutes } from '../../api/auth/token-routes.ts'
import type { Role, RoleContext } from './role.ts'

export function authRole (ctx: RoleContext): Role {
  const logger = ctx.logger.child({ role: 'auth' })
  const services = apiServicesFor(ctx.server, { config: ctx.config, registry: ctx.registry, logger, advertisedAddress: ctx.advertisedAddress, dependencies: ctx.dependencies })
  let ready = false
  const adminToken = newAdminToken()
  let announced = false
  let closing = false
  ctx.readiness.add('auth', () => {
    if (!ready) return { ready: false, detail: 'opening the client store' }
    // PostgreSQL down: tokens cannot be issued (503 DATABASE_UNAVAILABLE); the instance stays ready.
    if (ctx.dependencies.status('database')?.state === 'down') return { ready: true, degraded: true, detail: 'cannot issue tokens while PostgreSQL is down (503 DATABASE_UNAVAILABLE)' }
    return { ready: true, detail: 'issuing tokens' }
  })
  void ctx.server.register(async scope => {
    const { settings, tokenServer, cache } = await services
    if (tokenServer === undefined) {
      logger.info({ jwksUrl: settings.jwksUrl }, 'external IdP configured: the built-in token server is not served')
      return
    }
    await scope.register(tokenRoutes, {
      issuer: settings.issuer,
      audience: settings.audience,
      tokenTtlSeconds: settings.tokenTtlSeconds,
      clients: tokenServer.clients,
      keys: tokenServer.keys,
      cache,
      rateLimit: settings.tokenRateLimit,
      failureLimit: settings.tokenFailureLimit
    })
    if ((await services).db?.kind === 'pglite') await scope.register(clientAdminRoutes, { clients: tokenServer.clients, keys: tokenServer.keys, adminToken })
  })
  return {
    name: 'auth',
    async start (): Promise<void> {
      const { tokenServer, schemaReady, db } = await services
      // What waiting cannot fix (wrong password, a failing migration) stops the process.
      schemaReady.catch(error => { if (!closing) ctx.fatal(error) })
      // The first signing key is created now rather than on the first token request: at once on
      // the embedded database; with PostgreSQL as soon as its schema is there (it may be down now:
      // the API starts anyway and token requests answer 503 until it is up).
      const firstKey = schemaReady.then(async () => { await tokenServer?.keys.publicJwks() })
      if (db?.kind === 'pglite') {
        await firstKey
      } else {
        firstKey.catch(error => { if (!closing) logger.warn({ err: error }, `no signing key yet: ${(error as Error).message}`) })
        let timer: NodeJS.Timeout | undefined
        const reachable = await Promise.race([firstKey.then(() => true, () => false), new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(false), 3_000) })])
        clearTimeout(timer)
        if (!reachable) logger.warn('PostgreSQL is not reachable: the token server starts without it and answers 503 DATABASE_UNAVAILABLE until it is')
      }
      if (tokenServer !== undefined && db?.kind === 'pglite') {
        writeAdminRunFile(ctx.config.dataDir, { pid: process.pid, url: adminUrl(ctx.advertisedAddress()), token: adminToken })
        announced = true
      }
      ready = true
    },
    async close (): Promise<void> {
      closing = true
      ready = false
      if (announced) removeAdminRunFile(ctx.config.dataDir)
    }
  }
}

/** The listener as this machine reaches it (a wildcard bind is reached on loopback). */
function adminUrl (address: string): string {
  const at = address.lastIndexOf(':')
  const host = address.slice(0, at)
  return `http://${host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : host}:${address.slice(at + 1)}`
}
