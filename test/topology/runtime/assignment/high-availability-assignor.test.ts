// The high-availability assignor on hand-written clusters (docs/engine.md, "High-availability
// assignor"): scale-out with warm-ups and their promotion, fail-over to a standby, a cold start,
// the acceptable-lag boundary, state ahead of the changelog, and config validation.
import t from 'tap'
import {
  assignTasks, resolveHighAvailabilityConfig, taskLag, type ClientState, type HighAvailabilityConfig, type TaskAssignorInput
} from '../../../../topology/runtime/assignment/high-availability-assignor.ts'
import { RUNNING_OFFSET_SUM } from '../../../../topology/runtime/assignment/subscription-info.ts'
import { nextInput, violations } from './cluster-arbitraries.ts'

const NOW = 1_000_000
const tasks = (n: number): string[] => Array.from({ length: n }, (_, p) => `0_${p}`)
const client = (opts: Partial<ClientState> & { running?: string[], sums?: Record<string, bigint> } = {}): ClientState => ({
  capacity: opts.capacity ?? 1,
  previousActive: opts.previousActive ?? new Set(opts.running ?? []),
  previousStandby: opts.previousStandby ?? new Set(),
  previousWarmup: opts.previousWarmup ?? new Set(),
  taskOffsetSums: opts.taskOffsetSums ?? new Map<string, bigint>([
    ...(opts.running ?? []).map(id => [id, RUNNING_OFFSET_SUM] as [string, bigint]),
    ...Object.entries(opts.sums ?? {})
  ])
})
const input = (n: number, clients: Record<string, ClientState>, config: Partial<HighAvailabilityConfig> = {}, end = 100_000n): TaskAssignorInput => ({
  tasks: tasks(n),
  statefulTasks: new Set(tasks(n)),
  changelogEndOffsetSums: new Map(tasks(n).map(id => [id, end])),
  clients: new Map(Object.entries(clients)),
  config: resolveHighAvailabilityConfig(config),
  nowMs: NOW
})

t.test('scale-out: the new instance warms up two tasks, then takes them over after the probing rebalance', t => {
  let i = input(6, { a: client({ running: ['0_0', '0_1', '0_2'] }), b: client({ running: ['0_3', '0_4', '0_5'] }), c: client() })
  let r = assignTasks(i)
  t.same(violations(i, r), [])
  // Nothing moves yet: every active stays on its caught-up owner.
  t.same(r.clients.get('a')!.active, ['0_0', '0_1', '0_2'])
  t.same(r.clients.get('b')!.active, ['0_3', '0_4', '0_5'])
  t.same(r.clients.get('c'), { active: [], standby: [], warmup: ['0_2', '0_5'] })
  t.equal(r.probingRebalanceAtMs, NOW + 600_000)
  t.same(r.movements.map(m => `${m.task}:${m.from}->${m.to}`), ['0_2:a->c', '0_5:b->c'])

  // The probing rebalance before the warm-ups caught up changes nothing.
  const early = assignTasks(nextInput(i, r, () => false))
  t.same([...early.clients], [...r.clients])

  // Once caught up, they take the actives over: balanced, no warm-up, no more probing.
  i = nextInput(i, r, () => true)
  r = assignTasks(i)
  t.same(violations(i, r), [])
  t.same(r.clients.get('a')!.active, ['0_0', '0_1'])
  t.same(r.clients.get('b')!.active, ['0_3', '0_4'])
  t.same(r.clients.get('c')!.active, ['0_2', '0_5'])
  t.equal(r.probingRebalanceAtMs, null)
  t.end()
})

t.test('scale-out with one warm-up at a time takes one probing rebalance per task', t => {
  let i = input(8, { a: client({ running: tasks(8) }), b: client() }, { maxWarmupReplicas: 1 })
  let rounds = 0
  let r = assignTasks(i)
  while (r.probingRebalanceAtMs !== null) {
    t.equal(r.clients.get('b')!.warmup.length, 1, `round ${rounds}: one warm-up`)
    i = nextInput(i, r, () => true)
    r = assignTasks(i)
    rounds++
  }
  t.equal(rounds, 4)
  t.equal(r.clients.get('a')!.active.length, 4)
  t.equal(r.clients.get('b')!.active.length, 4)
  t.end()
})

t.test('warm-ups off: tasks move for balance at once', t => {
  const i = input(4, { a: client({ running: tasks(4) }), b: client() }, { maxWarmupReplicas: 0 })
  const r = assignTasks(i)
  t.same(r.clients.get('a')!.active, ['0_0', '0_1'])
  t.same(r.clients.get('b')!.active, ['0_2', '0_3'])
  t.equal(r.probingRebalanceAtMs, null)
  t.same(r.movements, [])
  t.end()
})

t.test('fail-over: the standby of a lost instance takes its active, no warm-up needed', t => {
  // a ran 0_0 and 0_1 with standbys on b and c; a is gone.
  const i = input(3, {
    b: client({ running: ['0_2'], previousStandby: new Set(['0_0']), sums: { '0_0': 99_990n } }),
    c: client({ previousStandby: new Set(['0_1']), sums: { '0_1': 100_000n } })
  }, { numStandbyReplicas: 1 })
  const r = assignTasks(i)
  t.same(violations(i, r), [])
  t.same(r.clients.get('b')!.active, ['0_0', '0_2'])
  t.same(r.clients.get('c')!.active, ['0_1'])
  t.equal(r.probingRebalanceAtMs, null)
  // Every task has its standby on the other client.
  t.same(r.clients.get('c')!.standby, ['0_0', '0_2'])
  t.same(r.clients.get('b')!.standby, ['0_1'])
  t.end()
})

