// The SERVER span of each HTTP request (lib/tracing/http-tracing.ts) ends when its response
// closes: with the status once the answer was sent (ERROR for a 5xx), ERROR "request aborted by the
// client" when the client went away first. Under an in-memory exporter, on the platform's server.
import { request } from 'node:http'
import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { Registry } from 'prom-client'
import t from 'tap'
import { Readiness } from '../../../api/health/readiness.ts'
import { buildServer } from '../../../api/ops-server.ts'
import { registerTracing } from '../../../lib/tracing/tracing-sdk.ts'

t.test('server spans end with the status, or as aborted', async t => {
  const exporter = new InMemorySpanExporter()
  const tracing = await registerTracing(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }))
  t.teardown(() => tracing.shutdown())
  const server = buildServer({ readiness: new Readiness(), registry: new Registry() })
  let reached: () => void = () => {}
  const hanging = new Promise<void>(resolve => { reached = resolve })
  server.get('/ok/:id', async () => ({ ok: true }))
  server.get('/boom', async () => { throw new Error('boom') })
  server.get('/hang', (_request, reply) => { reached(); return reply }) // never answers
  await server.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => server.close())
  const base = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`

  t.equal((await fetch(`${base}/ok/1`)).status, 200)
  t.equal((await fetch(`${base}/boom`)).status, 500)
  const aborted = request(`${base}/hang`)
  aborted.on('error', () => {})
  aborted.end()
  await hanging
  aborted.destroy()

  const spanOf = async (name: string): Promise<ReturnType<InMemorySpanExporter['getFinishedSpans']>[number]> => {
    for (let i = 0; i < 200; i++) {
      const span = exporter.getFinishedSpans().find(s => s.name === name)
      if (span !== undefined) return span
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    throw new Error(`no finished span ${name}`)
  }
  const ok = await spanOf('GET /ok/:id')
  t.equal(ok.kind, SpanKind.SERVER)
  t.match(ok.attributes, { 'http.request.method': 'GET', 'http.route': '/ok/:id', 'url.path': '/ok/1', 'http.response.status_code': 200 })
  t.equal(ok.status.code, SpanStatusCode.UNSET)
  const boom = await spanOf('GET /boom')
  t.equal(boom.attributes['http.response.status_code'], 500)
  t.equal(boom.status.code, SpanStatusCode.ERROR, '5xx: ERROR')
  const hang = await spanOf('GET /hang')
  t.equal(hang.attributes['http.response.status_code'], undefined, 'no status: nothing was answered')
  t.same(hang.status, { code: SpanStatusCode.ERROR, message: 'request aborted by the client' })
})
