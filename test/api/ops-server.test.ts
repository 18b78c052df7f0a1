// The ops server (api/ops-server.ts) with inject(): health, readiness through shutdown, metrics,
// topology, x-request-id on every response, and the one error shape with the status of every
// catalogue code (api/http-errors.ts), also for routes added later as plugins.
import type { FastifyPluginAsync, InjectOptions } from 'fastify'
import { Registry } from 'prom-client'
import t from 'tap'
import { Liveness } from '../../api/health/liveness.ts'
import { Readiness } from '../../api/health/readiness.ts'
import { HTTP_STATUS_BY_CODE, toHttpError } from '../../api/http-errors.ts'
import { buildServer } from '../../api/ops-server.ts'
import { ERRORS, RewardsError, type ErrorCode } from '../../lib/errors.ts'
import { describeAsMermaid, describeAsText, describeTopology } from '../../topology/describe.ts'
import { buildRewardsTopology } from '../../processors/rewards/rewards-topology.ts'
import { defaultRuleSet } from '../../processors/rewards/rules-engine.ts'

function topologyView () {
  const description = describeTopology(buildRewardsTopology({ rules: defaultRuleSet() }))
  return { description, text: describeAsText(description), mermaid: describeAsMermaid(description) }
}

t.test('liveness, readiness checks, and readiness false once shutdown begins', async t => {
  const readiness = new Readiness()
  const app = buildServer({ readiness, registry: new Registry() })
  t.teardown(() => app.close())
  t.same((await app.inject('/health/live')).json(), { status: 'live' })

  let ready = false
  readiness.add('processor', () => (ready ? { ready: true, detail: 'RUNNING' } : { ready: false, detail: 'restoring task(s) 0_1' }))
  let response = await app.inject('/health/ready')
  t.equal(response.statusCode, 503)
  t.equal(response.headers['retry-after'], '1')
  t.match(response.json(), { error: { code: 'NOT_READY', message: 'not ready: processor: restoring task(s) 0_1' } })

  ready = true
  response = await app.inject('/health/ready')
  t.equal(response.statusCode, 200)
  t.same(response.json(), { status: 'ready', degraded: [], checks: { processor: { ready: true, detail: 'RUNNING' } } })

  readiness.markShuttingDown()
  response = await app.inject('/health/ready')
  t.equal(response.statusCode, 503, 'not ready as soon as shutdown begins, whatever the checks say')
  t.match(response.json(), { error: { code: 'NOT_READY', message: 'not ready: shutting down' } })
  t.equal((await app.inject('/health/live')).statusCode, 200, 'still live')
})

t.test('/health/live: 503 while a liveness check fails (the processor role: no stream thread)', async t => {
  const liveness = new Liveness()
  const app = buildServer({ readiness: new Readiness(), liveness, registry: new Registry() })
  t.teardown(() => app.close())
  t.equal((await app.inject('/health/live')).statusCode, 200, 'no checks: live')
  let threads = 1
  liveness.add('processor', () => threads > 0 ? { ready: true, detail: 'stream thread running' } : { ready: false, detail: 'no stream thread running' })
  t.same((await app.inject('/health/live')).json(), { status: 'live' })
  threads = 0
  const response = await app.inject('/health/live')
  t.equal(response.statusCode, 503)
  t.match(response.json(), { error: { code: 'NOT_LIVE', message: 'not live: processor: no stream thread running' } })
  liveness.add('x', () => { throw new Error('boom') })
  threads = 1
  t.match((await app.inject('/health/live')).json(), { error: { message: 'not live: x: check failed: boom' } }, 'a check that throws fails')
})

t.test('a check that throws fails readiness; no checks at all is not ready', async t => {
  const readiness = new Readiness()
  t.equal(readiness.report().ready, false)
  readiness.add('x', () => { throw new Error('boom') })
  t.same(readiness.report().checks.x, { ready: false, detail: 'check failed: boom' })
})

