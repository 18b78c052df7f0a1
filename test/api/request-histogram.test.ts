// RequestHistogram (api/request-histogram.ts) exports exactly what prom-client's Histogram exports
// for the same name, labels, buckets and observations: the /metrics text and the JSON.
import t from 'tap'
import { Histogram, Registry } from 'prom-client'
import { RequestHistogram } from '../../api/request-histogram.ts'

const NAME = 'rewards_http_request_duration_seconds'
const HELP = 'HTTP request latency by method, route template and status code'
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

function pair (): { ours: Registry, theirs: Registry, observe: (method: string, route: string, status: number, seconds: number) => void, fast: RequestHistogram, reference: Histogram } {
  const ours = new Registry()
  const theirs = new Registry()
  const fast = new RequestHistogram({ name: NAME, help: HELP, buckets: BUCKETS, registers: [ours] })
  const reference = new Histogram({ name: NAME, help: HELP, labelNames: ['method', 'route', 'status_code'], buckets: BUCKETS, registers: [theirs] })
  return {
    ours,
    theirs,
    fast,
    reference,
    observe: (method, route, status, seconds) => {
      fast.observe(method, route, status, seconds)
      reference.observe({ method, route, status_code: String(status) }, seconds)
    }
  }
}

t.test('the same text and JSON as prom-client, interleaved series, every bucket, beyond the last', async t => {
  const { ours, theirs, observe } = pair()
  t.equal(await ours.metrics(), await theirs.metrics(), 'nothing observed: the same (HELP and TYPE only)')
  const routes = ['/v1/members/:memberId/balance', '/health/live', 'unmatched', '/v1/events']
  const statuses = [200, 404, 304, 503]
  let seed = 7
  const random = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 }
  for (let i = 0; i < 5000; i++) {
    const seconds = [0, 0.001, 0.0025, 2.5, 3.7, random() * 0.01, random() * 3][i % 7]!
    observe(i % 11 === 0 ? 'POST' : 'GET', routes[Math.floor(random() * routes.length)]!, statuses[Math.floor(random() * statuses.length)]!, seconds)
  }
  const text = await ours.metrics()
  t.equal(text, await theirs.metrics(), 'the same /metrics text')
  t.match(text, /rewards_http_request_duration_seconds_bucket\{le="0.001",method="GET",route="\/v1\/members\/:memberId\/balance",status_code="200"\} \d+/)
  t.same(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON(), 'the same JSON')
  const openMetrics = Registry.OPENMETRICS_CONTENT_TYPE as Parameters<Registry['setContentType']>[0]
  ours.setContentType(openMetrics)
  theirs.setContentType(openMetrics)
  t.equal(await ours.metrics(), await theirs.metrics(), 'the same OpenMetrics text')
  ours.setContentType(Registry.PROMETHEUS_CONTENT_TYPE as Parameters<Registry['setContentType']>[0])
  theirs.setContentType(Registry.PROMETHEUS_CONTENT_TYPE as Parameters<Registry['setContentType']>[0])
  ours.resetMetrics()
  theirs.resetMetrics()
  t.equal(await ours.metrics(), await theirs.metrics(), 'reset: the same')
  observe('GET', '/health/live', 200, 0.0004)
  t.equal(await ours.metrics(), await theirs.metrics(), 'after a reset: the same')
})

t.test('refuses what prom-client refuses: a value that is not a finite number', async t => {
  const { fast } = pair()
  t.throws(() => { fast.observe('GET', '/x', 200, Number.NaN) }, TypeError)
  t.throws(() => { fast.observe('GET', '/x', 200, Infinity) }, TypeError)
})

t.test('one registered metric per registry, found by its name', async t => {
  const registry = new Registry()
  const fast = new RequestHistogram({ name: NAME, help: HELP, buckets: BUCKETS, registers: [registry] })
  t.equal(registry.getSingleMetric(NAME), fast as never)
  t.throws(() => new RequestHistogram({ name: NAME, help: HELP, buckets: BUCKETS, registers: [registry] }), /already been registered/)
})
