// Property tests of the high-availability assignor (docs/engine.md, "High-availability assignor")
// on random clusters (cluster-arbitraries.ts): the guarantees of one assignment, stickiness,
// determinism, and that probing rebalances converge to a balanced assignment with no warm-ups.
// PROPERTY_RUNS sets the number of clusters per property (default 300).
import fc from 'fast-check'
import t from 'tap'
import { RUNNING_OFFSET_SUM } from '../../../../topology/runtime/assignment/subscription-info.ts'
import type { TaskAssignment, TaskAssignorInput } from '../../../../topology/runtime/assignment/high-availability-assignor.ts'
import { parseTaskId } from '../../../../topology/runtime/assignment/task-ids.ts'
import { assignTasks, nextInput, randomInput, violations } from './cluster-arbitraries.ts'

const RUNS = Number(process.env.PROPERTY_RUNS ?? 300)
const seeds = fc.integer({ min: 0, max: 0x7fffffff })
const plain = (r: TaskAssignment): unknown => ({ clients: [...r.clients].sort(), movements: r.movements, probing: r.probingRebalanceAtMs })

t.test('every assignment keeps the guarantees', t => {
  fc.assert(fc.property(seeds, seed => {
    const input = randomInput(seed)
    const problems = violations(input, assignTasks(input))
    if (problems.length > 0) throw new Error(`seed ${seed}: ${problems.join('; ')}`)
  }), { numRuns: RUNS })
  t.pass(`${RUNS} random clusters`)
  t.end()
})

t.test('deterministic: the same cluster in another order gives the same assignment', t => {
  fc.assert(fc.property(seeds, seed => {
    const input = randomInput(seed)
    const shuffled: TaskAssignorInput = { ...input, tasks: [...input.tasks].reverse(), clients: new Map([...input.clients].reverse()) }
    t.same(plain(assignTasks(shuffled)), plain(assignTasks(input)))
  }), { numRuns: RUNS })
  t.end()
})

t.test('sticky: an unchanged cluster gets the same assignment again', t => {
  let steady = 0
  fc.assert(fc.property(seeds, seed => {
    const input = randomInput(seed)
    const first = assignTasks(input)
    if (first.movements.length > 0) return // not a steady state: warm-ups still to promote
    steady++
    const again = assignTasks(nextInput(input, first, () => true))
    t.same(plain(again), plain(first), `seed ${seed}`)
    // Seeds that once failed: a greedy order left a task no room in both shares, the total-share
    // fallback placed it, and the next assignment found the balanced layout and moved a task.
  }), { numRuns: RUNS, examples: [[1723646387], [4862279], [47054711], [57539467], [75776924], [115221463], [143603159]] })
  t.ok(steady > RUNS / 4, `${steady} of ${RUNS} clusters were steady after one assignment`)
  t.end()
})

/** Clients whose stateful actives of some sub-topology (an active waiting for a warm-up counted at
 *  its destination) fall outside capacity*q .. capacity*(q+1), q over that sub-topology's tasks. */
function subtopologyImbalance (input: TaskAssignorInput, result: TaskAssignment): string[] {
  const members = [...input.clients.values()].reduce((n, c) => n + c.capacity, 0)
  const bySubtopology = new Map<number, Set<string>>()
  for (const task of input.tasks) {
    if (!input.statefulTasks.has(task)) continue
    const sub = parseTaskId(task)![0]
    bySubtopology.set(sub, (bySubtopology.get(sub) ?? new Set()).add(task))
  }
  const out: string[] = []
  for (const [sub, tasks] of bySubtopology) {
    const q = Math.floor(tasks.size / members)
    for (const [id, client] of input.clients) {
      const n = result.clients.get(id)!.active.filter(x => tasks.has(x)).length -
        result.movements.filter(m => m.from === id && tasks.has(m.task)).length + result.movements.filter(m => m.to === id && tasks.has(m.task)).length
      if (n < client.capacity * q || n > client.capacity * (q + 1)) out.push(`${id} has ${n} of sub-topology ${sub}`)
    }
  }
  return out
}

t.test('balanced within each sub-topology too, but where the two balances cannot both be met', t => {
  // Where a greedy order left no room, the assignor swaps two tasks of different sub-topologies;
  // before it did, about 1 cluster in 130 broke a sub-topology's bound, now about 1 in 300,000.
  let broken = 0
  fc.assert(fc.property(seeds, seed => {
    const input = randomInput(seed)
    if (subtopologyImbalance(input, assignTasks(input)).length > 0) broken++
  }), { numRuns: RUNS })
  t.ok(broken <= 1, `${broken} of ${RUNS} clusters broke a sub-topology's balance`)
  for (const seed of [23770, 641452, 3547725, 4862279, 5448285]) {
    const input = randomInput(seed)
    t.same(subtopologyImbalance(input, assignTasks(input)), [], `seed ${seed} (broke it before the swap)`)
  }
  t.end()
})