t.test('cold start: nobody has state, tasks are balanced with no warm-ups', t => {
  const i = input(7, { a: client(), b: client({ capacity: 2 }), c: client() }, { numStandbyReplicas: 1 })
  const r = assignTasks(i)
  t.same(violations(i, r), [])
  const counts = [...r.clients].map(([id, a]) => [id, a.active.length] as const)
  // 7 tasks over 4 members: q = 1, r = 3; b has two members.
  for (const [id, n] of counts) t.ok(id === 'b' ? n >= 2 && n <= 4 : n >= 1 && n <= 2, `${id} has ${n}`)
  t.equal(r.probingRebalanceAtMs, null)
  t.same(r.movements, [])
  t.end()
})

t.test('no caught-up client: the previous owner, restoring, keeps its task', t => {
  const i = input(2, { a: client({ previousActive: new Set(['0_0']), sums: { '0_0': 40_000n } }), b: client({ sums: { '0_0': 10_000n } }) })
  const r = assignTasks(i)
  t.same(r.clients.get('a')!.active, ['0_0'])
  t.same(r.movements, [])
  t.end()
})

t.test('acceptableRecoveryLag: a lag equal to it is caught up, one more is not', t => {
  const run = (sum: bigint) => assignTasks(input(2, { a: client({ running: ['0_0', '0_1'] }), b: client({ sums: { '0_1': sum } }) }, { acceptableRecoveryLag: 500 }))
  const caught = run(99_500n)
  t.same(caught.clients.get('b')!.active, ['0_1'], 'lag 500: b takes the task it is caught up on')
  t.same(caught.movements, [])
  const behind = run(99_499n)
  t.same(behind.clients.get('a')!.active, ['0_0', '0_1'], 'lag 501: a keeps it')
  t.same(behind.clients.get('b')!.warmup, ['0_1'])
  t.end()
})

t.test('lags: running is 0; no state or state ahead of the changelog is the whole changelog', t => {
  const c = client({ running: ['0_0'], sums: { '0_1': 70n, '0_2': 500n } })
  t.equal(taskLag(c, '0_0', 100n), 0n)
  t.equal(taskLag(c, '0_1', 100n), 30n)
  t.equal(taskLag(c, '0_2', 100n), 100n)
  t.equal(taskLag(c, '0_3', 100n), 100n)
  t.end()
})

t.test('stateless tasks: no standbys or warm-ups, balanced over all actives', t => {
  const i: TaskAssignorInput = { ...input(4, { a: client({ running: ['0_0', '0_1'] }), b: client({ running: ['0_2', '0_3'] }) }, { numStandbyReplicas: 1 }), tasks: [...tasks(4), '1_0', '1_1'] }
  const r = assignTasks(i)
  t.same(violations(i, r), [])
  t.equal(r.clients.get('a')!.active.length, 3)
  t.equal(r.clients.get('b')!.active.length, 3)
  t.notOk([...r.clients.values()].some(a => a.standby.some(x => x.startsWith('1_'))))
  t.end()
})

t.test('config: defaults and validation', t => {
  t.same(resolveHighAvailabilityConfig(), { numStandbyReplicas: 0, acceptableRecoveryLag: 10_000, maxWarmupReplicas: 2, probingRebalanceIntervalMs: 600_000 })
  t.throws(() => resolveHighAvailabilityConfig({ numStandbyReplicas: -1 }), RangeError)
  t.throws(() => resolveHighAvailabilityConfig({ maxWarmupReplicas: 1.5 }), RangeError)
  t.throws(() => resolveHighAvailabilityConfig({ probingRebalanceIntervalMs: 0 }), RangeError)
  t.same(assignTasks({ ...input(2, {}), clients: new Map() }).clients, new Map())
  t.end()
})

t.test('two sub-topologies: each is balanced over the clients, not only the total', t => {
  // A topology with a repartition: 4 tasks of sub-topology 0 and 4 of sub-topology 1, all running
  // on `a`; `b` joins. Balancing the total alone let `a` keep 0_* and hand 1_* over: every
  // member's ledger on one instance. Each client must end with two tasks of each.
  const all = [...tasks(4), '1_0', '1_1', '1_2', '1_3']
  const twoSubtopologies = (clients: Record<string, ClientState>): TaskAssignorInput => ({
    tasks: all,
    statefulTasks: new Set(all),
    changelogEndOffsetSums: new Map(all.map(id => [id, 100_000n])),
    clients: new Map(Object.entries(clients)),
    config: resolveHighAvailabilityConfig({ maxWarmupReplicas: 0 }),
    nowMs: NOW
  })
  const i = twoSubtopologies({ a: client({ running: all }), b: client() })
  const r = assignTasks(i)
  t.same(violations(i, r), [])
  const bySubtopology = (id: string): string[] => r.clients.get(id)!.active.map(task => task.split('_')[0]!)
  t.same(bySubtopology('a').filter(s => s === '0').length, 2, 'a runs two tasks of sub-topology 0')
  t.same(bySubtopology('a').filter(s => s === '1').length, 2, 'a runs two tasks of sub-topology 1')
  t.same(bySubtopology('b').filter(s => s === '0').length, 2, 'b runs two tasks of sub-topology 0')
  t.same(bySubtopology('b').filter(s => s === '1').length, 2, 'b runs two tasks of sub-topology 1')
  // Sticky within that balance: what stays on `a` is what it ran.
  for (const task of r.clients.get('a')!.active) t.ok(all.includes(task))
  t.end()
})
