// Token-endpoint throttling that a wrong secret cannot turn against the real client
// (api/auth/token-throttle.ts, docs/api.md "Authentication"): failures are counted per (client id,
// source address) and per address; the real client keeps getting tokens from another address,
// from the same address once the window ends, and its own successes are never counted as
// failures. Real token route, real PostgreSQL client store; requests come from distinct loopback
// addresses (127.0.0.2, 127.0.0.3) through the socket's local address. Each API counts in process
// (no Redis). The counting runs in a 60 s window, so a loaded machine cannot let the first
// failures expire; the expiry has a subtest of its own with a short window and a budget of one.
import { randomUUID } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import t from 'tap'
import { startTestApi } from './api-test-server.ts'

const WINDOW_MS = 60_000
/** The window of the expiry subtest: one request must follow a failure within it. */
const SHORT_WINDOW_MS = 3_000

function tokenRequest (url: string, from: string, clientId: string, secret: string): Promise<{ status: number, retryAfter: string | undefined, body: { error?: string, access_token?: string } }> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }).toString()
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/oauth/token`, { method: 'POST', localAddress: from, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, res => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', chunk => { text += chunk })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body: JSON.parse(text) }) })
    })
    req.on('error', reject)
    req.end(body)
  })
}

t.test('wrong secrets throttle that address, never the real client elsewhere', async t => {
  const api = await startTestApi({ settings: { tokenFailureLimit: { perClientAddress: 3, perAddress: 5, windowMs: WINDOW_MS }, tokenRateLimit: { max: 1000, windowMs: 60_000 } } })
  t.teardown(() => api.close())
  const { clients } = api.services.tokenServer!
  const victim = await clients.create({ name: `throttle-victim-${randomUUID()}`, scopes: ['balances:read'] })
  const other = await clients.create({ name: `throttle-other-${randomUUID()}`, scopes: ['balances:read'] })
  const attacker = '127.0.0.2'
  const elsewhere = '127.0.0.3'

  for (let i = 0; i < 3; i++) t.equal((await tokenRequest(api.url, attacker, victim.client.clientId, 'wrong-secret')).status, 401, `wrong secret ${i + 1}: 401`)
  const locked = await tokenRequest(api.url, attacker, victim.client.clientId, victim.clientSecret)
  t.equal(locked.status, 429, 'from the attacking address, even the right secret waits: its budget for this client is spent')
  t.same(locked.body, { error: 'rate_limited', error_description: 'too many failed client authentications from this address; retry later' }, 'an RFC 6749 error body')
  t.ok(Number(locked.retryAfter) >= 1 && Number(locked.retryAfter) <= WINDOW_MS / 1000, `Retry-After ${locked.retryAfter} s, within the window`)

  const real = await tokenRequest(api.url, elsewhere, victim.client.clientId, victim.clientSecret)
  t.equal(real.status, 200, 'the real client, from its own address, still gets tokens')
  t.ok(real.body.access_token)
  t.equal((await tokenRequest(api.url, attacker, other.client.clientId, other.clientSecret)).status, 200, 'another client from the attacking address is not locked by these failures')

  // Unknown clients from the same address spend its address-wide budget (5).
  t.equal((await tokenRequest(api.url, attacker, 'cl_unknown_1', 'x')).status, 401)
  t.equal((await tokenRequest(api.url, attacker, 'cl_unknown_2', 'x')).status, 401)
  t.equal((await tokenRequest(api.url, attacker, other.client.clientId, other.clientSecret)).status, 429, 'past 5 failures the address is throttled for every client')
  t.equal((await tokenRequest(api.url, elsewhere, other.client.clientId, other.clientSecret)).status, 200, 'but not elsewhere')

  // Successes are not failures: many tokens in a row from one address.
  const statuses: number[] = []
  for (let i = 0; i < 8; i++) statuses.push((await tokenRequest(api.url, elsewhere, victim.client.clientId, victim.clientSecret)).status)
  t.same(statuses, Array(8).fill(200), 'successful requests never spend the failure budget')
})

t.test('the lock is bounded: after one window the real client gets tokens from that address too', async t => {
  const api = await startTestApi({ settings: { tokenFailureLimit: { perClientAddress: 1, perAddress: 100, windowMs: SHORT_WINDOW_MS }, tokenRateLimit: { max: 1000, windowMs: 60_000 } } })
  t.teardown(() => api.close())
  const victim = await api.services.tokenServer!.clients.create({ name: `throttle-bounded-${randomUUID()}`, scopes: ['balances:read'] })
  t.equal((await tokenRequest(api.url, '127.0.0.2', victim.client.clientId, 'wrong-secret')).status, 401, 'a wrong secret')
  t.equal((await tokenRequest(api.url, '127.0.0.2', victim.client.clientId, victim.clientSecret)).status, 429, 'then that address waits')
  await new Promise(resolve => setTimeout(resolve, SHORT_WINDOW_MS + 100))
  t.equal((await tokenRequest(api.url, '127.0.0.2', victim.client.clientId, victim.clientSecret)).status, 200, 'after one window, from the same address too')
})

t.test('the issuance limit counts only successful requests of the client', async t => {
  const api = await startTestApi({ settings: { tokenRateLimit: { max: 3, windowMs: 60_000 } } })
  t.teardown(() => api.close())
  const { clients } = api.services.tokenServer!
  const client = await clients.create({ name: `throttle-issued-${randomUUID()}`, scopes: ['balances:read'] })
  for (let i = 0; i < 3; i++) t.equal((await tokenRequest(api.url, '127.0.0.3', client.client.clientId, 'wrong')).status, 401, 'a failure')
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) statuses.push((await tokenRequest(api.url, '127.0.0.3', client.client.clientId, client.clientSecret)).status)
  t.same(statuses, [200, 200, 200, 429], 'failures did not spend the client\'s issuance budget; the 4th token in the window is refused')
})
