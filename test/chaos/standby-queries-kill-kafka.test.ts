// Balance queries through a kill -9, answered by standby copies (docs/api.md "Answers from
// standby replicas"): two full platform processes (`rewards start --role all`, one standby per
// task) on the real broker, a client querying balances of random members on the live instances
// continuously (bench/lib/balance-prober.ts), and the process group of one instance SIGKILLed.
// Until the group expels the dead instance (its session timeout, 10 s), the survivor answers the
// dead instance's members from its standby copies, at lag 0 and exact: no 503 then. Every 200 of
// the whole run equals the reference model; the 503 window that is left (the rebalance after the
// session timeout) is measured and printed.
import t from 'tap'
import { startBalanceQueryCluster } from './balance-query-cluster.ts'

const PARTITIONS = 4
const MEMBERS = 2000
/** The engine's default session timeout: until then the group still names the dead owner. */
const SESSION_TIMEOUT_MS = 10_000
/** The group consumer heartbeats every min(3 s, timeout / 3): the broker counts the timeout from
 *  the dead member's last heartbeat, up to this long before the kill, so it may expel it (and the
 *  rebalance begin) this much earlier than kill + timeout (seen: 503s from +8.5 s). */
const HEARTBEAT_MS = 3_000

t.test('kill -9 of one of two platform processes: the standby answers, never a wrong balance', async t => {
  const { supervisor, heartbeat, prober } = await startBalanceQueryCluster(t, { name: 'sbq', partitions: PARTITIONS, members: MEMBERS, instances: 2 })

  const t0 = Date.now()
  await supervisor.kill(1)
  let resumed = heartbeat.firstAfter(t0)
  while ([...resumed.values()].some(v => v === null) && Date.now() - t0 < 180_000) {
    await new Promise(resolve => setTimeout(resolve, 200))
    resumed = heartbeat.firstAfter(t0)
  }
  const t1 = Date.now()
  await prober.stop()
  const beforeExpulsion = prober.window(t0, t0 + SESSION_TIMEOUT_MS - HEARTBEAT_MS - 500)
  const whole = prober.window(t0, t1)
  t.comment(`kill -9: ${whole.answers} answers, ${whole.standby} served by a standby, non-200 ${JSON.stringify(whole.byStatus)}, some member got a 503 during ${whole.seconds503.toFixed(1)} s` +
    (whole.firstMs === null ? '' : ` (from +${(whole.firstMs / 1000).toFixed(1)} s to +${(whole.lastMs! / 1000).toFixed(1)} s)`) +
    `; every partition processed again after ${(Math.max(...[...resumed.values()].map(v => v ?? t1 - t0)) / 1000).toFixed(1)} s`)
  t.same(prober.wrong.map(w => `${w.memberId} ${w.status} ${w.body}`), [], `no wrong answer in ${prober.answers.length}`)
  t.ok(beforeExpulsion.standby > 0, `answers served by the standby before the session timeout (${beforeExpulsion.standby})`)
  t.equal(whole.standbyBehind, 0, 'every standby answer at lag 0 (bound 0)')
  t.same(beforeExpulsion.byStatus, {}, `no 503 before the session timeout (${beforeExpulsion.answers} answers)`)
  t.same(supervisor.unexpectedExits, [], 'no process exited on its own')
})
