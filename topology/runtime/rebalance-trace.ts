// TEMPORARY (issue 17 investigation): timestamped rebalance trace lines on stderr when
// STREAMS_REBALANCE_TRACE is set.
const on = process.env.STREAMS_REBALANCE_TRACE !== undefined && process.env.STREAMS_REBALANCE_TRACE !== ''
export function rtrace (what: string, data?: unknown): void {
  if (!on) return
  process.stderr.write(`RTRACE ${new Date().toISOString()} ${process.pid} ${what}${data === undefined ? '' : ' ' + JSON.stringify(data, (_k, v) => typeof v === 'bigint' ? String(v) : v)}\n`)
}
