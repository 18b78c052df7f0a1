// Points issued per property per hour and per day (docs/rewards.md, "Points issued per
// property"): two windowed aggregations over the ledger's accepted reward decisions, keyed by
// propertyId, counting exactly what the `points-issued` report counts on the archive
// (docs/reports.md): accepted EARN and REVERSAL decisions, by the UTC hour/day of the event's own
// occurredAt (the record timestamp: event-time.ts), a reversal on its own window and property.
//
// The ledger's output is keyed by memberId; one explicit repartition topic
// (`<applicationId>-points-by-property-repartition`) brings each property's decisions to one task,
// and both aggregations read it (a groupByKey per aggregation after the key change would write
// the same records to two topics: docs/engine.md "Repartition topics").
import { Serdes, TimeWindows, type KStream, type StoreKind } from '../../topology/index.ts'

const HOUR_MS = 60 * 60 * 1000
const DAY_MS = 24 * HOUR_MS

/** One accepted reward decision as the windows need it (the ledger's `points-issued` output). */
export interface IssuedPoints {
  readonly type: 'EARN' | 'REVERSAL'
  /** Signed, as on reward-confirmed: negative for a reversal. */
  readonly points: number
}

/** One window's figures, the report's columns for one property (all sources). */
export interface PointsWindowValue {
  readonly earnEvents: number
  readonly earnedPoints: number
  readonly reversalEvents: number
  /** Points taken back by reversals, a positive number. */
  readonly reversedPoints: number
}

export const POINTS_WINDOW_STORES = Object.freeze({
  hour: 'points-per-property-hour',
  day: 'points-per-property-day'
})

export const POINTS_REPARTITION = 'points-by-property'

/** The repartition topic's full name: the owner of a property's windows is the instance
 *  assigned the property's partition of it (api/query/group-owner-map.ts). */
export function pointsRepartitionTopic (applicationId: string): string {
  return `${applicationId}-${POINTS_REPARTITION}-repartition`
}

/** The topics the points windows add to a run of the topology (changelogs, repartition), for
 *  tools and tests that delete what a run created. */
export function pointsInternalTopics (applicationId: string): string[] {
  return [...Object.values(POINTS_WINDOW_STORES).map(s => `${applicationId}-${s}-changelog`), pointsRepartitionTopic(applicationId)]
}

export type PointsWindowSize = keyof typeof POINTS_WINDOW_STORES

export interface PointsWindowSpec {
  readonly sizeMs: number
  /** How late (event time behind the task's stream time) a decision may still enter its window. */
  readonly graceMs: number
  /** How long (stream time after its start) a window stays queryable. */
  readonly retentionMs: number
}

/** The defaults (docs/rewards.md, "Points issued per property", says why these). */
export const POINTS_WINDOWS: Readonly<Record<PointsWindowSize, PointsWindowSpec>> = Object.freeze({
  hour: Object.freeze({ sizeMs: HOUR_MS, graceMs: DAY_MS, retentionMs: 35 * DAY_MS }),
  day: Object.freeze({ sizeMs: DAY_MS, graceMs: 2 * DAY_MS, retentionMs: 400 * DAY_MS })
})

export const EMPTY_POINTS_WINDOW: PointsWindowValue = Object.freeze({ earnEvents: 0, earnedPoints: 0, reversalEvents: 0, reversedPoints: 0 })

export function addIssued (aggregate: PointsWindowValue, issued: IssuedPoints): PointsWindowValue {
  return issued.type === 'EARN'
    ? { ...aggregate, earnEvents: aggregate.earnEvents + 1, earnedPoints: aggregate.earnedPoints + issued.points }
    : { ...aggregate, reversalEvents: aggregate.reversalEvents + 1, reversedPoints: aggregate.reversedPoints - issued.points }
}

export interface PointsWindowsOptions {
  readonly storeKind: StoreKind
  readonly windows?: Partial<Record<PointsWindowSize, Partial<PointsWindowSpec>>>
}

/** The effective window specs (defaults overridden by options, e.g. short graces in tests). */
export function pointsWindowSpecs (overrides: PointsWindowsOptions['windows'] = {}): Record<PointsWindowSize, PointsWindowSpec> {
  return {
    hour: { ...POINTS_WINDOWS.hour, ...overrides.hour, sizeMs: HOUR_MS },
    day: { ...POINTS_WINDOWS.day, ...overrides.day, sizeMs: DAY_MS }
  }
}

/** Adds the repartition and both windowed aggregations downstream of `issued` (keyed by
 *  propertyId). Nothing is written to a user-visible topic. */
export function addPointsWindows (issued: KStream<string, IssuedPoints>, options: PointsWindowsOptions): void {
  const specs = pointsWindowSpecs(options.windows)
  const byProperty = issued.repartition({ name: POINTS_REPARTITION, keySerde: Serdes.string(), valueSerde: Serdes.json<IssuedPoints>() })
  for (const size of ['hour', 'day'] as const) {
    const spec = specs[size]
    byProperty.groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(spec.sizeMs, spec.graceMs))
      .aggregate<PointsWindowValue>(() => EMPTY_POINTS_WINDOW, (_property, value, aggregate) => addIssued(aggregate, value), {
        storeName: POINTS_WINDOW_STORES[size],
        kind: options.storeKind,
        keySerde: Serdes.string(),
        valueSerde: Serdes.json<PointsWindowValue>({ immutableValues: true }),
        retentionMs: spec.retentionMs
      })
  }
}
