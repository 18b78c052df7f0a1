// The stream thread's rebalance callbacks (thread-rebalance-listener.ts) with a fake task manager
// and commit coordinator (docs/engine.md "Group protocol and rebalancing"): cooperative revokes
// commit every task first and close only the revoked ones, without moving the application to
// REBALANCING; an assignment that restores a task does; a join waits for the commit in flight and
// no commit starts until the assignment; eager suspends everything; the revoked-tasks histogram
// sees each protocol's count.
import t from 'tap'
import { Registry } from 'prom-client'
import type { TopicPartition } from '../../../log/log-port.ts'
import { EngineMetrics } from '../../../topology/runtime/engine-metrics.ts'
import type { TaskManager } from '../../../topology/runtime/task-manager.ts'
import { ThreadRebalanceListener } from '../../../topology/runtime/thread-rebalance-listener.ts'
import type { EngineRebalanceProtocol } from '../../../topology/runtime/streams-config.ts'

const tp = (partition: number): TopicPartition => ({ topic: 'in', partition })

function setup (protocol: EngineRebalanceProtocol) {
  const calls: string[] = []
  let finishCommit: () => void = () => {}
  const commits = {
    transactionOpen: false,
    async commit (): Promise<boolean> { calls.push('commit'); return true },
    async settle (): Promise<boolean> { calls.push('settle'); return true },
    async idle (): Promise<void> { calls.push('idle'); await new Promise<void>(resolve => { finishCommit = resolve }) },
    async abortAndRewindAll (): Promise<void> { calls.push('abortAndRewindAll') }
  }
  const running = new Map([['0_0', {}], ['0_1', {}], ['0_2', {}]])
  const restoring = new Map<string, unknown>()
  const tasks = {
    running,
    restoring,
    standbys: new Map(),
    async handleRevocation (partitions: TopicPartition[], committed: boolean): Promise<string[]> {
      calls.push(`handleRevocation ${partitions.map(p => p.partition).join(',')} ${committed}`)
      for (const p of partitions) running.delete(`0_${p.partition}`)
      return partitions.map(p => `0_${p.partition}`)
    },
    async handleIncrementalAssignment (added: TopicPartition[], _r: unknown, assigned: ReadonlySet<string> | null): Promise<void> {
      calls.push(`handleIncrementalAssignment ${added.map(p => p.partition).join(',')} ${assigned === null ? 'null' : [...assigned].join(',')}`)
      for (const p of added) restoring.set(`0_${p.partition}`, {})
    },
    suspendAll (committed: boolean): void { calls.push(`suspendAll ${committed}`); running.clear() },
    async handleAssignment (partitions: TopicPartition[]): Promise<void> { calls.push(`handleAssignment ${partitions.map(p => p.partition).join(',')}`) },
    async handleLost (): Promise<void> { calls.push('handleLost') }
  }
  const registry = new Registry()
  const listener = new ThreadRebalanceListener({
    protocol,
    commits,
    tasks: () => tasks as unknown as TaskManager,
    metrics: new EngineMetrics(registry),
    statefulTask: () => true,
    onAssignment: () => {},
    onRebalancing: () => calls.push('onRebalancing'),
    onRunning: () => calls.push('onRunning'),
    onAllSuspended: () => calls.push('onAllSuspended')
  })
  const revokedHistogram = async (): Promise<{ count: number, sum: number }> => {
    const values = (await registry.getSingleMetric('streams_rebalance_tasks_revoked')!.get()).values as Array<{ metricName?: string, value: number }>
    return { count: values.find(v => v.metricName?.endsWith('_count'))?.value ?? 0, sum: values.find(v => v.metricName?.endsWith('_sum'))?.value ?? 0 }
  }
  return { listener, calls, running, restoring, finishCommit: () => finishCommit(), revokedHistogram }
}

t.test('cooperative: revocation commits every task, closes only the revoked, stays RUNNING', async t => {
  const { listener, calls, running, restoring, revokedHistogram } = setup('cooperative')
  await listener.onPartitionsRevoked([tp(1)])
  t.same(calls, ['commit', 'handleRevocation 1 true'], 'commit first, then only the revoked task; no REBALANCING')
  t.same([...running.keys()], ['0_0', '0_2'])
  calls.length = 0
  await listener.onPartitionsAssigned([], null)
  t.same(calls, ['handleIncrementalAssignment  null', 'onRunning'], 'nothing restores: RUNNING')
  t.same(await revokedHistogram(), { count: 1, sum: 1 }, 'one rebalance, one task revoked')
  calls.length = 0
  await listener.onPartitionsAssigned([tp(5)], null)
  t.same(calls, ['handleIncrementalAssignment 5 null', 'onRebalancing'], 'a task restores here: REBALANCING until it is restored')
  t.ok(restoring.has('0_5'))
})

t.test('cooperative: a join waits for the commit in flight; no commit starts until the assignment', async t => {
  const { listener, calls, finishCommit } = setup('cooperative')
  t.equal(listener.joining, false)
  let joined = false
  const join = listener.beforeJoin().then(() => { joined = true })
  await new Promise(resolve => setImmediate(resolve))
  t.equal(listener.joining, true, 'joining from the subscription on')
  t.equal(joined, false, 'the join waits for the commit in flight')
  finishCommit()
  await join
  t.ok(calls.includes('idle'))
  await listener.onPartitionsAssigned([], null)
  t.equal(listener.joining, false, 'commits resume with the assignment')
  const lost = listener.beforeJoin()
  finishCommit()
  await lost
  await listener.onPartitionsLost([tp(0)])
  t.equal(listener.joining, false, 'or when the partitions are lost')
})

t.test('eager: everything suspends, REBALANCING at the revocation', async t => {
  const { listener, calls, revokedHistogram } = setup('eager')
  await listener.beforeJoin()
  t.equal(listener.joining, false, 'eager commits before it rejoins: nothing to hold')
  await listener.onPartitionsRevoked([tp(0), tp(1), tp(2)])
  t.same(calls, ['onRebalancing', 'commit', 'suspendAll true', 'onAllSuspended'])
  await listener.onPartitionsAssigned([tp(0)], null)
  t.same(await revokedHistogram(), { count: 1, sum: 3 }, 'eager revokes every task')
})
