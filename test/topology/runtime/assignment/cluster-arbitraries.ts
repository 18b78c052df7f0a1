// Random clusters for the assignor's property tests: sub-topologies (some stateful), clients with
// capacities, previous roles, offset sums around the changelog ends, and a configuration.
import { RUNNING_OFFSET_SUM } from '../../../../topology/runtime/assignment/subscription-info.ts'
import { assignTasks, type ClientState, type HighAvailabilityConfig, type TaskAssignment, type TaskAssignorInput } from '../../../../topology/runtime/assignment/high-availability-assignor.ts'
import { taskId, type TaskId } from '../../../../topology/runtime/assignment/task-ids.ts'
import { seededRandom } from '../../../chaos/traffic-generator.ts'

/** A seeded PRNG (the chaos tests' mulberry32), so a failing case is one seed. */
export const prng = seededRandom

export function randomInput (seed: number): TaskAssignorInput {
  const random = prng(seed)
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1))
  const tasks: TaskId[] = []
  const statefulTasks = new Set<TaskId>()
  const subs = int(1, 3)
  for (let s = 0; s < subs; s++) {
    const stateful = random() < 0.75
    for (let p = 0, n = int(1, 9); p < n; p++) {
      tasks.push(taskId(s, p))
      if (stateful) statefulTasks.add(taskId(s, p))
    }
  }
  const changelogEndOffsetSums = new Map<TaskId, bigint>()
  for (const t of statefulTasks) changelogEndOffsetSums.set(t, BigInt(random() < 0.1 ? 0 : int(0, 200_000)))
  const clientCount = int(1, 6)
  const clients = new Map<string, ClientState>()
  const ownerOf = new Map<TaskId, string>()
  for (let c = 0; c < clientCount; c++) {
    const id = `client-${String.fromCharCode(97 + int(0, 25))}${c}`
    const previousActive = new Set<TaskId>()
    const previousStandby = new Set<TaskId>()
    const previousWarmup = new Set<TaskId>()
    const taskOffsetSums = new Map<TaskId, bigint>()
    for (const t of tasks) {
      const roll = random()
      // Mostly one previous owner per task, sometimes two (a zombie) or none.
      if (roll < 0.35 && (!ownerOf.has(t) || random() < 0.1)) {
        previousActive.add(t)
        ownerOf.set(t, id)
        if (statefulTasks.has(t)) taskOffsetSums.set(t, random() < 0.8 ? RUNNING_OFFSET_SUM : BigInt(int(0, 200_000)))
      } else if (roll < 0.5 && statefulTasks.has(t)) {
        previousStandby.add(t)
        taskOffsetSums.set(t, BigInt(int(0, 200_000)))
      } else if (roll < 0.55 && statefulTasks.has(t)) {
        previousWarmup.add(t)
        taskOffsetSums.set(t, BigInt(int(0, 200_000)))
      } else if (roll < 0.7 && statefulTasks.has(t)) {
        taskOffsetSums.set(t, BigInt(int(0, 250_000))) // leftover state, possibly ahead of the end
      }
    }
    clients.set(id, { capacity: int(1, 3), previousActive, previousStandby, previousWarmup, taskOffsetSums })
  }
  const config: HighAvailabilityConfig = {
    numStandbyReplicas: int(0, 3),
    acceptableRecoveryLag: [0, 100, 10_000, 50_000][int(0, 3)]!,
    maxWarmupReplicas: int(0, 3),
    probingRebalanceIntervalMs: 600_000
  }
  return { tasks, statefulTasks, changelogEndOffsetSums, clients, config, nowMs: 1_700_000_000_000 + int(0, 1000) }
}

/** The input of the next rebalance when nothing changed but time: every member reports what it
 *  was given; actives run; standbys and warm-ups caught up when `caughtUp` says so (else they
 *  stay where they were). */
export function nextInput (input: TaskAssignorInput, result: TaskAssignment, caughtUp: (client: string, task: TaskId) => boolean): TaskAssignorInput {
  const clients = new Map<string, ClientState>()
  for (const [id, before] of input.clients) {
    const a = result.clients.get(id)!
    const taskOffsetSums = new Map<TaskId, bigint>()
    // An active that moved away closed with a checkpoint at the changelog end.
    for (const [t, sum] of before.taskOffsetSums) taskOffsetSums.set(t, sum === RUNNING_OFFSET_SUM ? input.changelogEndOffsetSums.get(t) ?? 0n : sum)
    for (const t of [...a.standby, ...a.warmup]) {
      const end = input.changelogEndOffsetSums.get(t) ?? 0n
      const had = taskOffsetSums.get(t)
      if (caughtUp(id, t)) taskOffsetSums.set(t, end)
      else if (had === undefined || had > end) taskOffsetSums.set(t, 0n)
    }
    for (const t of a.active) if (input.statefulTasks.has(t)) taskOffsetSums.set(t, RUNNING_OFFSET_SUM)
    clients.set(id, { capacity: before.capacity, previousActive: new Set(a.active), previousStandby: new Set(a.standby), previousWarmup: new Set(a.warmup), taskOffsetSums })
  }
  return { ...input, clients }
}


