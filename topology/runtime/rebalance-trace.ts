// Rebalance trace (docs/engine.md "Rebalancing"): with STREAMS_REBALANCE_TRACE set (any non-empty
// value; not a REWARDS_ setting, so test and bench supervisors pass it through), timestamped lines
// on stderr at each step of a rebalance — heartbeat answers, join / sync, revocation commit and
// closes, assignment, standby closes and task creation, restore end, shutdown and leave — to see
// where a rolling restart's pause goes. Off: one boolean test per call.
const on = process.env.STREAMS_REBALANCE_TRACE !== undefined && process.env.STREAMS_REBALANCE_TRACE !== ''

export function rtrace (what: string, data?: unknown): void {
  if (!on) return
  process.stderr.write(`RTRACE ${new Date().toISOString()} ${process.pid} ${what}${data === undefined ? '' : ' ' + JSON.stringify(data, (_k, v: unknown) => typeof v === 'bigint' ? String(v) : v)}\n`)
}
