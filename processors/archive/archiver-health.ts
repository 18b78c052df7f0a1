// The archiver's health check (readiness and /health detail). Stuck or behind is degraded, not
// unready (docs/archive.md "Stuck or behind"): readiness gates the API's traffic, which does not
// need the archive; taking instances out of the load balancer would stop the API without helping
// the archive catch up. The reason is in the detail, and rewards_archive_stalled says it too.
import type { CheckResult } from '../../api/health/named-checks.ts'
import type { Archiver } from './archiver.ts'

export function archiverHealth (archiver: Archiver): CheckResult {
  if (!archiver.joined()) return { ready: false, detail: 'joining the archiver consumer group' }
  const breaker = archiver.breakerState()
  const p = archiver.progress()
  const problems = [
    ...(p.stalled ? [`stuck: no progress for ${p.secondsSinceProgress} s (bound ${p.stallSeconds} s) with ${p.lagRecords} record(s) to archive`] : []),
    ...(p.behind ? [`behind: lag ${p.lagRecords} record(s) above ${p.maxLagRecords}`] : [])
  ]
  const degraded = breaker !== 'CLOSED' || problems.length > 0
  const deadLetters = archiver.deadLettered() > 0 ? `, ${archiver.deadLettered()} record(s) dead-lettered (archive_dead_letters)` : ''
  return {
    ready: true,
    ...(degraded ? { degraded: true } : {}),
    detail: `${problems.map(problem => `${problem}; `).join('')}archiving; PostgreSQL circuit ${breaker}, lag ${p.lagRecords} record(s)${deadLetters}`
  }
}