t.test('a caught-up previous owner keeps its active unless its balanced share is full', t => {
  let checked = 0
  fc.assert(fc.property(seeds, seed => {
    const input = randomInput(seed)
    const result = assignTasks(input)
    const acceptable = BigInt(input.config.acceptableRecoveryLag)
    for (const task of input.tasks) {
      const owners = [...input.clients].filter(([, c]) => c.previousActive.has(task)).map(([id]) => id)
      if (owners.length !== 1) continue
      const owner = owners[0]!
      const lag = result.lags.get(task)?.get(owner) ?? 0n
      const promoted = [...input.clients].some(([id, c]) => c.previousWarmup.has(task) && (result.lags.get(task)?.get(id) ?? 0n) <= acceptable)
      if (lag > acceptable || promoted) continue
      checked++
      if (result.clients.get(owner)!.active.includes(task)) continue
      // Lost it: another caught-up client has it, within its share, and the owner's share is used.
      const members = [...input.clients.values()].reduce((n, c) => n + c.capacity, 0)
      const stateful = input.tasks.filter(x => input.statefulTasks.has(x)).length
      const total = input.statefulTasks.has(task) ? stateful : input.tasks.length
      const q = Math.floor(total / members)
      const kept = result.clients.get(owner)!.active.filter(x => !input.statefulTasks.has(task) || input.statefulTasks.has(x)).length -
        result.movements.filter(m => m.from === owner).length + result.movements.filter(m => m.to === owner).length
      t.ok(kept >= input.clients.get(owner)!.capacity * q, `seed ${seed}: ${owner} lost ${task} with ${kept} actives`)
      t.notOk(result.movements.some(m => m.task === task), `seed ${seed}: ${task} moved without a movement`)
    }
  }), { numRuns: RUNS })
  t.ok(checked > RUNS, `${checked} caught-up previous owners checked`)
  t.end()
})

t.test('probing rebalances converge: warm-ups catch up, take over, and the assignment ends balanced', t => {
  fc.assert(fc.property(seeds, seed => {
    let input = randomInput(seed)
    if (input.config.maxWarmupReplicas === 0) input = { ...input, config: { ...input.config, maxWarmupReplicas: 1 } }
    let result = assignTasks(input)
    let rounds = 0
    while (result.probingRebalanceAtMs !== null) {
      if (++rounds > input.tasks.length + 2) throw new Error(`seed ${seed}: still probing after ${rounds} rounds`)
      // Between rebalances every warm-up and standby catches up.
      input = { ...nextInput(input, result, () => true), nowMs: result.probingRebalanceAtMs }
      result = assignTasks(input)
      const problems = violations(input, result)
      if (problems.length > 0) throw new Error(`seed ${seed} round ${rounds}: ${problems.join('; ')}`)
    }
    if (result.movements.length > 0) throw new Error(`seed ${seed}: movements left without a probing rebalance`)
  }), { numRuns: RUNS })
  t.pass('converged')
  t.end()
})

t.test('warm-ups appear only when an active stays on a caught-up client off its balanced client', t => {
  fc.assert(fc.property(seeds, seed => {
    const input = randomInput(seed)
    // Everyone caught up on everything: no warm-up, no movement, balanced actives.
    const allCaughtUp: TaskAssignorInput = { ...input, config: { ...input.config, acceptableRecoveryLag: Number.MAX_SAFE_INTEGER } }
    const result = assignTasks(allCaughtUp)
    t.equal(result.movements.length, 0, `seed ${seed}: movements`)
    t.equal(result.probingRebalanceAtMs, null, `seed ${seed}: probing`)
    // Nobody has state: restores wherever the tasks go, so no warm-ups either.
    const fresh: TaskAssignorInput = { ...input, clients: new Map([...input.clients].map(([id, c]) => [id, { ...c, taskOffsetSums: new Map(), previousActive: new Set(), previousStandby: new Set(), previousWarmup: new Set() }])) }
    const freshResult = assignTasks({ ...fresh, changelogEndOffsetSums: new Map([...input.statefulTasks].map(x => [x, 1_000_000n])) })
    t.equal(freshResult.movements.length, 0, `seed ${seed}: fresh movements`)
  }), { numRuns: Math.ceil(RUNS / 3) })
  t.end()
})

t.test('running actives are caught up whatever the lag setting', t => {
  fc.assert(fc.property(seeds, seed => {
    const input = randomInput(seed)
    const result = assignTasks({ ...input, config: { ...input.config, acceptableRecoveryLag: 0 } })
    for (const [id, c] of input.clients) {
      for (const [task, sum] of c.taskOffsetSums) if (sum === RUNNING_OFFSET_SUM) t.equal(result.lags.get(task)?.get(id), 0n)
    }
  }), { numRuns: Math.ceil(RUNS / 3) })
  t.end()
})
