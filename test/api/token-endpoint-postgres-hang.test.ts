// POST /oauth/token while PostgreSQL hangs (connections accepted, nothing answered: a paused
// server, a black-holed network): 503 DATABASE_UNAVAILABLE + Retry-After within the token
// endpoint's database bound (TOKEN_DATABASE_WAIT_MS, 1 s: what a /v1 request waits at most on a
// reload, docs/api.md "PostgreSQL outages"), not the pool's connect or query timeout. Over HTTP,
// PostgreSQL through a TCP proxy frozen by the test.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { Registry } from 'prom-client'
import { openApiServices } from '../../api/api-services.ts'
import { apiSettings } from '../../api/api-settings.ts'
import { TOKEN_DATABASE_WAIT_MS, tokenRoutes } from '../../api/auth/token-routes.ts'
import { Readiness } from '../../api/health/readiness.ts'
import { buildServer } from '../../api/ops-server.ts'
import { TcpProxy } from '../archive/tcp-proxy.ts'
import { createTestDatabase, openMigrated } from '../archive/archive-helpers.ts'

t.test('the token endpoint answers 503 within its bound while PostgreSQL hangs', async t => {
  const database = await createTestDatabase('token_hang')
  t.teardown(database.drop)
  const migrated = await openMigrated(database.url, t.testdir({}))
  await migrated.close()
  const target = new URL(database.url)
  const proxy = new TcpProxy(target.hostname, Number(target.port || 5432))
  const proxied = new URL(database.url)
  proxied.port = String(await proxy.listen())
  t.teardown(() => proxy.close())

  const registry = new Registry()
  let issuer = ''
  const settings = apiSettings({ issuer: () => issuer })
  const services = await openApiServices({ config: { databaseUrl: proxied.toString(), dataDir: '/tmp/unused', redisUrl: null }, settings, registry })
  const server = buildServer({ readiness: new Readiness(), registry })
  await server.register(tokenRoutes, {
    issuer: settings.issuer, audience: settings.audience, tokenTtlSeconds: settings.tokenTtlSeconds,
    clients: services.tokenServer!.clients, keys: services.tokenServer!.keys, cache: services.cache, rateLimit: { max: 10_000, windowMs: 60_000 }
  })
  await server.listen({ host: '127.0.0.1', port: 0 })
  issuer = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`
  t.teardown(async () => { proxy.thaw(); await server.close(); await services.close() })

  const { client, clientSecret } = await services.tokenServer!.clients.create({ name: `hang-${randomUUID()}`, scopes: ['balances:read'] })
  const ask = async (): Promise<{ status: number, ms: number, retryAfter: string | null, body: { code?: string, access_token?: string } }> => {
    const t0 = performance.now()
    const response = await fetch(`${issuer}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString('base64')}` },
      body: 'grant_type=client_credentials'
    })
    const body = await response.json() as { code?: string, access_token?: string }
    return { status: response.status, ms: performance.now() - t0, retryAfter: response.headers.get('retry-after'), body }
  }
  const before = await ask()
  t.equal(before.status, 200, 'a token while PostgreSQL answers')

  proxy.freeze()
  const hung = [await ask(), await ask()]
  t.comment(`while PostgreSQL hangs: ${hung.map(h => `${h.status} in ${Math.round(h.ms)} ms`).join(', ')}`)
  for (const [i, h] of hung.entries()) {
    t.equal(h.status, 503, `request ${i + 1}: 503`)
    t.equal(h.body.code, 'DATABASE_UNAVAILABLE', `request ${i + 1}: DATABASE_UNAVAILABLE`)
    t.equal(h.retryAfter, '1', `request ${i + 1}: Retry-After: 1`)
    // The bound, plus the scrypt check and a loaded machine's scheduling; the pool's connect
    // timeout (5 s) before.
    t.ok(h.ms < TOKEN_DATABASE_WAIT_MS + 1500, `request ${i + 1}: answered in ${Math.round(h.ms)} ms (bound ${TOKEN_DATABASE_WAIT_MS} ms)`)
  }
  proxy.thaw()
})
