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
  const services = apiServicesFor(ctx.server, { config: ctx.config, registry: ctx.registry, logger, advertisedAddress: ctx.advertisedAddress })
  let ready = false
  const adminToken = newAdminToken()
  let announced = false
  ctx.readiness.add('auth', () => ready ? { ready: true, detail: 'issuing tokens' } : { ready: false, detail: 'opening the client store' })
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
      rateLimit: settings.tokenRateLimit
    })
    if ((await services).db?.kind === 'pglite') await scope.register(clientAdminRoutes, { clients: tokenServer.clients, keys: tokenServer.keys, adminToken })
  })
  return {
    name: 'auth',
    async start (): Promise<void> {
      const { tokenServer } = await services
      // The first signing key is created now rather than on the first token request.
      await tokenServer?.keys.publicJwks()
      if (tokenServer !== undefined && (await services).db?.kind === 'pglite') {
        writeAdminRunFile(ctx.config.dataDir, { pid: process.pid, url: adminUrl(ctx.advertisedAddress()), token: adminToken })
        announced = true
      }
      ready = true
    },
    async close (): Promise<void> {
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
