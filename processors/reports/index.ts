// Reports over the PostgreSQL archive (docs/reports.md): SQL that runs the same on PostgreSQL and
// the embedded PGlite, served by `rewards report` and GET /v1/reports/{name}.
export { REPORTS, reportDefinition, reportMetrics, runReport } from './run-report.ts'
export { reportParams, ReportParamsError, MAX_LIMIT, MAX_RANGE_DAYS, DEFAULT_RANGE_DAYS, type RawReportParams, type ReportColumn, type ReportContext, type ReportDefinition, type ReportParams, type ReportResult } from './report.ts'
export type { PointsIssued } from './points-issued.ts'
export type { PointsRedeemed } from './points-redeemed.ts'
export type { TopMember } from './top-members.ts'
export type { DlqCode } from './dlq-codes.ts'
