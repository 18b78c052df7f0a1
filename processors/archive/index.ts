// The archive component: every record of the platform topics into PostgreSQL (docs/contract.md "Storage").
export { startArchiver, type Archiver, type ArchiverDeps, type ArchiverProgress } from './archiver.ts'
export { archiveKinds, toArchiveRow, type ArchiveKind, type ArchiveRow } from './archive-row.ts'
export { writeArchiveRows } from './archive-writer.ts'
export type { BreakerState, PostgresPolicySettings } from '../../lib/resilience/postgres-policy.ts'
