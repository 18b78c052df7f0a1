// `rewards start` with OTEL_EXPORTER_OTLP_ENDPOINT loads the SDK and exports spans over OTLP/HTTP
// to a real local receiver (a plain HTTP server standing in for the collector): a request's
// server span arrives at /v1/traces, with the configured service name, at the latest when the
// process stops (the shutdown flushes the batch processor).
import { createServer } from 'node:http'
import t from 'tap'
import { cleanEnv, RunningCli, waitForStatus } from '../../cli/cli-helpers.ts'

t.test('spans reach an OTLP/HTTP receiver', async t => {
  const received: Array<{ url: string, contentType: string, body: Buffer }> = []
  let gotSpans: () => void = () => {}
  const spansArrived = new Promise<void>(resolve => { gotSpans = resolve })
  const receiver = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', chunk => chunks.push(chunk as Buffer))
    request.on('end', () => {
      const body = Buffer.concat(chunks)
      received.push({ url: request.url ?? '', contentType: String(request.headers['content-type']), body })
      if (body.includes('GET /v1/topology')) gotSpans()
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>(resolve => receiver.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => receiver.close(() => resolve())))
  const { port } = receiver.address() as { port: number }

  const dataDir = t.testdir({})
  const cli = new RunningCli(['start', '--role', 'processor'], {
    cwd: dataDir,
    env: cleanEnv({ REWARDS_DATA_DIR: dataDir, REWARDS_HTTP_PORT: '0', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_SERVICE_NAME: 'rewards-otlp-test' })
  })
  t.teardown(() => cli.kill())
  const base = `http://127.0.0.1:${await cli.httpPort(120_000)}`
  t.ok(cli.lines.some(l => l.msg === 'tracing on (otlp; sampler parentbased_always_on)'), 'start says tracing is on')
  await waitForStatus(`${base}/v1/topology`, 200, 60_000)
  cli.child.kill('SIGTERM')
  t.same(await cli.waitForExit(60_000), { code: 0, signal: null }, 'graceful stop')
  await Promise.race([spansArrived, new Promise((_, reject) => setTimeout(() => reject(new Error(`no span of GET /v1/topology received: ${received.map(r => r.url).join(', ')}`)), 10_000))])
  const traces = received.filter(r => r.body.includes('GET /v1/topology'))
  t.equal(traces[0]?.url, '/v1/traces', 'posted to the OTLP traces path')
  t.equal(traces[0]?.contentType, 'application/json', 'OTLP/HTTP JSON (what @opentelemetry/exporter-trace-otlp-http sends)')
  interface Export { resourceSpans: Array<{ resource: { attributes: Array<{ key: string, value: { stringValue?: string } }> }, scopeSpans: Array<{ scope: { name: string }, spans: Array<{ name: string, kind: number }> }> }> }
  const exported = JSON.parse(traces[0]!.body.toString('utf8')) as Export
  const resource = exported.resourceSpans[0]!
  t.equal(resource.resource.attributes.find(a => a.key === 'service.name')?.value.stringValue, 'rewards-otlp-test', 'with the configured service name')
  const span = resource.scopeSpans.flatMap(s => s.spans.map(span => ({ ...span, scope: s.scope.name }))).find(s => s.name === 'GET /v1/topology')
  t.match(span, { kind: 2, scope: 'rewards-streams' }, 'the request\'s SERVER span, from the platform\'s tracer')
})
