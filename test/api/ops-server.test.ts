// The ops server (api/ops-server.ts) with inject(): health, readiness through shutdown, metrics,
// topology, x-request-id on every response, and the one error shape with the status of every
// catalogue code (api/http-errors.ts), also for routes added later as plugins.
import type { FastifyPluginAsync } from 'fastify'
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
    t.same(response.json(), { error: { code, message: `thrown ${code}` } })
    t.equal(response.headers['retry-after'], response.statusCode === 503 && ERRORS[code].retriable ? '1' : undefined)
    t.ok(response.headers['x-request-id'])
  }
  t.equal(HTTP_STATUS_BY_CODE.STORE_NOT_READY, 503)
  const crash = await app.inject('/later/crash')
  t.equal(crash.statusCode, 500)
  t.same(crash.json(), { error: { code: 'INTERNAL', message: 'Internal server error' } }, 'internal details are not leaked')
  const notFound = await app.inject({ method: 'POST', url: '/later/none' })
  t.same(notFound.json(), { error: { code: 'NOT_FOUND', message: 'Route POST /later/none not found' } })
})

t.test('toHttpError maps plain 4xx errors by status', async t => {
  t.same(toHttpError(Object.assign(new Error('too big'), { statusCode: 413 })), { status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE', message: 'too big' } } })
  t.same(toHttpError('weird'), { status: 500, body: { error: { code: 'INTERNAL', message: 'Internal server error' } } })
})
