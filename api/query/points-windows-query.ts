// GET /v1/properties/{propertyId}/points: its parameters (checked once, for the public and the
// internal route) and the answer read from the window stores of the task owning the property
// (docs/api.md, "Points issued per property"; the windows: docs/rewards.md, "Points issued per
// property").
//
// - `from`, `to`: RFC 3339 instants, from < to; the windows whose start lies in [from, to).
// - `window`: hour | day. At most MAX_WINDOWS windows per query (31 days of hours, 366 days).
// - A window is `closed` once the task's stream time has passed its end + grace: its figures are
//   final, equal to the points-issued report's for that property and period unless a decision
//   arrived later than the grace (docs/rewards.md says when). The proof is the store's observed
//   stream time (the hour store's: the finer one): largest window start ≤ stream time.
import { parseRfc3339 } from '../../processors/rewards/rfc3339.ts'
import { pointsWindowSpecs, POINTS_WINDOW_STORES, type PointsWindowSize, type PointsWindowSpec, type PointsWindowValue } from '../../processors/rewards/points-windows.ts'
import type { StreamsApplication } from '../../topology/index.ts'

export const POINTS_WINDOW_SIZES: readonly PointsWindowSize[] = ['hour', 'day']

/** The most windows one query may cover (bounds a query's scan and answer). */
export const MAX_WINDOWS: Readonly<Record<PointsWindowSize, number>> = Object.freeze({ hour: 31 * 24, day: 366 })

export interface PointsQuery {
  readonly from?: string
  readonly to?: string
  readonly window?: string
}

export interface PointsParams {
  readonly fromMs: number
  readonly toMs: number
  readonly window: PointsWindowSize
}

/** Parameters the schema accepts but that make no query (answered 400 INVALID_WINDOW_QUERY). */
export class PointsQueryError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'PointsQueryError'
  }
}

/** Checks what the schema cannot: real instants, their order, the range's size. */
export function pointsParams (query: PointsQuery): PointsParams {
  const window = query.window as PointsWindowSize
  const fromMs = parseRfc3339(query.from ?? '')
  const toMs = parseRfc3339(query.to ?? '')
  if (fromMs === undefined) throw new PointsQueryError(`from must be an RFC 3339 date-time (got ${JSON.stringify(query.from)})`)
  if (toMs === undefined) throw new PointsQueryError(`to must be an RFC 3339 date-time (got ${JSON.stringify(query.to)})`)
  if (fromMs >= toMs) throw new PointsQueryError(`from (${query.from!}) must be before to (${query.to!})`)
  const windows = Math.ceil((toMs - fromMs) / pointsWindowSpecs()[window].sizeMs)
  if (windows > MAX_WINDOWS[window]) throw new PointsQueryError(`the range covers ${windows} ${window} windows; at most ${MAX_WINDOWS[window]} per query`)
  return { fromMs, toMs, window }
}

export interface PointsWindowAnswer {
  readonly start: string
  readonly end: string
  /** Net points issued: earnedPoints − reversedPoints. */
  readonly points: number
  readonly earnedPoints: number
  readonly reversedPoints: number
  readonly earnEvents: number
  readonly reversalEvents: number
  readonly closed: boolean
}

export interface PointsAnswer {
  readonly propertyId: string
  readonly window: PointsWindowSize
  readonly from: string
  readonly to: string
  readonly graceSeconds: number
  /** Windows starting before this are no longer kept (null: the task has no window yet). */
  readonly retainedFrom: string | null
  readonly windows: PointsWindowAnswer[]
}

const iso = (ms: number): string => new Date(ms).toISOString()

/** The property's windows from this instance's stores (KEY_OWNED_ELSEWHERE, STORE_NOT_READY as
 *  every interactive query). */
export function readPointsWindows (app: StreamsApplication, propertyId: string, params: PointsParams, specs: Record<PointsWindowSize, PointsWindowSpec> = pointsWindowSpecs()): PointsAnswer {
  const spec = specs[params.window]
  const store = app.windowStore<string, PointsWindowValue>(POINTS_WINDOW_STORES[params.window])
  const observed = app.windowStore<string, PointsWindowValue>(POINTS_WINDOW_STORES.hour).observedStreamTime(propertyId)
  const observedOwn = store.observedStreamTime(propertyId)
  const windows = store.fetch(propertyId, params.fromMs, params.toMs - 1).map(w => {
    const end = w.windowStart + spec.sizeMs
    const v = w.value
    return {
      start: iso(w.windowStart),
      end: iso(end),
      points: v.earnedPoints - v.reversedPoints,
      earnedPoints: v.earnedPoints,
      reversedPoints: v.reversedPoints,
      earnEvents: v.earnEvents,
      reversalEvents: v.reversalEvents,
      closed: observed >= end + spec.graceMs
    }
  })
  return {
    propertyId,
    window: params.window,
    from: iso(params.fromMs),
    to: iso(params.toMs),
    graceSeconds: spec.graceMs / 1000,
    // The first window start the store still returns (WindowStoreReader: start > observed − retention).
    retainedFrom: observedOwn === Number.NEGATIVE_INFINITY ? null : iso(Math.ceil((observedOwn - spec.retentionMs + 1) / spec.sizeMs) * spec.sizeMs),
    windows
  }
}
