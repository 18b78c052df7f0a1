// The auth role: the built-in OAuth2 token server (POST /oauth/token, JWKS, discovery) on the main
// listener. Clients and signing keys live in PostgreSQL, so any number of auth instances issue
// interchangeable tokens. With an external IdP configured (JWKS URL) it serves nothing.
import { apiServicesFor } from '../../api/api-services.ts'
import { tokenRoutes } from '../../api/auth/token-routes.ts'
import type { Role, RoleContext } from './role.ts'

export function authRole (ctx: RoleContext): Role {
  const logger = ctx.logger.child({ role: 'auth' })
  const services = apiServicesFor(ctx.server, { config: ctx.config, registry: ctx.registry, logger, advertisedAddress: ctx.advertisedAddress })
  let ready = false
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
  })
  return {
    name: 'auth',
    async start (): Promise<void> {
      const { tokenServer } = await services
      // The first signing key is created now rather than on the first token request.
      await tokenServer?.keys.publicJwks()
      ready = true
    },
    async close (): Promise<void> {
      ready = false
    }
  }
}
