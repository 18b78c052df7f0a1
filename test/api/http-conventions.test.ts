// HTTP conventions of the public API on a live server (api-test-server: ops server + public API +
// token server, real PostgreSQL client store): conditional GET with a strong ETag
// (api/routes/conditional-get.ts), CORS off by default and on for the configured origins
// (preflight included), 406 for clients that accept no JSON, and the /docs page served offline
// from node_modules.
import { createHash, randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import type { ApiSettings } from '../../api/api-settings.ts'
import { startTestApi, type TestApi } from './api-test-server.ts'

async function withToken (t: Test, settings: Partial<Omit<ApiSettings, 'issuer'>> = {}): Promise<{ api: TestApi, get: (path: string, headers?: Record<string, string>, method?: string) => Promise<Response> }> {
  const api = await startTestApi({ settings })
  t.teardown(() => api.close())
  const { client, clientSecret } = await api.services.tokenServer!.clients.create({ name: `conventions-${randomUUID()}`, scopes: ['balances:read'] })
  const tokenAnswer = await fetch(`${api.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: clientSecret }) })
  const { access_token: token } = await tokenAnswer.json() as { access_token: string }
  return { api, get: (path, headers = {}, method = 'GET') => fetch(`${api.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...headers } }) }
}

t.test('balance and activity: strong ETag, 304 on If-None-Match, private, no-cache', async t => {
  const { get } = await withToken(t)
  for (const path of ['/v1/members/m-known/balance', '/v1/members/m-known/activity']) {
    const first = await get(path)
    const body = await first.text()
    const etag = first.headers.get('etag')!
    t.equal(first.status, 200)
    t.equal(etag, `"${createHash('sha256').update(body).digest('base64url')}"`, `${path}: a strong ETag over the exact body`)
    t.equal(first.headers.get('cache-control'), 'private, no-cache', `${path}: cacheable by the client only, revalidated on each use`)
    t.equal((await get(path)).headers.get('etag'), etag, `${path}: the same body, the same ETag`)
    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const again = await get(path, { 'if-none-match': ifNoneMatch })
      t.equal(again.status, 304, `${path}: If-None-Match ${ifNoneMatch} → 304`)
      t.equal(await again.text(), '', 'without a body')
      t.equal(again.headers.get('etag'), etag, 'with the ETag')
    }
    t.equal((await get(path, { 'if-none-match': '"stale"' })).status, 200, `${path}: another ETag → 200 with the body`)
  }
})

t.test('CORS is off by default', async t => {
  const { get } = await withToken(t)
  const preflight = await get('/v1/members/m-known/balance', { origin: 'https://app.example.com', 'access-control-request-method': 'GET' }, 'OPTIONS')
  t.equal(preflight.status, 405, 'no preflight route: OPTIONS is not a method of the path')
  t.equal(preflight.headers.get('access-control-allow-origin'), null)
  const read = await get('/v1/members/m-known/balance', { origin: 'https://app.example.com' })
  t.equal(read.status, 200)
  t.equal(read.headers.get('access-control-allow-origin'), null, 'no CORS header: a browser may not read the answer')
})

t.test('CORS on for the configured origins, preflight included', async t => {
  const { get } = await withToken(t, { corsOrigins: ['https://app.example.com'] })
  const preflight = await get('/v1/members/m-known/balance', { origin: 'https://app.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization, if-none-match' }, 'OPTIONS')
  t.equal(preflight.status, 204)
  t.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example.com')
  t.match(preflight.headers.get('access-control-allow-methods'), /GET/)
  t.match(preflight.headers.get('access-control-allow-headers'), /authorization/)
  t.equal(preflight.headers.get('access-control-max-age'), '600')
  const read = await get('/v1/members/m-known/balance', { origin: 'https://app.example.com' })
  t.equal(read.headers.get('access-control-allow-origin'), 'https://app.example.com')
  t.match(read.headers.get('access-control-expose-headers'), /etag/, 'ETag readable by the page')
  t.match(read.headers.get('vary'), /Origin/)
  const other = await get('/v1/members/m-known/balance', { origin: 'https://evil.example.com', 'access-control-request-method': 'GET' }, 'OPTIONS')
  t.equal(other.headers.get('access-control-allow-origin'), null, 'another origin is not allowed')
})

t.test('CORS for any origin with *', async t => {
  const { get } = await withToken(t, { corsOrigins: '*' })
  const read = await get('/v1/members/m-known/balance', { origin: 'https://anywhere.example' })
  t.equal(read.headers.get('access-control-allow-origin'), '*')
})

t.test('406 when Accept admits no JSON; JSON, problem+json and wildcards pass', async t => {
  const { get } = await withToken(t)
  for (const accept of ['text/html', 'application/xml, text/plain', 'application/json;q=0']) {
    const refused = await get('/v1/members/m-known/balance', { accept })
    t.equal(refused.status, 406, `Accept: ${accept} → 406`)
    t.match(refused.headers.get('content-type'), /^application\/problem\+json/)
    t.match(await refused.json(), { status: 406, code: 'NOT_ACCEPTABLE' })
  }
  for (const accept of ['application/json', 'application/problem+json', '*/*', 'application/*', 'text/html, application/json;q=0.1']) {
    t.equal((await get('/v1/members/m-known/balance', { accept })).status, 200, `Accept: ${accept} → 200`)
  }
})

t.test('/docs renders the OpenAPI document with assets from node_modules', async t => {
  const { api } = await withToken(t)
  const page = await fetch(`${api.url}/docs/`)
  t.equal(page.status, 200)
  t.match(page.headers.get('content-type'), /text\/html/)
  const html = await page.text()
  t.notMatch(html, /https?:\/\//, 'no external URL in the page (works offline)')
  for (const asset of html.matchAll(/(?:src|href)="\.\/(static\/[^"]+)"/g)) {
    const response = await fetch(`${api.url}/docs/${asset[1]}`)
    t.equal(response.status, 200, `${asset[1]} served`)
    // (Read to the end: an unread body keeps its connection busy and server.close() waiting.)
    t.ok((await response.arrayBuffer()).byteLength > 0, `${asset[1]} is not empty`)
  }
  const initializer = await (await fetch(`${api.url}/docs/static/swagger-initializer.js`)).text()
  t.match(initializer, /resolveUrl\('\.\/json'\)/, 'the page loads the document from /docs/json')
  t.same(await (await fetch(`${api.url}/docs/json`)).json(), await (await fetch(`${api.url}/openapi.json`)).json(), '/docs/json is our document')
  const yaml = await fetch(`${api.url}/docs/yaml`)
  t.equal(yaml.status, 404, 'no YAML rendering of it')
  await yaml.arrayBuffer()
})
