// The figures of a chaos run as text: what was injected, what was produced and output, what is
// wrong (every count that must be 0), and the time to recover after each fault.
import { failures, type ChaosReport } from './chaos-run.ts'

const seconds = (ms: number | null | undefined): string => ms === null || ms === undefined ? 'not recovered' : `${(ms / 1000).toFixed(1)} s`

function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

export function formatReport (r: ChaosReport): string {
  const o = r.options
  const lines: string[] = []
  lines.push(`chaos run: scenario ${o.scenario}, ${o.instances} instances, ${o.partitions} partitions, seed ${o.seed}, ${(r.durationMs / 1000).toFixed(0)} s`)
  const recovered = r.kills.map(k => k.recoveryMs).filter((ms): ms is number => typeof ms === 'number')
  lines.push(`faults: ${r.kills.length} SIGKILLs (${r.kills.filter(k => k.wiped).length} restarted on a wiped data directory)${r.outages.length > 0 ? `; ${r.outages.map(x => x.fault).join('; ')}` : ''}`)
  if (r.kills.length > 0) {
    const drained = r.kills.map(k => k.drainedMs).filter((ms): ms is number => typeof ms === 'number')
    lines.push(`time to recover after a kill (until every input partition is processed again): ${recovered.length > 0 ? `median ${seconds(percentile(recovered, 0.5))}, max ${seconds(Math.max(...recovered))}` : 'none measured'}`)
    lines.push(`  each: ${r.kills.map(k => seconds(k.recoveryMs)).join(', ')}`)
    lines.push(`time until everything in the inputs at a kill was committed (includes the backlog): ${drained.length > 0 ? `median ${seconds(percentile(drained, 0.5))}, max ${seconds(Math.max(...drained))}` : 'none measured'}`)
  }
  for (const x of r.outages) lines.push(`time to recover after ${x.fault}: ${x.recoveryMs === null ? 'not measured' : seconds(x.recoveryMs)}`)
  const h = r.produced.http
  lines.push(`produced: ${r.produced.records} records by kafkajs (${Object.entries(r.produced.byKind).map(([k, n]) => `${k} ${n}`).join(', ')}); over HTTP ${h.eventsAccepted} events accepted, ${h.redemptionsDecided} redemptions decided, ${h.redemptionsPending} pending, ${h.retries} retries, ${h.unauthorized} × 401; ${r.produced.inputRecords} input records in the topics`)
  lines.push(`outputs: ${r.outputs.outputs} records read committed; expected ${r.outputs.expectedConfirmations} confirmations, ${r.outputs.expectedDecisions} redemption decisions, ${r.outputs.expectedDeadLetters} dead letters`)
  lines.push(`balances: ${r.balances.checked} members checked over HTTP; archive: ${r.archive.rows} rows for ${r.archive.expected} records`)
  for (const c of r.faultChecks) lines.push(`check: ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`)
  for (const e of r.unexpectedExits.slice(0, 10)) lines.push(`exited on its own: instance ${e.instance} (exit ${e.code ?? e.signal}): ${e.reason}`)
  if (r.unexpectedExits.length > 10) lines.push(`… and ${r.unexpectedExits.length - 10} more exits on their own`)
  if (r.lagAtEnd > 0) lines.push(`not caught up: ${r.lagAtEnd} input records not processed at the end`)
  if (r.incompleteTopics.length > 0) lines.push(`not readable to their end (open transaction): ${r.incompleteTopics.join(', ')}`)
  if (!passed(r)) lines.push(`platform logs: ${r.logDir}`)
  lines.push(`graceful stop at the end: ${r.finalExits.map(e => `exit ${e ?? '?'}`).join(', ')}`)
  for (const p of r.problems.slice(0, 40)) lines.push(`  ${p}`)
  lines.push(Object.entries(failures(r)).map(([name, n]) => `${name} ${n}`).join(', '))
  return lines.join('\n')
}

/** A run passes when every failure figure is 0 and every fault check holds. */
export function passed (r: ChaosReport): boolean {
  return Object.values(failures(r)).every(n => n === 0) && r.faultChecks.every(c => c.ok)
}
