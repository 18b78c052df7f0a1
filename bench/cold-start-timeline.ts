// The timeline of a cold start, from the cold instance's log kept by
// `STREAMS_REBALANCE_TRACE=1 node_modules/.bin/node bench/ha-failover.ts --scenarios cold --keep-logs DIR`
// (docs/benchmarks.md "Cold start, fourth pass"): the last process of the log (the cold one),
// each step in ms from its first line and from the span's start (the first done line's start, as
// the bench measures the rate), the standby opens, the assignments and their waits, and every
// reader fetch that brought records, with the gap the pump spent writing before the next.
//
//   node_modules/.bin/node bench/cold-start-timeline.ts DIR/instance-0.log
import { readFileSync } from 'node:fs'

interface Step { readonly at: number, readonly what: string, readonly data: Record<string, unknown> }

function parse (path: string): Step[] {
  const steps: Step[] = []
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const trace = /^RTRACE (\S+) (\d+) (?:\S+ )?([a-zA-Z.]+)(?: (\{.*\}))?$/.exec(line)
    if (trace !== null) {
      steps.push({ at: Date.parse(trace[1]!), what: trace[3]!, data: { pid: Number(trace[2]), ...(trace[4] !== undefined ? JSON.parse(trace[4]) as Record<string, unknown> : {}) } })
      continue
    }
    if (!line.startsWith('{')) continue
    try {
      const json = JSON.parse(line) as Record<string, unknown>
      if (typeof json.time === 'string') steps.push({ at: Date.parse(json.time), what: String(json.event ?? json.msg ?? ''), data: json })
    } catch { /* not a log line */ }
  }
  return steps
}

const path = process.argv[2]
if (path === undefined) throw new Error('usage: cold-start-timeline.ts <instance log>')
const all = parse(path)
const lastPid = all.findLast(s => typeof s.data.pid === 'number')?.data.pid
const steps = all.filter(s => s.data.pid === lastPid)
const done = steps.filter(s => (s.what === 'standby.progress' || s.what === 'restore.progress') && s.data.done === true)
const t0 = steps[0]!.at
const spanStart = done.length > 0 ? Math.min(...done.map(s => s.at - Number(s.data.elapsedMs))) : t0
const row = (s: Step, note = ''): void => {
  console.log(`${String(s.at - t0).padStart(6)} ${String(s.at - spanStart).padStart(6)}  ${s.what}${note === '' ? '' : ' ' + note}`)
}
console.log('  from  span  (ms from the process\'s first line / from the span\'s start)')
const opened = steps.filter(s => s.what === 'standby.opened')
for (const s of steps) {
  if (['state_dir.locked', 'ready', 'join.start', 'join.synced', 'assign.start', 'tasks.standbysClosed', 'assign.done', 'tasks.started', 'restore.ended'].includes(s.what)) row(s, s.what === 'join.synced' ? `partitions ${String(s.data.partitions)}` : '')
  else if (s.what === 'standby.opened') row(s, `${String(s.data.name)} open ${String(s.data.openMs)} ms, register ${String(s.data.registerMs)} ms`)
  else if (s.what === 'changelog.fetched' && Number(s.data.records) > 0 && s.at <= Math.max(...done.map(d => d.at), 0)) row(s, `${String(s.data.records)} records over ${String(s.data.partitions)} partitions, ${String(s.data.ms)} ms on the wire (sent at ${s.at - Number(s.data.ms) - spanStart})`)
  else if (s.what === 'restore.completed' && Number(s.data.records) > 0) row(s, `${String(s.data.task)} ${String(s.data.records)} records`)
  else if (done.includes(s)) row(s, `done: ${String(s.data.restored)} records in ${String(s.data.elapsedMs)} ms`)
}
if (opened.length > 0) {
  const first = opened[0]!.at - Number(opened[0]!.data.openMs) - Number(opened[0]!.data.registerMs)
  console.log(`standby opens: ${opened.length}, from ${first - spanStart} to ${opened.at(-1)!.at - spanStart} ms of the span; open ms summed ${opened.reduce((n, s) => n + Number(s.data.openMs), 0)}, register ms summed ${opened.reduce((n, s) => n + Number(s.data.registerMs), 0)}`)
}
const starts = steps.filter(s => s.what === 'assign.start')
for (const start of starts) {
  const closed = steps.find(s => s.what === 'tasks.standbysClosed' && s.at >= start.at)
  if (closed !== undefined) console.log(`assignment at ${start.at - spanStart} ms of the span: waited ${closed.at - start.at} ms for opens under way`)
}
// How long each registered standby waited until a fetch asking for its partitions was sent (the
// first fetch sent after its registration; the trace logs answers, with their time on the wire).
const sends = steps.filter(s => s.what === 'changelog.fetched' && s.data.standby === true).map(s => s.at - Number(s.data.ms)).sort((a, b) => a - b)
const waits = opened.map(s => { const sent = sends.find(at => at >= s.at); return sent === undefined ? NaN : sent - s.at }).filter(w => !Number.isNaN(w))
if (waits.length > 0) console.log(`registration to the first fetch sent for it: mean ${Math.round(waits.reduce((n, w) => n + w, 0) / waits.length)} ms, max ${Math.max(...waits)} ms (${waits.join(', ')})`)
// The span in three parts (docs/benchmarks.md "Cold start, sixth pass"): until the last copy is
// open and registered, until the last fetch that brought records of the catch-up, and the writes
// after it to the done line.
const lastDone = done.at(-1)
const catchUpFetches = steps.filter(s => s.what === 'changelog.fetched' && s.data.standby === true && Number(s.data.records) > 0 && lastDone !== undefined && s.at <= lastDone.at)
if (lastDone !== undefined && opened.length > 0 && catchUpFetches.length > 0) {
  const opensEnd = opened.at(-1)!.at - spanStart
  // The big fetches, not the changelogs' new records trickling in meanwhile (a few dozen each).
  const big = catchUpFetches.filter(s => Number(s.data.records) >= 1000)
  const lastFetch = (big.at(-1) ?? catchUpFetches.at(-1)!).at - spanStart
  const end = lastDone.at - spanStart
  console.log(`span ${end} ms: opens end at ${opensEnd} ms, last fetch of ≥ 1000 records back at ${lastFetch} ms, then ${end - lastFetch} ms to the done line (writes)`)
}
