// Metrics of the global stores (docs/engine.md "Global tables"), on the application's registry.
import { Counter, Gauge, type Registry } from 'prom-client'

function getOrCreate<M> (registry: Registry, name: string, create: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create()
}

export class GlobalStoreMetrics {
  /** Records between what the store holds and the end (last stable offset) of its topic. */
  readonly lag: Gauge<'store'>
  /** Records of the topic applied to the store: at start (bootstrap) and while running (update). */
  readonly recordsApplied: Counter<'store' | 'phase'>

  constructor (registry: Registry, prefix = 'streams_') {
    const registers = [registry]
    this.lag = getOrCreate(registry, `${prefix}global_store_lag_records`, () => new Gauge({ name: `${prefix}global_store_lag_records`, help: 'Records of its topic a global store has not applied yet (end offsets sampled every few seconds)', labelNames: ['store'], registers }))
    this.recordsApplied = getOrCreate(registry, `${prefix}global_store_records_applied_total`, () => new Counter({ name: `${prefix}global_store_records_applied_total`, help: 'Records of its topic applied to a global store, at start (phase=bootstrap, from the checkpoint) and while running (phase=update)', labelNames: ['store', 'phase'], registers }))
  }
}
