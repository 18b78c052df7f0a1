// The high-availability assignor (assignment/high-availability-assignor.ts) under cooperative
// rebalancing, as the engine runs it (docs/engine.md "Group protocol and rebalancing"): a task
// that changes owner is withheld for one round (log/cooperative-assignment.ts), its owner
// revokes it (checkpoint at the changelog end: lag 0) and the follow-up round assigns again. The
// new owner runs the withheld active as a warm-up meanwhile and reports it so; with that, the
// follow-up round's target is the first round's, on random groups: the two rounds converge and
// the task lands where the first round wanted it.
import t from 'tap'
import { assignTasks, resolveHighAvailabilityConfig, type ClientState, type TaskAssignment } from '../../../../topology/runtime/assignment/high-availability-assignor.ts'
import { RUNNING_OFFSET_SUM } from '../../../../topology/runtime/assignment/subscription-info.ts'

const END = 100_000n

interface Client {
  active: Set<string>
  standby: Map<string, bigint> // task -> offset sum held
  warmup: Map<string, bigint>
  checkpoints: Map<string, bigint> // closed tasks' checkpoints
}

function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 }
}

function stateOf (c: Client): ClientState {
  const sums = new Map(c.checkpoints)
  for (const [task, sum] of [...c.standby, ...c.warmup]) sums.set(task, sum)
  for (const task of c.active) sums.set(task, RUNNING_OFFSET_SUM)
  return { capacity: 1, previousActive: new Set(c.active), previousStandby: new Set(c.standby.keys()), previousWarmup: new Set(c.warmup.keys()), taskOffsetSums: sums }
}

/** One cooperative round: returns the assignor's target and whether anything was revoked. */
function round (clients: Map<string, Client>, tasks: string[], pendingAsWarmup: boolean, config = resolveHighAvailabilityConfig({ numStandbyReplicas: 1, maxWarmupReplicas: 2 })): { target: TaskAssignment, revoked: number } {
  const target = assignTasks({
    tasks,
    statefulTasks: new Set(tasks),
    changelogEndOffsetSums: new Map(tasks.map(task => [task, END])),
    clients: new Map([...clients].map(([id, c]) => [id, stateOf(c)])),
    config,
    nowMs: 0
  })
  const ownerOf = new Map<string, string>()
  for (const [id, c] of clients) for (const task of c.active) ownerOf.set(task, id)
  let revoked = 0
  // Owners revoke what the target gives to someone else (checkpoint at the changelog end).
  for (const [id, c] of clients) {
    for (const task of [...c.active]) {
      if (!target.clients.get(id)!.active.includes(task)) { c.active.delete(task); c.checkpoints.set(task, END); revoked++ }
    }
  }
  for (const [id, c] of clients) {
    const wanted = target.clients.get(id)!
    const held = (task: string): bigint => c.standby.get(task) ?? c.warmup.get(task) ?? c.checkpoints.get(task) ?? 0n
    const pending: string[] = []
    for (const task of wanted.active) {
      const owner = ownerOf.get(task)
      if (owner === undefined || owner === id) c.active.add(task) // free (or kept): assigned now (restores)
      else pending.push(task) // withheld this round
    }
    const standby = new Map(wanted.standby.filter(task => !c.active.has(task)).map(task => [task, held(task)]))
    const warmup = new Map([...wanted.warmup, ...(pendingAsWarmup ? pending : [])].filter(task => !c.active.has(task)).map(task => [task, held(task)]))
    for (const task of [...c.standby.keys(), ...c.warmup.keys()]) if (!standby.has(task) && !warmup.has(task)) c.checkpoints.set(task, held(task))
    c.standby = standby
    c.warmup = warmup
  }
  return { target, revoked }
}

/** Replicas catch up (the changelogs do not move in this model). */
function catchUp (clients: Map<string, Client>, lagged: (task: string) => bigint): void {
  for (const c of clients.values()) {
    for (const m of [c.standby, c.warmup]) for (const task of m.keys()) m.set(task, END - lagged(task))
  }
}

const activesOf = (a: TaskAssignment): string => [...a.clients].map(([id, c]) => `${id}:${c.active.join(',')}`).join(' ')
const owned = (clients: Map<string, Client>): string => [...clients].map(([id, c]) => `${id}:${[...c.active].sort().join(',')}`).join(' ')

function scenario (seed: number, pendingAsWarmup: boolean): { converged: boolean, detail: string } {
  const random = rng(seed)
  const taskCount = 2 + Math.floor(random() * 10)
  const tasks = Array.from({ length: taskCount }, (_, i) => `0_${i}`)
  const ids = ['a', 'b', 'c', 'd'].slice(0, 2 + Math.floor(random() * 3))
  const clients = new Map<string, Client>()
  for (const id of ids) clients.set(id, { active: new Set(), standby: new Map(), warmup: new Map(), checkpoints: new Map() })
  // Start: the first client (or a random spread) runs everything; others hold random state.
  for (const task of tasks) clients.get(random() < 0.6 ? ids[0]! : ids[Math.floor(random() * ids.length)]!)!.active.add(task)
  for (const [id, c] of clients) for (const task of tasks) if (![...clients.values()].some(o => o.active.has(task) && o === c) && random() < 0.3) c.checkpoints.set(task, END - BigInt(Math.floor(random() * 30_000)) - (id === 'a' ? 0n : 1n))
  // Rounds until no revocation (a few probing rebalances with replicas catching up in between).
  for (let probe = 0; probe < 6; probe++) {
    const first = round(clients, tasks, pendingAsWarmup)
    if (first.revoked > 0) {
      const follow = round(clients, tasks, pendingAsWarmup)
      const want = activesOf(first.target)
      if (owned(clients) !== want.split(' ').map(s => { const [id, list] = s.split(':'); return `${id}:${list!.split(',').filter(Boolean).sort().join(',')}` }).join(' ')) {
        return { converged: false, detail: `seed ${seed}: first round wanted ${want}, after the follow-up round ${owned(clients)} (follow-up revoked ${follow.revoked})` }
      }
    }
    catchUp(clients, () => BigInt(Math.floor(random() * 2)) * 5_000n)
  }
  return { converged: true, detail: '' }
}

t.test('the follow-up round lands every moved task where the first round wanted it', async t => {
  const failures: string[] = []
  for (let seed = 1; seed <= 400; seed++) {
    const outcome = scenario(seed, true)
    if (!outcome.converged) failures.push(outcome.detail)
  }
  t.same(failures.slice(0, 5), [], `400 random groups: ${failures.length} did not converge`)
  // Without the warm-up report the old owner (checkpointed at the end, lag 0) can win a task back.
  let diverged = 0
  for (let seed = 1; seed <= 400; seed++) if (!scenario(seed, false).converged) diverged++
  t.comment(`without reporting withheld actives as warm-ups: ${diverged} of 400 groups did not converge`)
})