t.test('x-request-id: echoed when well-formed, generated otherwise, on every response', async t => {
  const app = buildServer({ readiness: new Readiness(), registry: new Registry() })
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/health/live', headers: { 'x-request-id': 'abc-123' } })).headers['x-request-id'], 'abc-123')
  const generated = (await app.inject('/health/ready')).headers['x-request-id']
  t.match(generated, /^[0-9a-f-]{36}$/, 'generated on a 503 too')
  const replaced = (await app.inject({ url: '/nope', headers: { 'x-request-id': 'bad id with spaces\u0001' } })).headers['x-request-id']
  t.match(replaced, /^[0-9a-f-]{36}$/, 'a malformed id is replaced, on a 404 too')
})

t.test('metrics: prom-client text of the registry, with HTTP latency by route and status', async t => {
  const registry = new Registry()
  const app = buildServer({ readiness: new Readiness(), registry })
  t.teardown(() => app.close())
  await app.inject('/health/live')
  const response = await app.inject('/metrics')
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /text\/plain/)
  t.match(response.body, /rewards_http_request_duration_seconds_count\{method="GET",route="\/health\/live",status_code="200"\} 1/)
  const noMetrics = buildServer({ readiness: new Readiness(), registry, serveMetrics: false })
  t.teardown(() => noMetrics.close())
  t.equal((await noMetrics.inject('/metrics')).statusCode, 404, 'not served when a separate listener serves it')
})

t.test('topology: JSON with text and Mermaid, or either as plain text', async t => {
  const view = topologyView()
  const app = buildServer({ readiness: new Readiness(), registry: new Registry(), topology: () => view })
  t.teardown(() => app.close())
  const json = await app.inject('/v1/topology')
  t.equal(json.statusCode, 200)
  t.same(json.json(), JSON.parse(JSON.stringify(view)))
  const mermaid = await app.inject('/v1/topology?format=mermaid')
  t.equal(mermaid.body, view.mermaid)
  t.match(mermaid.headers['content-type'], /text\/plain/)
  t.equal((await app.inject('/v1/topology?format=text')).body, view.text)
  const bad = await app.inject('/v1/topology?format=svg')
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { error: { code: 'VALIDATION_FAILED' } })
})

t.test('every catalogue code has a status; retriable 503s carry Retry-After; plugins inherit it', async t => {
  const app = buildServer({ readiness: new Readiness(), registry: new Registry() })
  t.teardown(() => app.close())
  const plugin: FastifyPluginAsync = async instance => {
    instance.get<{ Params: { code: string } }>('/throw/:code', async request => { throw new RewardsError(request.params.code as ErrorCode, `thrown ${request.params.code}`) })
    instance.get('/crash', async () => { throw new Error('secret internal detail') })
  }
  await app.register(plugin, { prefix: '/later' })
  for (const code of Object.keys(ERRORS) as ErrorCode[]) {
    const response = await app.inject(`/later/throw/${code}`)
    t.equal(response.statusCode, HTTP_STATUS_BY_CODE[code], `${code} → ${HTTP_STATUS_BY_CODE[code]}`)
    t.match(response.headers['content-type'], /^application\/problem\+json/)
    t.match(response.json(), { type: `urn:rewards:problem:${code.toLowerCase().replaceAll('_', '-')}`, status: HTTP_STATUS_BY_CODE[code], code, detail: `thrown ${code}`, instance: `/later/throw/${code}`, error: { code, message: `thrown ${code}` } })
    t.equal(response.headers['retry-after'], response.statusCode === 503 && ERRORS[code].retriable ? '1' : undefined)
    t.ok(response.headers['x-request-id'])
  }
  t.equal(HTTP_STATUS_BY_CODE.STORE_NOT_READY, 503)
  const crash = await app.inject('/later/crash')
  t.equal(crash.statusCode, 500)
  t.same(crash.json(), { type: 'urn:rewards:problem:internal', title: 'Internal server error', status: 500, detail: 'Internal server error', instance: '/later/crash', code: 'INTERNAL', error: { code: 'INTERNAL', message: 'Internal server error' } }, 'internal details are not leaked')
  const notFound = await app.inject({ method: 'POST', url: '/later/none' })
  t.match(notFound.json(), { status: 404, code: 'NOT_FOUND', error: { code: 'NOT_FOUND', message: 'Route POST /later/none not found' } })
})

