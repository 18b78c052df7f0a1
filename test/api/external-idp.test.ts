// An external IdP (Keycloak, Cognito…) in place of the built-in token server: the API verifies
// tokens against the IdP's JWKS URL and issuer (REWARDS_AUTH_JWKS_URL / REWARDS_AUTH_ISSUER).
// The IdP here is a local HTTP server publishing a JWKS and the test signs tokens with its key,
// as the IdP would (a real Keycloak cannot run on this machine).
import t from 'tap'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { Registry } from 'prom-client'
import { openApiServices } from '../../api/api-services.ts'
import { apiSettings } from '../../api/api-settings.ts'
import { Readiness } from '../../api/health/readiness.ts'
import { buildServer } from '../../api/ops-server.ts'
import { publicApi } from '../../api/public-api.ts'
import { MemberQueries } from '../../api/query/member-queries.ts'
import { createLogger } from '../../lib/logger.ts'
import { REWARDS_TOPICS } from '../../processors/rewards/topics.ts'
import { DATABASE_URL, stubReader } from './api-test-server.ts'

const ISSUER = 'https://idp.example/realms/rewards'

t.test('tokens of an external IdP are verified against its JWKS; the built-in server is not needed', async t => {
  const idpKey = await generateKeyPair('ES256')
  const otherKey = await generateKeyPair('ES256')
  const jwk = { ...await exportJWK(idpKey.publicKey), kid: 'idp-1', alg: 'ES256', use: 'sig' }
  const idp = createServer((req, res) => {
    if (req.url === '/certs') { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ keys: [jwk] })) } else { res.statusCode = 404; res.end() }
  })
  idp.listen(0, '127.0.0.1')
  await once(idp, 'listening')
  t.teardown(() => { idp.close() })
  const jwksUrl = `http://127.0.0.1:${(idp.address() as { port: number }).port}/certs`

  const registry = new Registry()
  const logger = createLogger({ level: 'silent' })
  const server = buildServer({ readiness: new Readiness(), registry, logger })
  const settings = apiSettings({ issuer: () => ISSUER, jwksUrl, audience: 'rewards-api' })
  const services = await openApiServices({ config: { databaseUrl: DATABASE_URL, dataDir: '/tmp/unused', redisUrl: null }, settings, registry, logger })
  t.teardown(async () => { await server.close(); await services.close() })
  t.equal(services.tokenServer, undefined, 'no built-in token server with an external IdP')
  await server.register(publicApi, {
    settings, guard: services.guard, cache: services.cache,
    queries: new MemberQueries({ local: stubReader(), registry }),
    topics: REWARDS_TOPICS,
    producer: () => Promise.reject(new Error('no producer in this test'))
  })
  await server.ready()

  const token = (key: Parameters<SignJWT['sign']>[0], claims: { iss?: string, aud?: string, scope?: string }, kid = 'idp-1') =>
    new SignJWT({ scope: claims.scope ?? 'balances:read', client_id: 'partner-app' }).setProtectedHeader({ alg: 'ES256', kid }).setSubject('service-account-partner-app')
      .setIssuer(claims.iss ?? ISSUER).setAudience(claims.aud ?? 'rewards-api').setIssuedAt().setExpirationTime('5m').sign(key)
  const balance = async (bearer: string) => server.inject({ method: 'GET', url: '/v1/members/m-known/balance', headers: { authorization: `Bearer ${bearer}` } })

  const ok = await balance(await token(idpKey.privateKey, {}))
  t.equal(ok.statusCode, 200, 'a token of the IdP is accepted')
  t.equal(ok.json().available, 100)
  t.equal((await balance(await token(otherKey.privateKey, {}))).statusCode, 401, 'signed by another key: 401')
  t.equal((await balance(await token(idpKey.privateKey, { iss: 'https://evil.example' }))).statusCode, 401, 'another issuer: 401')
  t.equal((await balance(await token(idpKey.privateKey, { aud: 'other-api' }))).statusCode, 401, 'another audience: 401')
  t.equal((await balance(await token(idpKey.privateKey, { scope: 'events:write' }))).statusCode, 403, 'missing scope: 403')
  t.equal((await server.inject({ method: 'POST', url: '/oauth/token' })).statusCode, 404, 'the built-in token endpoint is not served')
})
