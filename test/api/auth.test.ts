// The OAuth2 client-credentials flow and bearer checks, with an independent client library
// (openid-client) through discovery, and every way a token can be wrong: each refused with the
// right status and WWW-Authenticate, one generic body, and neither tokens nor secrets in the logs.
import { createHmac, randomUUID } from 'node:crypto'
import * as oidc from 'openid-client'
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, base64url } from 'jose'
import t from 'tap'
import { DATABASE_URL, startTestApi, type TestApi } from './api-test-server.ts'

async function discover (api: TestApi, clientId: string, secret: string, method: 'basic' | 'post'): Promise<oidc.Configuration> {
  return await oidc.discovery(new URL(api.url), clientId, secret, method === 'basic' ? oidc.ClientSecretBasic(secret) : oidc.ClientSecretPost(secret), { execute: [oidc.allowInsecureRequests] })
}

async function balance (api: TestApi, token: string | undefined, memberId = 'm-known'): Promise<Response> {
  return await fetch(`${api.url}/v1/members/${memberId}/balance`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
}

t.test('client credentials through discovery, then every route check', async t => {
  const api = await startTestApi({ settings: { tokenRateLimit: { max: 5, windowMs: 60_000 } } })
  t.teardown(() => api.close())
  const { clients, keys } = api.services.tokenServer!
  const reader = await clients.create({ name: `auth-test-${randomUUID()}`, scopes: ['balances:read'] })
  const writer = await clients.create({ name: `auth-test-${randomUUID()}`, scopes: ['events:write'] })
  const secrets = [reader.clientSecret, writer.clientSecret]
  const tokens: string[] = []

  const discovery = await (await fetch(`${api.url}/.well-known/openid-configuration`)).json() as Record<string, unknown>
  t.equal(discovery.issuer, api.url)
  t.same(discovery.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post'])

  for (const method of ['basic', 'post'] as const) {
    const config = await discover(api, reader.client.clientId, reader.clientSecret, method)
    const grant = await oidc.clientCredentialsGrant(config, { scope: 'balances:read' })
    t.equal(grant.token_type.toLowerCase(), 'bearer', `${method}: bearer token`)
    t.equal(grant.scope, 'balances:read')
    t.ok(grant.expires_in! > 0 && grant.expires_in! <= 300, 'short expiry')
    tokens.push(grant.access_token)
    const response = await balance(api, grant.access_token)
    t.equal(response.status, 200, `${method}: the token opens the balance route`)
    t.ok(response.headers.get('x-request-id'))
    t.equal((await response.json() as { available: number }).available, 100)
  }
  const good = tokens[0]!
  const header = JSON.parse(Buffer.from(good.split('.')[0]!, 'base64url').toString()) as { alg: string, kid: string }
  t.equal(header.alg, 'ES256')
  const jwks = await (await fetch(`${api.url}/.well-known/jwks.json`)).json() as { keys: Array<{ kid: string }> }
  t.ok(jwks.keys.some(k => k.kid === header.kid), 'the kid is in the JWKS')
  t.equal(await (await balance(api, good, 'm-unknown')).status, 404, 'unknown member: 404')

  const { kid, key } = await keys.current()
  const sign = (claims: Record<string, unknown>, set: (j: SignJWT) => SignJWT): Promise<string> =>
    set(new SignJWT({ scope: 'balances:read', client_id: reader.client.clientId, ...claims }).setProtectedHeader({ alg: 'ES256', kid }).setSubject(reader.client.clientId).setIssuedAt()).sign(key)
  const now = Math.floor(Date.now() / 1000)
  const pub = jwks.keys.find(k => k.kid === kid)!
  const stranger = await generateKeyPair('ES256')
  // `good` was verified above: its altered copies must not pass for it (the guard's verified
  // tokens are found by exact text).
  const alter = (token: string, part: number): string => {
    const parts = token.split('.')
    const text = parts[part]!
    const at = text.length >> 1
    parts[part] = text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1)
    return parts.join('.')
  }
  const cases: Array<[string, string | undefined, number]> = [
    ['no token', undefined, 401],
    ['garbage', 'not-a-jwt', 401],
    ['expired', await sign({}, j => j.setIssuer(api.url).setAudience('rewards-api').setIssuedAt(now - 600).setExpirationTime(now - 300)), 401],
    ['wrong audience', await sign({}, j => j.setIssuer(api.url).setAudience('another-api').setExpirationTime('5m')), 401],
    ['wrong issuer', await sign({}, j => j.setIssuer('http://evil.example').setAudience('rewards-api').setExpirationTime('5m')), 401],
    ['alg none', new UnsecuredJWT({ scope: 'balances:read', client_id: reader.client.clientId }).setIssuer(api.url).setAudience('rewards-api').setIssuedAt().setExpirationTime('5m').encode(), 401],
    ['HS256 with the public key as secret', (() => {
      const h = base64url.encode(JSON.stringify({ alg: 'HS256', kid, typ: 'JWT' }))
      const p = base64url.encode(JSON.stringify({ iss: api.url, aud: 'rewards-api', scope: 'balances:read', client_id: reader.client.clientId, sub: reader.client.clientId, iat: now, exp: now + 300 }))
      const sig = createHmac('sha256', JSON.stringify(pub)).update(`${h}.${p}`).digest('base64url')
      return `${h}.${p}.${sig}`
    })(), 401],
    ['unknown kid', await new SignJWT({ scope: 'balances:read', client_id: reader.client.clientId }).setProtectedHeader({ alg: 'ES256', kid: 'unknown-kid' }).setIssuer(api.url).setAudience('rewards-api').setIssuedAt().setExpirationTime('5m').sign(stranger.privateKey), 401],
    ['known kid, other key', await new SignJWT({ scope: 'balances:read', client_id: reader.client.clientId }).setProtectedHeader({ alg: 'ES256', kid }).setIssuer(api.url).setAudience('rewards-api').setIssuedAt().setExpirationTime('5m').sign(stranger.privateKey), 401],
    ['a verified token, signature altered', alter(good, 2), 401],
    ['a verified token, payload altered', alter(good, 1), 401],
    ['a verified token, one character more', `${good}A`, 401],
    ['a verified token after another', `${good}.${good}`, 401]
  ]
  for (const [name, token, status] of cases) {
    if (token !== undefined) tokens.push(token)
    const response = await balance(api, token)
    t.equal(response.status, status, `${name}: ${status}`)
    const challenge = response.headers.get('www-authenticate') ?? ''
    t.match(challenge, /^Bearer realm="rewards"/, `${name}: WWW-Authenticate`)
    if (token !== undefined) t.match(challenge, /error="invalid_token"/)
    t.match(response.headers.get('content-type'), /^application\/problem\+json/, `${name}: a problem`)
    const body = await response.json() as { instance: string }
    t.same(body, {
      type: 'urn:rewards:problem:unauthorized',
      title: 'Missing, invalid or expired access token',
      status: 401,
      detail: 'Missing, invalid or expired access token',
      instance: body.instance,
      code: 'UNAUTHORIZED',
      error: { code: 'UNAUTHORIZED', message: 'Missing, invalid or expired access token' }
    }, `${name}: one generic body`)
  }

  // `iat` in the future: refused beyond the 5 s clock tolerance (exp and nbf have the same), on
  // the balance fast lane and on a route (activity) alike; within it, accepted.
  const issuedIn = (seconds: number): Promise<string> => sign({}, j => j.setIssuer(api.url).setAudience('rewards-api').setIssuedAt(now + seconds).setExpirationTime(now + 300))
  for (const [path, what] of [['balance', 'fast lane'], ['activity', 'route']] as const) {
    const ahead = await issuedIn(60)
    tokens.push(ahead)
    const response = await fetch(`${api.url}/v1/members/m-known/${path}`, { headers: { authorization: `Bearer ${ahead}` } })
    t.equal(response.status, 401, `iat 60 s ahead, ${what}: 401`)
    t.equal(response.headers.get('www-authenticate'), 'Bearer realm="rewards", error="invalid_token"', `iat 60 s ahead, ${what}: invalid_token`)
    const near = await issuedIn(2)
    tokens.push(near)
    const accepted = await fetch(`${api.url}/v1/members/m-known/${path}`, { headers: { authorization: `Bearer ${near}` } })
    t.not(accepted.status, 401, `iat 2 s ahead (within the tolerance), ${what}: accepted (${accepted.status})`)
  }

  // No bearer credentials (another scheme): RFC 6750 §3.1, a challenge without an error code, on
  // the fast lane and on a route alike; a Bearer header with a malformed token: invalid_token;
  // the scheme in another case: the token is checked as usual.
  const schemes: Array<[string, string, number, string]> = [
    ['Basic', `Basic ${Buffer.from(`${reader.client.clientId}:${reader.clientSecret}`).toString('base64')}`, 401, 'Bearer realm="rewards"'],
    ['another scheme with the token', `Token ${good}`, 401, 'Bearer realm="rewards"'],
    ['Bearer without a token', 'Bearer', 401, 'Bearer realm="rewards", error="invalid_token"'],
    ['Bearer with a malformed token', 'Bearer a b', 401, 'Bearer realm="rewards", error="invalid_token"'],
    ['lower-case scheme, the token', `bearer ${good}`, 200, ''],
    ['upper-case scheme, a bad token', 'BEARER not-a-jwt', 401, 'Bearer realm="rewards", error="invalid_token"']
  ]
  for (const [path, what] of [['balance', 'fast lane'], ['activity', 'route']] as const) {
    for (const [name, authorization, status, challenge] of schemes) {
      const response = await fetch(`${api.url}/v1/members/m-known/${path}`, { headers: { authorization } })
      t.equal(response.status, status, `${name}, ${what}: ${status}`)
      if (status === 401) t.equal(response.headers.get('www-authenticate'), challenge, `${name}, ${what}: ${challenge}`)
    }
  }

  // The same verified token after more than one space (RFC 6750 allows it): still accepted.
  t.equal((await fetch(`${api.url}/v1/members/m-known/balance`, { headers: { authorization: `Bearer   ${good}` } })).status, 200, 'Bearer and spaces: 200')

  // Missing scope: 403 insufficient_scope.
  const writerConfig = await discover(api, writer.client.clientId, writer.clientSecret, 'basic')
  const writerToken = (await oidc.clientCredentialsGrant(writerConfig)).access_token
  tokens.push(writerToken)
  const forbidden = await balance(api, writerToken)
  t.equal(forbidden.status, 403, 'missing scope: 403')
  t.match(forbidden.headers.get('www-authenticate'), /error="insufficient_scope", scope="balances:read"/)
  t.equal((await forbidden.json() as { error: { code: string } }).error.code, 'FORBIDDEN')
  // A client may not ask for a scope it was not given.
  await t.rejects(oidc.clientCredentialsGrant(writerConfig, { scope: 'balances:read' }), { error: 'invalid_scope' } as unknown as Error)

  // Wrong secret: 401 invalid_client (RFC 6749 §5.2), the same for an unknown client.
  for (const [id, secret] of [[reader.client.clientId, 'wrong-secret'], ['cl_unknown', 'whatever']]) {
    const response = await fetch(`${api.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` },
      body: 'grant_type=client_credentials'
    })
    t.equal(response.status, 401, `${id === 'cl_unknown' ? 'unknown client' : 'wrong secret'}: 401`)
    t.match(response.headers.get('www-authenticate'), /^Basic/)
    t.same(await response.json(), { error: 'invalid_client', error_description: 'client authentication failed' })
  }
  const unsupported = await fetch(`${api.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=password&client_id=${reader.client.clientId}&client_secret=${reader.clientSecret}` })
  t.equal(unsupported.status, 400)
  t.equal((await unsupported.json() as { error: string }).error, 'unsupported_grant_type')

  // Revoked client: no new token, and its live token is refused once the revocation is seen (≤ 5 s).
  const revokedAt = Date.now()
  t.ok(await clients.revoke(reader.client.clientId))
  await t.rejects(oidc.clientCredentialsGrant(await discover(api, reader.client.clientId, reader.clientSecret, 'post')), { error: 'invalid_client' } as unknown as Error, 'revoked client: invalid_client')
  // Asked every 100 ms up to the 5 s bound (and 500 ms of slack), not once after it.
  let refused = (await balance(api, good)).status
  while (refused !== 401 && Date.now() - revokedAt < 5_500) {
    await new Promise(resolve => setTimeout(resolve, 100))
    refused = (await balance(api, good)).status
  }
  t.equal(refused, 401, `revoked client: its tokens are refused (after ${Date.now() - revokedAt} ms)`)

  // Rate limit per client on the token endpoint (5 per minute in this test).
  const statuses: number[] = []
  for (let i = 0; i < 7; i++) {
    statuses.push((await fetch(`${api.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=client_credentials&client_id=${writer.client.clientId}&client_secret=${writer.clientSecret}` })).status)
  }
  t.ok(statuses.includes(429), `the token endpoint rate-limits a client (${statuses.join(',')})`)

  // Nothing secret in the logs.
  const logs = api.logLines.join('')
  for (const secret of [...secrets, ...tokens]) t.notOk(logs.includes(secret), 'no secret or token in the logs')
  t.ok(logs.includes('token request refused'), 'refusals are logged (without secrets)')
})