/** Every guarantee of docs/engine.md "High-availability assignor" that one assignment must
 *  satisfy on its own; returns the violations. */
export function violations (input: TaskAssignorInput, result: TaskAssignment): string[] {
  const out: string[] = []
  const { config } = input
  const ids = [...input.clients.keys()]
  const acceptable = BigInt(config.acceptableRecoveryLag)
  const caughtUp = (t: TaskId, c: string): boolean => !input.statefulTasks.has(t) || (result.lags.get(t)?.get(c) ?? 0n) <= acceptable
  const activeOf = new Map<TaskId, string[]>()
  const warmupOf = new Map<TaskId, string[]>()
  const standbyOf = new Map<TaskId, string[]>()
  for (const [c, a] of result.clients) {
    const roles = new Set<TaskId>()
    for (const t of [...a.active, ...a.standby, ...a.warmup]) {
      if (roles.has(t)) out.push(`${c} holds ${t} twice`)
      roles.add(t)
    }
    for (const [map, list] of [[activeOf, a.active], [warmupOf, a.warmup], [standbyOf, a.standby]] as const) {
      for (const t of list) map.set(t, [...(map.get(t) ?? []), c])
    }
  }
  for (const t of input.tasks) {
    if ((activeOf.get(t) ?? []).length !== 1) out.push(`${t} has ${(activeOf.get(t) ?? []).length} actives`)
    const warm = warmupOf.get(t) ?? []
    const stand = standbyOf.get(t) ?? []
    if (!input.statefulTasks.has(t) && (warm.length > 0 || stand.length > 0)) out.push(`stateless ${t} has replicas`)
    if (warm.length > 1) out.push(`${t} has ${warm.length} warm-ups`)
    if (input.statefulTasks.has(t)) {
      const want = Math.min(config.numStandbyReplicas, ids.length - 1 - warm.length)
      if (stand.length !== want) out.push(`${t} has ${stand.length} standbys, expected ${want}`)
    }
    const active = activeOf.get(t)?.[0]
    for (const w of warm) {
      if (caughtUp(t, w)) out.push(`warm-up of ${t} on caught-up ${w}`)
      if (active === undefined || !caughtUp(t, active)) out.push(`warm-up of ${t} while its active is on a client not caught up`)
    }
    if (config.maxWarmupReplicas > 0 && active !== undefined && !caughtUp(t, active) && ids.some(c => caughtUp(t, c))) out.push(`${t} active on ${active}, not caught up, though a client is`)
  }
  const warmups = [...warmupOf.values()].reduce((n, l) => n + l.length, 0)
  if (warmups > config.maxWarmupReplicas) out.push(`${warmups} warm-ups > ${config.maxWarmupReplicas}`)
  if ((warmups > 0) !== (result.probingRebalanceAtMs !== null)) out.push(`probing ${result.probingRebalanceAtMs} with ${warmups} warm-ups`)
  if (result.probingRebalanceAtMs !== null && result.probingRebalanceAtMs !== input.nowMs + config.probingRebalanceIntervalMs) out.push('probing time is not now + interval')
  // Movements: exactly the actives kept off their balanced client; warm-ups are theirs.
  for (const m of result.movements) {
    if (activeOf.get(m.task)?.[0] !== m.from) out.push(`movement of ${m.task}: active not on ${m.from}`)
    if (!caughtUp(m.task, m.from) || caughtUp(m.task, m.to)) out.push(`movement of ${m.task}: ${m.from} -> ${m.to} caught-up wrong`)
    if (m.warmup !== (warmupOf.get(m.task)?.[0] === m.to)) out.push(`movement of ${m.task}: warm-up flag wrong`)
    if (!m.warmup && warmups < config.maxWarmupReplicas) out.push(`movement of ${m.task} without warm-up though the budget allows one`)
  }
  if (warmups !== result.movements.filter(m => m.warmup).length) out.push('warm-ups without a movement')
  // Balance by capacity, counting a moved active at its destination.
  const cap = (c: string): number => input.clients.get(c)!.capacity
  const members = ids.reduce((n, c) => n + cap(c), 0)
  const stateful = input.tasks.filter(t => input.statefulTasks.has(t))
  const desired = (c: string, onlyStateful: boolean): number => {
    const a = result.clients.get(c)!.active.filter(t => !onlyStateful || input.statefulTasks.has(t)).length
    return a - result.movements.filter(m => m.from === c).length + result.movements.filter(m => m.to === c).length
  }
  for (const [total, onlyStateful] of [[stateful.length, true], [input.tasks.length, false]] as const) {
    const q = Math.floor(total / members)
    for (const c of ids) {
      const n = desired(c, onlyStateful)
      if (n < cap(c) * q || n > cap(c) * (q + 1)) out.push(`${c} (capacity ${cap(c)}) has ${n} ${onlyStateful ? 'stateful ' : ''}actives, share is ${cap(c) * q}..${cap(c) * (q + 1)}`)
    }
  }
  return out
}

export { assignTasks }
