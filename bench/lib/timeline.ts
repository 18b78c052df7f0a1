// Prints an engine run's timeline (lib/tracing/engine-timeline.ts): when the first fetch,
// record and commit happened, where the stream thread's loop spent its time, each fetch and
// commit with its steps, and the event loop's idle share (docs/benchmarks.md, "sixth pass").
import type { TimelineEvent } from '../../lib/tracing/engine-timeline.ts'

const ms = (v: number): string => `${Math.round(v)}`
const data = (e: TimelineEvent): string => e.data === undefined ? '' : ' ' + Object.entries(e.data).map(([k, v]) => `${k}=${v}`).join(' ')

export interface TimelinePoints { readonly t0: number, readonly started: number, readonly running: number, readonly done: number, readonly idleShare: number }

export function printTimeline (label: string, events: readonly TimelineEvent[], p: TimelinePoints): void {
  const rel = (at: number): string => `+${ms(at - p.t0)}`
  const sum = (what: string, pred: (e: TimelineEvent) => boolean = () => true): { n: number, total: number } => {
    let n = 0; let total = 0
    for (const e of events) if (e.what === what && pred(e)) { n++; total += e.ms }
    return { n, total }
  }
  const first = (what: string, pred: (e: TimelineEvent) => boolean = () => true): TimelineEvent | undefined => events.find(e => e.what === what && pred(e))
  const records = (e: TimelineEvent): number => Number(e.data?.['records'] ?? 0)
  const lastRecords = [...events].reverse().find(e => e.what === 'thread.poll' && records(e) > 0)
  console.log(`\ntimeline, ${label} (ms from app.start(); event loop idle ${(p.idleShare * 100).toFixed(0)}% of the run)`)
  const f = first('fetch')
  const r = first('thread.poll', e => records(e) > 0)
  const c = first('commit')
  console.log(`  start() returned ${rel(p.started)}, RUNNING ${rel(p.running)}, first fetch sent ${f ? rel(f.at) : '-'} (took ${f ? ms(f.ms) : '-'}), first records polled ${r ? rel(r.at + r.ms) : '-'}, first commit ${c ? `${rel(c.at)} (took ${ms(c.ms)})` : '-'}, last records polled ${lastRecords ? rel(lastRecords.at + lastRecords.ms) : '-'}, input committed seen ${rel(p.done)}`)
  const polls = sum('thread.poll'); const emptyPolls = sum('thread.poll', e => records(e) === 0)
  const line = (what: string): string => { const s = sum(what); return `${what} ${ms(s.total)} (${s.n})` }
  console.log(`  loop: ${line('thread.process')}, poll ${ms(polls.total)} (${polls.n}; ${ms(emptyPolls.total)} in ${emptyPolls.n} that returned nothing), ${line('thread.yield')}, ${line('thread.settle')}, ${line('thread.settle-requested')}`)
  const wanted = new Set(['fetch', 'commit', 'commit.flush', 'commit.transaction', 'commit.postCommit', 'commit.offsets', 'txn.begin', 'txn.sends', 'txn.send', 'txn.addOffsets', 'txn.offsetCommit', 'txn.endTxn'])
  const shown = events.filter(e => wanted.has(e.what)).sort((a, b) => a.at - b.at)
  for (const e of shown) console.log(`  ${rel(e.at).padStart(6)} ${ms(e.ms).padStart(5)} ${e.what}${data(e)}`)
}