t.test('key rotation: the old key stays in the JWKS and its tokens stay valid until they expire', async t => {
  const api = await startTestApi()
  t.teardown(() => api.close())
  const { clients, keys } = api.services.tokenServer!
  const client = await clients.create({ name: `rotation-${randomUUID()}`, scopes: ['balances:read'] })
  const config = await discover(api, client.client.clientId, client.clientSecret, 'basic')
  const before = (await oidc.clientCredentialsGrant(config)).access_token
  const oldKid = (await keys.current()).kid
  const newKid = await keys.rotate()
  t.not(newKid, oldKid)
  const after = (await oidc.clientCredentialsGrant(config)).access_token
  t.equal(JSON.parse(Buffer.from(after.split('.')[0]!, 'base64url').toString()).kid, newKid, 'new tokens are signed with the new key')
  const jwks = await (await fetch(`${api.url}/.well-known/jwks.json`)).json() as { keys: Array<{ kid: string }> }
  t.ok(jwks.keys.some(k => k.kid === oldKid) && jwks.keys.some(k => k.kid === newKid), 'both keys published')
  t.equal((await balance(api, before)).status, 200, 'a token of the old key still works')
  t.equal((await balance(api, after)).status, 200)
  t.ok(DATABASE_URL)
  void exportJWK
})
