// The root server's request validator (api/strict-validation.ts) on a route of its own, through
// inject: it never coerces, strips or fills in; it reports every issue with where and what; shared
// schemas are resolved by $id; a body marked checkedByRoute is left to the route.
import type { FastifyPluginAsync } from 'fastify'
import { Registry } from 'prom-client'
import t from 'tap'
import { Readiness } from '../../api/health/readiness.ts'
import { buildServer } from '../../api/ops-server.ts'
import { checkedByRoute } from '../../api/strict-validation.ts'

const routes: FastifyPluginAsync = async app => {
  app.addSchema({ $id: 'Item', type: 'object', required: ['n'], properties: { n: { type: 'integer' }, label: { type: 'string', default: 'none' } }, additionalProperties: false })
  app.post('/items/:id', {
    schema: {
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[a-z]+$' } } },
      querystring: { type: 'object', properties: { limit: { type: 'string', pattern: '^[1-9][0-9]?$' } }, additionalProperties: false },
      headers: { type: 'object', properties: { 'x-tag': { type: 'string' } } },
      body: { $ref: 'Item#' }
    }
  }, async request => ({ body: request.body, query: { ...request.query as object }, text: JSON.stringify(request.body) }))
  app.post('/free', { schema: { body: checkedByRoute({ $ref: 'Item#' }, 'the handler') } }, async request => ({ body: request.body }))
}

t.test('the root validator never mutates and says where every problem is', async t => {
  const app = buildServer({ readiness: new Readiness(), registry: new Registry() })
  await app.register(routes)
  t.teardown(() => app.close())
  const post = (url: string, payload: unknown, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url, payload: payload as object, headers: { 'content-type': 'application/json', ...headers } })

  const ok = await post('/items/abc?limit=5', { n: 1 })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { body: { n: 1 }, query: { limit: '5' }, text: '{"n":1}' }, 'no default injected (label), the query value stays text')
  t.equal((await post('/items/abc', { label: 'x', n: 2 })).json().text, '{"label":"x","n":2}', 'the body reaches the handler as sent, key order kept')

  for (const n of ['1', true, null, [1], 1.5]) {
    const bad = await post('/items/abc', { n })
    t.equal(bad.statusCode, 400, `n = ${JSON.stringify(n)} is not coerced`)
    t.match(bad.json(), { error: { code: 'VALIDATION_FAILED', details: [{ in: 'body', path: '/n' }] } })
  }
  const all = await post('/items/ABC?limit=0&sort=x', { n: 'x', extra: 1, other: 2 })
  t.equal(all.statusCode, 400)
  const details = all.json().error.details as Array<{ in: string, path: string, code: string }>
  // Fastify validates one part at a time (params, body, querystring, headers) and stops at the
  // first part with problems; within it every problem is listed.
  t.same(details.map(d => [d.in, d.path, d.code]), [['params', '/id', 'pattern']], 'the params first')
  const body = await post('/items/abc', { n: 'x', extra: 1, other: 2 })
  t.same((body.json().error.details as Array<{ path: string, code: string }>).map(d => [d.path, d.code]).sort(), [['/extra', 'unknown'], ['/n', 'type'], ['/other', 'unknown']], 'every problem of the body')
  t.match(body.json().error.message, /unknown field extra/)
  const query = await post('/items/abc?limit=0&sort=x', { n: 1 })
  t.same((query.json().error.details as Array<{ path: string, code: string }>).map(d => [d.path, d.code]).sort(), [['/limit', 'pattern'], ['/sort', 'unknown']], 'every problem of the query')
  t.match(query.json().error.message, /unknown query parameter sort/)
  t.match((await post('/items/abc', {})).json(), { error: { details: [{ path: '/n', code: 'required' }] } }, 'a missing field at its path')

  const unsafe = await post('/items/abc', { n: 1, label: 'a\u0000' })
  t.match(unsafe.json(), { error: { code: 'VALIDATION_FAILED', details: [{ in: 'body', path: '/label', code: 'unsafe-text' }] } }, 'NUL refused in a body')
  t.match((await post('/items/abc?limit=%1B', { n: 1 })).json(), { error: { details: [{ in: 'querystring', path: '/limit', code: 'pattern' }, { in: 'querystring', path: '/limit', code: 'unsafe-text' }] } }, 'ESC refused in a query')
  t.equal((await post('/items/abc', { n: 1 }, { 'x-tag': 'ok' })).statusCode, 200, 'headers are validated by their schema only')

  const free = await post('/free', { n: 'not checked here', anything: true })
  t.equal(free.statusCode, 200, 'a body marked checkedByRoute is left to the route')
  t.same(free.json().body, { n: 'not checked here', anything: true })
})
