// The archive component: every record of the platform topics into PostgreSQL (SPEC §7).
export { startArchiver, type Archiver, type ArchiverDeps } from './archiver.ts'
export { archiveKinds, toArchiveRow, type ArchiveKind, type ArchiveRow } from './archive-row.ts'
export { writeArchiveRows } from './archive-writer.ts'
export { CircuitBreaker, type BreakerState, type CircuitBreakerOptions } from './circuit-breaker.ts'
