// Balance queries through a rolling restart (issue 17; docs/engine.md "Interactive queries",
// reads during a task's move): two full platform processes (`rewards start --role all`, one
// standby per task) on the real broker, a client querying balances of random members on the live
// instances continuously (bench/lib/balance-prober.ts), and each instance in turn SIGTERMed,
// started again and ready again. A moving task answers from its standby copy, then from its new
// active while that restores the delta, and a query that falls in a move's gap tries again: no
// 503 at all, and every 200 equals the reference model. The longest pause of processing on a
// partition is printed.
import t from 'tap'
import { startBalanceQueryCluster } from './balance-query-cluster.ts'

const PARTITIONS = 4
const MEMBERS = 1000
const INSTANCES = 2
/** After an instance is ready again, before the next one stops (its standbys catch up). */
const SETTLE_MS = 3000

t.test('rolling SIGTERM of two platform processes: no 503, never a wrong balance', async t => {
  const { supervisor, heartbeat, prober } = await startBalanceQueryCluster(t, { name: 'roll', partitions: PARTITIONS, members: MEMBERS, instances: INSTANCES })
  await new Promise(resolve => setTimeout(resolve, SETTLE_MS))

  const t0 = Date.now()
  for (let i = 0; i < INSTANCES; i++) {
    const instance = supervisor.instances[i]!
    instance.killing = true // an expected exit: the supervisor must not restart it on its own
    instance.cli!.child.kill('SIGTERM')
    await instance.cli!.waitForExit(120_000)
    supervisor.start(i)
    await supervisor.waitReady(i, 300_000)
    await new Promise(resolve => setTimeout(resolve, SETTLE_MS))
  }
  const t1 = Date.now()
  await prober.stop()
  const whole = prober.window(t0, t1)
  const pauses = heartbeat.maxGaps(t0, t1)
  t.comment(`rolling restart of ${INSTANCES}: ${whole.answers} answers, ${whole.standby} served by a standby, non-200 ${JSON.stringify(whole.byStatus)}, ` +
    `p99 ${whole.p99Ms.toFixed(0)} ms; longest pause of processing on a partition ${(Math.max(...pauses.values()) / 1000).toFixed(1)} s`)
  t.same(prober.wrong.map(w => `${w.memberId} ${w.status} ${w.body}`), [], `no wrong answer in ${prober.answers.length}`)
  t.same(whole.byStatus, {}, `no 503 (nor any other non-200) in ${whole.answers} answers`)
  for (const f of prober.failures.slice(0, 10)) t.comment(`non-200 at +${f.atMs - t0} ms from ${f.url}: ${f.status} ${f.body}`)
  t.equal(whole.standbyBehind, 0, 'every standby answer at lag 0 (bound 0)')
  t.ok(whole.answers > 100, 'queries went on throughout')
  t.same(supervisor.unexpectedExits, [], 'no process exited on its own')
})
