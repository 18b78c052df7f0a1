// rewards_http_request_duration_seconds without prom-client's per-observation work: prom-client's
// Histogram validates and hashes a child's labels on every observe() (~0.5 µs, on every request of
// every route: docs/benchmarks.md "API balance query, sixth pass"). Here each series (method,
// route template, status code) is an object found once per request through three small maps, and
// an observation adds to its bucket count, sum and count. The registry asks it for its values like
// any prom-client metric (get / getForPromString): the exported text and JSON are exactly those of
// a prom-client Histogram with the same name, labels, buckets and observations
// (test/api/request-histogram.test.ts), so dashboards and alerts see the same metric.
import type { Registry } from 'prom-client'

/** One series: counts per bucket (not cumulative; the last one is above the highest bound). */
class Series {
  readonly labels: Readonly<Record<string, string>>
  readonly counts: Float64Array
  sum = 0
  count = 0
  constructor (labels: Readonly<Record<string, string>>, buckets: number) {
    this.labels = labels
    this.counts = new Float64Array(buckets + 1)
  }
}

interface Value { labels: Record<string, string | number>, sharedLabels?: Record<string, string>, value: number, metricName: string, exemplar: null | undefined }

export class RequestHistogram {
  readonly name: string
  readonly help: string
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  readonly #bounds: readonly number[]
  /** route template → method → status code → series. */
  #series = new Map<string, Map<string, Map<number, Series>>>()
  /** Every series, first observed first (prom-client's export order). */
  #all: Series[] = []

  constructor (options: { name: string, help: string, buckets: readonly number[], registers: Registry[] }) {
    this.name = options.name
    this.help = options.help
    this.#bounds = [...options.buckets].sort((a, b) => a - b)
    for (const registry of options.registers) registry.registerMetric(this as never)
  }

  /** Records one request of `seconds`. */
  observe (method: string, route: string, statusCode: number, seconds: number): void {
    if (!Number.isFinite(seconds)) throw new TypeError(`Value is not a valid number: ${seconds}`)
    let byMethod = this.#series.get(route)
    if (byMethod === undefined) this.#series.set(route, byMethod = new Map())
    let byStatus = byMethod.get(method)
    if (byStatus === undefined) byMethod.set(method, byStatus = new Map())
    let series = byStatus.get(statusCode)
    if (series === undefined) {
      series = new Series({ method, route, status_code: String(statusCode) }, this.#bounds.length)
      byStatus.set(statusCode, series)
      this.#all.push(series)
    }
    const bounds = this.#bounds
    let i = 0
    while (i < bounds.length && seconds > bounds[i]!) i++
    series.counts[i]!++
    series.sum += seconds
    series.count += 1
  }

  reset (): void {
    this.#series = new Map()
    this.#all = []
  }

  /** prom-client's histogram values, in its order: per series (first observed first), the
   *  cumulative buckets, +Inf, _sum, _count; the series' labels as shared labels. */
  async getForPromString (): Promise<{ name: string, help: string, type: string, values: Value[], aggregator: string }> {
    const values: Value[] = []
    const bucket = `${this.name}_bucket`
    for (const series of this.#all) {
      let acc = 0
      this.#bounds.forEach((le, i) => {
        acc += series.counts[i]!
        values.push({ labels: { le }, value: acc, metricName: bucket, exemplar: null, sharedLabels: { ...series.labels } })
      })
      values.push({ labels: { le: '+Inf' }, value: series.count, metricName: bucket, exemplar: null, sharedLabels: { ...series.labels } })
      values.push({ labels: {}, value: series.sum, metricName: `${this.name}_sum`, exemplar: undefined, sharedLabels: { ...series.labels } })
      values.push({ labels: {}, value: series.count, metricName: `${this.name}_count`, exemplar: undefined, sharedLabels: { ...series.labels } })
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }

  /** As prom-client's get(): the shared labels merged into each value's labels. */
  async get (): Promise<{ name: string, help: string, type: string, values: Value[], aggregator: string }> {
    const data = await this.getForPromString()
    data.values = data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }))
    return data
  }
}
