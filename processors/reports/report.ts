// What every report over the archive shares: its parameters (validated once, the same for the
// CLI and the HTTP API), its result shape, and the definition each report module exports.
//
// - Days are UTC calendar days, `from` and `to` both included (YYYY-MM-DD). Default: the 30 days
//   ending today. At most MAX_RANGE_DAYS per query, to bound a report's cost.
// - A report declares which filters apply to it; a filter that does not apply is refused (a
//   silently ignored `--property` would print figures the reader takes for a property's).
// - Rows are plain objects of JSON integers and strings (TypeBox schema per report, published in
//   the OpenAPI document); `truncated` says that `limit` cut the list.
import type { TSchema } from 'typebox'
import type { Queryable } from '../../lib/db/database.ts'
import type { RewardsTopics } from '../rewards/topics.ts'

export const DEFAULT_RANGE_DAYS = 30
export const MAX_RANGE_DAYS = 366
export const MAX_LIMIT = 10_000

export type ReportFilter = 'source' | 'property'

export interface ReportParams {
  /** First UTC day included, YYYY-MM-DD. */
  readonly from: string
  /** Last UTC day included, YYYY-MM-DD. */
  readonly to: string
  readonly source: string | null
  readonly property: string | null
  readonly limit: number
}

export interface ReportColumn {
  readonly name: string
  readonly type: 'text' | 'integer'
}

export interface ReportResult<Row extends object = Record<string, string | number | null>> {
  readonly report: string
  readonly params: ReportParams
  readonly columns: readonly ReportColumn[]
  readonly rows: Row[]
  /** More rows matched than `limit`. */
  readonly truncated: boolean
}

export interface ReportContext {
  readonly db: Queryable
  readonly topics: RewardsTopics
}

export interface ReportDefinition<Row extends object = Record<string, string | number | null>> {
  readonly name: string
  readonly description: string
  readonly filters: readonly ReportFilter[]
  /** Allowed values of `source`, when the report takes it. */
  readonly sources?: readonly string[]
  readonly defaultLimit: number
  readonly columns: readonly ReportColumn[]
  /** TypeBox schema of one row. */
  readonly rowSchema: TSchema
  /** Runs the query; returns at most params.limit + 1 rows (the extra one means truncated). */
  query (ctx: ReportContext, params: ReportParams): Promise<Row[]>
}

/** Bad report parameters: the CLI prints the message, the API answers 400 INVALID_REPORT_PARAMS. */
export class ReportParamsError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ReportParamsError'
  }
}

export interface RawReportParams {
  readonly from?: string | undefined
  readonly to?: string | undefined
  readonly source?: string | undefined
  readonly property?: string | undefined
  readonly limit?: string | number | undefined
}

const DAY_MS = 86_400_000
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/

/** A YYYY-MM-DD that is a real calendar day (2026-02-30 is not), as ms at 00:00 UTC. */
function parseDay (name: string, text: string): number {
  const m = DATE.exec(text)
  const ms = m === null ? Number.NaN : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))
  if (m === null || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== text) {
    throw new ReportParamsError(`${name} must be a UTC calendar day as YYYY-MM-DD (got ${JSON.stringify(text)})`)
  }
  return ms
}

export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

/** Validates and completes the parameters of `report`. */
export function reportParams (report: Pick<ReportDefinition, 'name' | 'filters' | 'sources' | 'defaultLimit'>, raw: RawReportParams, nowMs = Date.now()): ReportParams {
  const toMs = raw.to === undefined ? Math.floor(nowMs / DAY_MS) * DAY_MS : parseDay('to', raw.to)
  const fromMs = raw.from === undefined ? toMs - (DEFAULT_RANGE_DAYS - 1) * DAY_MS : parseDay('from', raw.from)
  if (fromMs > toMs) throw new ReportParamsError(`from (${dayOf(fromMs)}) is after to (${dayOf(toMs)})`)
  const days = (toMs - fromMs) / DAY_MS + 1
  if (days > MAX_RANGE_DAYS) throw new ReportParamsError(`the range covers ${days} days; at most ${MAX_RANGE_DAYS} per report`)
  for (const filter of ['source', 'property'] as const) {
    if (raw[filter] !== undefined && !report.filters.includes(filter)) {
      throw new ReportParamsError(`${report.name} does not take ${filter}${filter === 'property' ? ' (redemptions and dead letters carry no property)' : ''}`)
    }
  }
  const source = raw.source ?? null
  if (source !== null && report.sources !== undefined && !report.sources.includes(source)) {
    throw new ReportParamsError(`source must be one of ${report.sources.join(', ')} (got ${JSON.stringify(source)})`)
  }
  const property = raw.property ?? null
  if (property !== null && (property.length === 0 || property.length > 64)) throw new ReportParamsError('property must be 1–64 characters')
  let limit = report.defaultLimit
  if (raw.limit !== undefined) {
    limit = typeof raw.limit === 'number' ? raw.limit : /^\d{1,6}$/.test(raw.limit) ? Number(raw.limit) : Number.NaN
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new ReportParamsError(`limit must be an integer from 1 to ${MAX_LIMIT} (got ${JSON.stringify(raw.limit)})`)
  }
  return { from: dayOf(fromMs), to: dayOf(toMs), source, property, limit }
}

/** The half-open time range [start, end) of the params' days, as ISO timestamps for SQL. */
export function timeRange (params: ReportParams): { start: string, end: string } {
  return { start: `${params.from}T00:00:00.000Z`, end: new Date(Date.parse(`${params.to}T00:00:00.000Z`) + DAY_MS).toISOString() }
}

/** A bigint/numeric column read as text → a JSON integer (points never exceed 2^53 in practice;
 *  a value that would is an error rather than a silently rounded figure). */
export function integer (text: unknown): number {
  const n = Number(text)
  if (!Number.isSafeInteger(n)) throw new Error(`report value ${String(text)} is not a safe integer`)
  return n
}
