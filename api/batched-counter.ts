// A prom-client Counter counted on the hot path without prom-client's per-increment work: a
// child's inc() validates and hashes its labels on every call (~0.5–1 µs; rewards_api_queries_total
// is counted on every member query: docs/benchmarks.md "API balance query, sixth pass"). Here a
// series' increments add to a plain number, and the counter's `collect` (called by prom-client
// whenever the registry reads the metric: /metrics, get(), the JSON) adds them to the Counter with
// one inc(labels, n) per series. The exported metric is the prom-client Counter itself, the same
// as before; a read always includes every increment made before it.
import { Counter, type CounterConfiguration, type Registry } from 'prom-client'

interface Pending { readonly labels: Record<string, string>, n: number }

/** Increments waiting for the counter's next read, per counter and series. */
const pending = new WeakMap<Counter<string>, Map<string, Pending>>()

function flush (counter: Counter<string>): void {
  const series = pending.get(counter)
  if (series === undefined) return
  for (const p of series.values()) {
    if (p.n === 0) continue
    const n = p.n
    p.n = 0
    counter.inc(p.labels, n)
  }
}

/** A Counter whose `collect` adds the batched increments; a reset drops the ones not yet added. */
class BatchedCounter<T extends string> extends Counter<T> {
  constructor (config: CounterConfiguration<T>) {
    super({ ...config, collect () { flush(this as Counter<string>) } })
  }

  override reset (): void {
    for (const p of pending.get(this as Counter<string>)?.values() ?? []) p.n = 0
    super.reset()
  }
}

/** The registry's counter `name` (made with `config` when absent), its reads adding the batched
 *  increments first. A counter of that name registered some other way is used as it is, and its
 *  children count directly (batchedChild). */
export function batchedCounter<T extends string> (registry: Registry, config: Omit<CounterConfiguration<T>, 'registers' | 'collect'>): Counter<T> {
  const existing = registry.getSingleMetric(config.name) as Counter<T> | undefined
  if (existing !== undefined) return existing
  return new BatchedCounter<T>({ ...config, registers: [registry] })
}

/** A child of `counter` (batchedCounter's) for one set of labels: inc() adds 1, reported at the
 *  counter's next read. For any other counter, prom-client's own child. */
export function batchedChild<T extends string> (counter: Counter<T>, labels: Record<T, string>): { inc: () => void } {
  if (!(counter instanceof BatchedCounter)) return counter.labels(labels)
  let series = pending.get(counter as Counter<string>)
  if (series === undefined) pending.set(counter as Counter<string>, series = new Map())
  const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => a < b ? -1 : 1))
  let p = series.get(key)
  if (p === undefined) series.set(key, p = { labels: { ...labels }, n: 0 })
  const entry = p
  return { inc: () => { entry.n++ } }
}

/** A counter of two labels counted by their values: `count(a, b)` adds 1 to the series
 *  { [first]: a, [second]: b }, its child (batchedChild) made once per pair of values. */
export function pairCounter<A extends string, B extends string> (counter: Counter<A | B>, first: A, second: B): (a: string, b: string) => void {
  const children = new Map<string, { inc: () => void }>()
  return (a, b) => {
    const key = `${a} ${b}`
    let child = children.get(key)
    if (child === undefined) children.set(key, child = batchedChild(counter, { [first]: a, [second]: b } as Record<A | B, string>))
    child.inc()
  }
}
