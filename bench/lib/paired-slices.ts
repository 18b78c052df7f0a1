// The saturated rows of bench/api-balance.ts in short alternating slices (docs/benchmarks.md "API
// balance query, tenth pass"): within a round every row runs `--slice` seconds at a time, the rows
// in turn, the order reversed every other cycle (ABC CBA …), until each row has had its seconds. A
// slow period of the shared machine then falls on every row alike instead of on one row, and each
// cycle gives one pair of adjacent slices (e.g. the local row's and the constant's) run under about
// the same load: the ratios are the median of those pairs, printed with their spread.
import type { LoopStats } from './loop-stats.ts'

export interface Load { rps: number, p50: number, p99: number, errors: number, total: number, loaderCpuUs: number }
export interface Result extends Load {
  name: string
  cpuUsPerRequest: number
  sysUsPerRequest: number
  loaderUsPerRequest: number
  loop?: LoopStats
  /** The slices this row's figures were made of (one when the row ran in one piece). */
  slices?: Result[]
}

/** The order of the rows in cycle `cycle`: as given, reversed every other cycle. */
export function cycleOrder<T> (rows: readonly T[], cycle: number): T[] {
  return cycle % 2 === 0 ? [...rows] : [...rows].reverse()
}

/** One row's figures from its slices: requests, CPU and errors summed (so CPU per request is over
 *  all its requests), req/s the mean of the slices', p50 and p99 the median of the slices' (a
 *  slice's percentiles are all autocannon returns; not the percentiles of the pooled requests). */
export function combineSlices (name: string, slices: Result[]): Result {
  const total = slices.reduce((sum, s) => sum + s.total, 0)
  const cpu = slices.reduce((sum, s) => sum + s.cpuUsPerRequest * Math.max(1, s.total), 0)
  const sys = slices.reduce((sum, s) => sum + s.sysUsPerRequest * Math.max(1, s.total), 0)
  const loader = slices.reduce((sum, s) => sum + s.loaderCpuUs, 0)
  const loops = slices.map(s => s.loop).filter((l): l is LoopStats => l !== undefined)
  return {
    name,
    rps: slices.reduce((sum, s) => sum + s.rps, 0) / slices.length,
    p50: median(slices.map(s => s.p50)),
    p99: median(slices.map(s => s.p99)),
    errors: slices.reduce((sum, s) => sum + s.errors, 0),
    total,
    loaderCpuUs: loader,
    cpuUsPerRequest: cpu / Math.max(1, total),
    sysUsPerRequest: sys / Math.max(1, total),
    loaderUsPerRequest: loader / Math.max(1, total),
    ...(loops.length > 0
      ? {
          loop: {
            delayP50: median(loops.map(l => l.delayP50)),
            delayP99: median(loops.map(l => l.delayP99)),
            delayMax: Math.max(...loops.map(l => l.delayMax)),
            gcCount: loops.reduce((sum, l) => sum + l.gcCount, 0),
            gcTotalMs: loops.reduce((sum, l) => sum + l.gcTotalMs, 0),
            gcMaxMs: Math.max(...loops.map(l => l.gcMaxMs))
          }
        }
      : {}),
    slices
  }
}

export interface Spread { readonly median: number, readonly q1: number, readonly q3: number, readonly min: number, readonly max: number, readonly n: number }

/** `of(row, base)` for every cycle's pair of slices of every round (rows by index). */
export function pairedSpread (rounds: Result[][], row: number, base: number, of: (row: Result, base: Result) => number): Spread {
  const values: number[] = []
  for (const rows of rounds) {
    const a = rows[row]!.slices ?? [rows[row]!]
    const b = rows[base]!.slices ?? [rows[base]!]
    for (let i = 0; i < Math.min(a.length, b.length); i++) values.push(of(a[i]!, b[i]!))
  }
  const sorted = values.sort((x, y) => x - y)
  return { median: median(sorted), q1: quantile(sorted, 0.25), q3: quantile(sorted, 0.75), min: sorted[0] ?? NaN, max: sorted[sorted.length - 1] ?? NaN, n: sorted.length }
}

/** "median of 30 paired 1 s slices, quartiles 0.80–0.90, range 0.70–0.95" */
export function describeSpread (s: Spread, sliceSeconds: number): string {
  return `median of ${s.n} paired ${sliceSeconds} s slices, quartiles ${s.q1.toFixed(2)}–${s.q3.toFixed(2)}, range ${s.min.toFixed(2)}–${s.max.toFixed(2)}`
}

export function median (values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Linear interpolation between the closest ranks of sorted `values`. */
function quantile (sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN
  const at = (sorted.length - 1) * q
  const lo = Math.floor(at)
  const hi = Math.ceil(at)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo)
}
