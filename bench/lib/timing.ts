// Measuring and printing: elapsed time, records/s, ratios, and waiting for a consumer group's
// committed offsets to reach given end offsets.
import type { Log, PartitionOffset } from '../../log/log-port.ts'

export const nowMs = (): number => performance.now()

export function rate (records: number, ms: number): number {
  return ms > 0 ? records / (ms / 1000) : Number.POSITIVE_INFINITY
}

export function fmtRate (recordsPerSec: number): string {
  return `${Math.round(recordsPerSec).toLocaleString('en-US')} rec/s`
}

export function fmtMs (ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`
}

export function fmtRatio (ratio: number): string {
  return `${ratio.toFixed(3)}x`
}

/** Polls the group's committed offsets (listCommittedOffsets waits for pending transactional
 *  commits: require_stable) until every partition reached its end offset. Resolves with the time
 *  (nowMs()) at which that was first seen; the polling interval bounds the error. */
export async function waitForCommitted (log: Log, groupId: string, ends: PartitionOffset[], options: { timeoutMs: number, intervalMs?: number, isFailed?: () => unknown }): Promise<number> {
  const deadline = nowMs() + options.timeoutMs
  const want = new Map(ends.map(e => [`${e.topic}:${e.partition}`, e.offset]))
  const interval = options.intervalMs ?? 50
  for (;;) {
    const failed = options.isFailed?.()
    if (failed) throw failed instanceof Error ? failed : new Error(String(failed))
    const committed = await log.admin.listCommittedOffsets(groupId, ends)
    let done = committed.length === ends.length
    let behind = 0n
    for (const c of committed) {
      const end = want.get(`${c.topic}:${c.partition}`)!
      if (c.offset < end) { done = false; behind += end - c.offset }
    }
    if (done) return nowMs()
    if (nowMs() > deadline) throw new Error(`timed out: group ${groupId} is ${behind} records (plus ${ends.length - committed.length} partitions without commits) behind`)
    await new Promise(resolve => setTimeout(resolve, interval))
  }
}

/** Prints rows as an aligned table. */
export function printTable (header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join(' | ')
  console.log(line(header))
  console.log(widths.map(w => '-'.repeat(w)).join('-|-'))
  for (const r of rows) console.log(line(r))
}
