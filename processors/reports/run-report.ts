// The catalogue of reports and the one way to run them (CLI and HTTP alike): validate the
// parameters, run the query, time it in rewards_report_query_seconds{report,outcome}.
import { Histogram, type Registry } from 'prom-client'
import { dlqCodes } from './dlq-codes.ts'
import { pointsIssued } from './points-issued.ts'
import { pointsRedeemed } from './points-redeemed.ts'
import { reportParams, ReportParamsError, type RawReportParams, type ReportContext, type ReportDefinition, type ReportResult } from './report.ts'
import { topMembers } from './top-members.ts'

export const REPORTS: ReadonlyMap<string, ReportDefinition<object>> = new Map<string, ReportDefinition<object>>(
  [pointsIssued, pointsRedeemed, topMembers, dlqCodes].map(r => [r.name, r as ReportDefinition<object>])
)

export function reportDefinition (name: string): ReportDefinition<object> {
  const report = REPORTS.get(name)
  if (report === undefined) throw new ReportParamsError(`unknown report ${JSON.stringify(name)}; reports: ${[...REPORTS.keys()].join(', ')}`)
  return report
}

/** The query-duration histogram, registered once per registry. */
export function reportMetrics (registry: Registry): Histogram<'report' | 'outcome'> {
  return (registry.getSingleMetric('rewards_report_query_seconds') as Histogram<'report' | 'outcome'> | undefined) ?? new Histogram({
    name: 'rewards_report_query_seconds',
    help: 'Duration of report queries over the archive, by report and outcome (ok, error)',
    labelNames: ['report', 'outcome'],
    // Reports scan days of archive rows: from milliseconds to tens of seconds.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry]
  })
}

/** Validates `raw` (throws ReportParamsError) and runs the report. */
export async function runReport (ctx: ReportContext & { registry?: Registry, nowMs?: number }, name: string, raw: RawReportParams): Promise<ReportResult<object>> {
  const report = reportDefinition(name)
  const params = reportParams(report, raw, ctx.nowMs)
  const timer = ctx.registry === undefined ? undefined : reportMetrics(ctx.registry).startTimer({ report: name })
  try {
    const rows = await report.query(ctx, params)
    timer?.({ outcome: 'ok' })
    return { report: name, params, columns: report.columns, rows: rows.slice(0, params.limit), truncated: rows.length > params.limit }
  } catch (error) {
    timer?.({ outcome: 'error' })
    throw error
  }
}