t.test("Fastify's own errors, 404 and 405 are problems (application/problem+json)", async t => {
  const app = buildServer({ readiness: new Readiness(), registry: new Registry() })
  t.teardown(() => app.close())
  app.get('/things/:id', async () => ({ ok: true }))
  app.post('/things/:id', async request => request.body)
  const cases: Array<[string, InjectOptions, number, string]> = [
    ['a wrong method on a known path', { method: 'DELETE', url: '/things/1' }, 405, 'METHOD_NOT_ALLOWED'],
    ['an unknown path', { method: 'GET', url: '/nothing' }, 404, 'NOT_FOUND'],
    ['a path parameter over 256 characters (FST_ERR_MAX_PARAM_LENGTH)', { method: 'GET', url: `/things/${'a'.repeat(257)}` }, 414, 'URI_TOO_LONG'],
    ['a malformed URL (FST_ERR_BAD_URL)', { method: 'GET', url: '/things/%E0%A4%A' }, 400, 'BAD_REQUEST'],
    ['a text/plain body', { method: 'POST', url: '/things/1', headers: { 'content-type': 'text/plain' }, payload: '{"a":1}' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a form body on a JSON route', { method: 'POST', url: '/things/1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=1' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['unparsable JSON', { method: 'POST', url: '/things/1', headers: { 'content-type': 'application/json' }, payload: '{"a":' }, 400, 'INVALID_JSON'],
    ['a body over 4 MiB', { method: 'POST', url: '/things/1', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ a: 'x'.repeat(4 * 1024 * 1024) }) }, 413, 'PAYLOAD_TOO_LARGE']
  ]
  for (const [what, request, status, code] of cases) {
    const response = await app.inject(request)
    t.equal(response.statusCode, status, `${what}: ${status}`)
    t.match(response.headers['content-type'], /^application\/problem\+json/, `${what}: problem+json`)
    t.match(response.json(), { type: `urn:rewards:problem:${code.toLowerCase().replaceAll('_', '-')}`, title: String, status, detail: String, instance: String, code, error: { code } }, `${what}: ${code}`)
    t.ok(response.headers['x-request-id'], `${what}: x-request-id`)
  }
  const wrongMethod = await app.inject({ method: 'PUT', url: '/things/1' })
  t.equal(wrongMethod.headers.allow, 'GET, HEAD, POST', 'Allow lists the methods of the path')
})

t.test('validation problems list the invalid fields in `errors`', async t => {
  const app = buildServer({ readiness: new Readiness(), registry: new Registry() })
  t.teardown(() => app.close())
  app.get('/search', { schema: { querystring: { type: 'object', properties: { limit: { type: 'integer', maximum: 10 } } } } }, async () => ({ ok: true }))
  const response = await app.inject('/search?limit=11')
  t.equal(response.statusCode, 400)
  t.match(response.headers['content-type'], /^application\/problem\+json/)
  const problem = response.json()
  t.match(problem, { type: 'urn:rewards:problem:validation-failed', status: 400, code: 'VALIDATION_FAILED', instance: '/search' })
  t.match(problem.errors, [{ in: 'querystring', path: '/limit', code: 'type', message: String }], 'the field and what is wrong with it')
  t.same(problem.error.details, problem.errors, 'the deprecated member keeps its details')
})

t.test('toHttpError maps plain 4xx errors by status', async t => {
  t.same(toHttpError(Object.assign(new Error('too big'), { statusCode: 413 })), { status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE', message: 'too big' } } })
  t.same(toHttpError(Object.assign(new Error('long'), { statusCode: 414 })).body.error.code, 'URI_TOO_LONG')
  t.same(toHttpError('weird'), { status: 500, body: { error: { code: 'INTERNAL', message: 'Internal server error' } } })
})
