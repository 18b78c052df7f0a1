// The high-availability task assignor (docs/engine.md, "High-availability assignor"), in the
// spirit of Kafka Streams' HighAvailabilityTaskAssignor. Pure and deterministic: the same input
// gives the same assignment on any leader.
//
// Input: every task, which of them are stateful, the sum of each stateful task's changelog end
// offsets, and per client (an instance: its members share a process id and a state directory)
// its capacity (members), what it ran before and the offset sums of the state it holds.
//
// 1. Lag of a client for a task = changelog end offset sum - the client's offset sum (a running
//    active: 0; no state, or state ahead of the changelog — truncated or wiped: the whole end
//    sum). A client is caught up when its lag is at most acceptableRecoveryLag.
// 2. Stateful actives, balanced by capacity (each client gets between cap*q and cap*(q+1) tasks,
//    q = floor(tasks / total capacity): per-member loads differ by at most one), and so within
//    each sub-topology too (a topology with a repartition has two kinds of tasks: balancing the
//    total alone could give one client every task of one kind and another every task of the
//    other), placed in turn:
//      a. a caught-up warm-up takes its active over (the probing rebalance that promotes it);
//      b. a caught-up previous owner keeps its active (tasks still warming up elsewhere last, so
//         they are the ones left over);
//      c. another caught-up client (most state first: a standby), tasks with the fewest
//         caught-up clients first;
//      d. what is left goes to the client with room and the most state. If some other client is
//         caught up, the active stays there (the previous owner first) for now, and the client
//         with room gets a warm-up replica (at most maxWarmupReplicas in the group); the probing
//         rebalance moves the active once the warm-up caught up. If no client is caught up, the
//         task restores wherever it goes, so it goes straight to the client with room.
// 3. Stateless actives fill the clients up to the same balance over all actives (previous owner
//    first), within each sub-topology too.
// 4. numStandbyReplicas standbys per stateful task, each on a different client that holds neither
//    the active nor a warm-up of it, balanced by capacity where possible: previous standbys
//    first, then caught-up clients, then the most state.
// 5. probingRebalanceAtMs = nowMs + probingRebalanceIntervalMs iff there is a warm-up.
import { compareStrings, compareTaskIds, sortTaskIds, type TaskId } from './task-ids.ts'
import { RUNNING_OFFSET_SUM } from './subscription-info.ts'
import { BalancedShares, Shares } from './balanced-shares.ts'

export interface HighAvailabilityConfig {
  /** Standby replicas per stateful task (REWARDS_NUM_STANDBY_REPLICAS). Default 0. */
  readonly numStandbyReplicas: number
  /** A client whose lag on a task is at most this is caught up (it could take the active with a
   *  short restore). Default 10000 records, like Kafka Streams. */
  readonly acceptableRecoveryLag: number
  /** Warm-up replicas in the whole group at once. Default 2. 0 turns warm-ups off: a task moved for
   *  balance then moves at once and restores on its new client. */
  readonly maxWarmupReplicas: number
  /** How long after an assignment with warm-ups to rebalance again (probing). Default 10 min. */
  readonly probingRebalanceIntervalMs: number
}

export const DEFAULT_HIGH_AVAILABILITY_CONFIG: HighAvailabilityConfig = Object.freeze({
  numStandbyReplicas: 0,
  acceptableRecoveryLag: 10_000,
  maxWarmupReplicas: 2,
  probingRebalanceIntervalMs: 10 * 60_000
})

export function resolveHighAvailabilityConfig (input: Partial<HighAvailabilityConfig> = {}): HighAvailabilityConfig {
  const config = { ...DEFAULT_HIGH_AVAILABILITY_CONFIG, ...input }
  for (const [name, value] of Object.entries(config)) {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, not ${value}`)
  }
  if (config.probingRebalanceIntervalMs === 0) throw new RangeError('probingRebalanceIntervalMs must be positive')
  return Object.freeze(config)
}

export interface ClientState {
  /** Members (stream threads) of the client; at least 1. */
  readonly capacity: number
  readonly previousActive: ReadonlySet<TaskId>
  readonly previousStandby: ReadonlySet<TaskId>
  readonly previousWarmup: ReadonlySet<TaskId>
  /** See SubscriptionInfo.taskOffsetSums (RUNNING_OFFSET_SUM for a running active). */
  readonly taskOffsetSums: ReadonlyMap<TaskId, bigint>
}

export interface TaskAssignorInput {
  readonly tasks: readonly TaskId[]
  /** Tasks with changelogged state (a subset of `tasks`); only they get standbys and warm-ups. */
  readonly statefulTasks: ReadonlySet<TaskId>
  /** Per stateful task, the sum of its changelog partitions' end offsets (missing: 0). */
  readonly changelogEndOffsetSums: ReadonlyMap<TaskId, bigint>
  readonly clients: ReadonlyMap<string, ClientState>
  readonly config: HighAvailabilityConfig
  /** The leader's clock, for probingRebalanceAtMs. */
  readonly nowMs: number
}

export interface ClientAssignment {
  readonly active: TaskId[]
  readonly standby: TaskId[]
  readonly warmup: TaskId[]
}

/** An active left on a caught-up client (`from`) beyond its balanced share until `to`, which
 *  has room, catches up; `warmup` says whether `to` warms up now (the group's budget allowing). */
export interface TaskMovement {
  readonly task: TaskId
  readonly from: string
  readonly to: string
  readonly warmup: boolean
}

export interface TaskAssignment {
  readonly clients: ReadonlyMap<string, ClientAssignment>
  readonly movements: readonly TaskMovement[]
  readonly probingRebalanceAtMs: number | null
  /** Stateful task -> client -> lag, as computed in step 1. */
  readonly lags: ReadonlyMap<TaskId, ReadonlyMap<string, bigint>>
}

/** Step 1 for one client and task. */
export function taskLag (client: ClientState, task: TaskId, endOffsetSum: bigint): bigint {
  const sum = client.taskOffsetSums.get(task)
  if (sum === RUNNING_OFFSET_SUM) return 0n
  if (sum === undefined || sum < 0n || sum > endOffsetSum) return endOffsetSum
  return endOffsetSum - sum
}

export function assignTasks (input: TaskAssignorInput): TaskAssignment {
  const { config, clients } = input
  const clientIds = [...clients.keys()].sort(compareStrings)
  const assignment = new Map<string, ClientAssignment>(clientIds.map(id => [id, { active: [], standby: [], warmup: [] }]))
  if (clientIds.length === 0) return { clients: assignment, movements: [], probingRebalanceAtMs: null, lags: new Map() }
  const state = (id: string): ClientState => clients.get(id)!
  const capacity = new Map(clientIds.map(id => [id, Math.max(1, state(id).capacity)]))
  const acceptable = BigInt(config.acceptableRecoveryLag)

  const allTasks = sortTaskIds(new Set(input.tasks))
  const stateful = allTasks.filter(t => input.statefulTasks.has(t))
  const stateless = allTasks.filter(t => !input.statefulTasks.has(t))

  // 1. Lags and caught-up clients.
  const lags = new Map<TaskId, Map<string, bigint>>()
  for (const task of stateful) {
    const end = input.changelogEndOffsetSums.get(task) ?? 0n
    lags.set(task, new Map(clientIds.map(id => [id, taskLag(state(id), task, end)])))
  }
  const lag = (task: TaskId, client: string): bigint => lags.get(task)?.get(client) ?? 0n
  const caughtUp = (task: TaskId, client: string): boolean => lag(task, client) <= acceptable
  const byLag = (task: TaskId) => (a: string, b: string): number => {
    const la = lag(task, a)
    const lb = lag(task, b)
    return la < lb ? -1 : la > lb ? 1 : 0
  }
  const first = <T>(...comparisons: Array<(a: T, b: T) => number>) => (a: T, b: T): number => {
    for (const compare of comparisons) {
      const c = compare(a, b)
      if (c !== 0) return c
    }
    return 0
  }
  const preferring = (predicate: (client: string) => boolean) => (a: string, b: string): number => Number(!predicate(a)) - Number(!predicate(b))

  // 2. Stateful actives.
  const totalShares = new Shares(capacity, stateful.length)
  const shares = new BalancedShares(capacity, stateful, totalShares)
  const desired = new Map<TaskId, string>()
  const active = new Map<TaskId, string>()
  const activeCount = new Map(clientIds.map(id => [id, 0]))
  const warmupOf = new Map<TaskId, string>()
  const movements: TaskMovement[] = []
  const place = (task: TaskId, slot: string, runsOn: string): void => {
    shares.take(slot, task)
    desired.set(task, slot)
    active.set(task, runsOn)
    activeCount.set(runsOn, activeCount.get(runsOn)! + 1)
  }
  const warming = new Set(clientIds.flatMap(id => [...state(id).previousWarmup]))
  const warmingElsewhere = (task: TaskId): boolean => warming.has(task)
  const unplaced = (): TaskId[] => stateful.filter(t => !desired.has(t))

  // a. Caught-up warm-ups are promoted.
  for (const task of stateful) {
    const holder = clientIds.filter(id => state(id).previousWarmup.has(task) && caughtUp(task, id))
      .sort(first(byLag(task), compareStrings)).find(id => shares.canTake(id, task))
    if (holder !== undefined) place(task, holder, holder)
  }
  // b. Caught-up previous owners keep their actives.
  for (const task of unplaced().sort(first(preferring(t => !warmingElsewhere(t)), compareTaskIds))) {
    const owner = clientIds.filter(id => state(id).previousActive.has(task) && caughtUp(task, id))
      .sort(first(byLag(task), compareStrings)).find(id => shares.canTake(id, task))
    if (owner !== undefined) place(task, owner, owner)
  }
  // c. Other caught-up clients with room, most state first.
  const caughtUpCounts = new Map(unplaced().map(t => [t, clientIds.filter(id => caughtUp(t, id)).length]))
  const caughtUpCount = (task: TaskId): number => caughtUpCounts.get(task)!
  for (const task of unplaced().sort(first((a, b) => caughtUpCount(a) - caughtUpCount(b), compareTaskIds))) {
    const client = clientIds.filter(id => caughtUp(task, id) && shares.canTake(id, task))
      .sort(first(byLag(task), preferring(id => state(id).previousStandby.has(task)), shares.compareLoad(task), compareStrings))[0]
    if (client !== undefined) place(task, client, client)
  }
  // d. The rest: a caught-up client keeps it while the client with room warms up, or (no client
  //    caught up, or warm-ups off) it goes to the client with room.
  let warmupsLeft = config.maxWarmupReplicas
  const heldBefore = (task: TaskId) => (id: string): boolean => state(id).previousActive.has(task) || state(id).previousStandby.has(task) || state(id).previousWarmup.has(task)
  for (const task of unplaced().sort(first(preferring(warmingElsewhere), compareTaskIds))) {
    // Room in both shares; else a swap that makes room (below); else (the two balances cannot
    // both be met) in the total share; else anywhere.
    const withRoom = clientIds.filter(id => shares.canTake(id, task))
    if (withRoom.length === 0) {
      const swap = activeSwapForRoom(task)
      if (swap !== undefined) {
        unplace(swap.other)
        placeAt(task, swap.to)
        placeAt(swap.other, swap.otherTo)
        continue
      }
    }
    const withTotalRoom = clientIds.filter(id => totalShares.canTake(id))
    const candidates = withRoom.length > 0 ? withRoom : withTotalRoom.length > 0 ? withTotalRoom : clientIds
    placeAt(task, [...candidates].sort(first(byLag(task), preferring(heldBefore(task)), shares.compareLoad(task), compareStrings))[0]!)
  }
  /** Places a task balanced on `slot`: there if caught up, or with no caught-up client (or
   *  warm-ups off); else on a caught-up keeper while `slot` warms up. */
  function placeAt (task: TaskId, slot: string): void {
    const keeper = config.maxWarmupReplicas === 0
      ? undefined
      : clientIds.filter(id => caughtUp(task, id)).sort(first(
        preferring(id => state(id).previousActive.has(task)), byLag(task), (a, b) => activeCount.get(a)! * capacity.get(b)! - activeCount.get(b)! * capacity.get(a)!, compareStrings))[0]
    // A slot that is itself caught up (reached through the total-share fallback) takes the task
    // now: nothing to warm up.
    if (keeper === undefined || caughtUp(task, slot)) {
      place(task, slot, slot)
      return
    }
    place(task, slot, keeper)
    const warmup = warmupsLeft > 0
    if (warmup) {
      warmupsLeft--
      warmupOf.set(task, slot)
    }
    movements.push({ task, from: keeper, to: slot, warmup })
  }
  function unplace (task: TaskId): void {
    const slot = desired.get(task)!
    shares.untake(slot, task)
    desired.delete(task)
    active.delete(task)
    activeCount.set(slot, activeCount.get(slot)! - 1)
  }
  /** No client has room in both shares for `task` (its sub-topology's room is on clients whose
   *  total is full): find a client `to` with room in the task's sub-topology and a task `other`
   *  of another sub-topology placed there (running where it is balanced: no movement) that a
   *  client `otherTo` has room for once `to` takes `task`. A greedy order reaches this where a
   *  balanced assignment exists; without the swap the total-share fallback would place the task,
   *  and the next assignment of the unchanged group, finding the balanced one, would move it.
   *  Swaps that keep both tasks on caught-up clients come first. */
  function activeSwapForRoom (task: TaskId): { to: string, other: TaskId, otherTo: string } | undefined {
    let best: { to: string, other: TaskId, otherTo: string, cost: number } | undefined
    for (const to of clientIds) {
      if (!shares.canTakeInSubtopology(to, task)) continue
      for (const other of stateful) {
        if (desired.get(other) !== to || active.get(other) !== to || shares.sameSubtopology(other, task)) continue
        shares.untake(to, other)
        let otherTo: string | undefined
        if (shares.canTake(to, task)) {
          shares.take(to, task)
          otherTo = clientIds.filter(id => id !== to && shares.canTake(id, other)).sort(first(byLag(other), compareStrings))[0]
          shares.untake(to, task)
        }
        shares.take(to, other)
        if (otherTo === undefined) continue
        const cost = Number(!caughtUp(task, to)) + Number(!caughtUp(other, otherTo))
        if (best === undefined || cost < best.cost) best = { to, other, otherTo, cost }
        if (cost === 0) return best
      }
    }
    return best
  }

  // 3. Stateless actives, balanced over all actives.
  const allShares = new Shares(capacity, allTasks.length, totalShares.counts())
  const statelessShares = new BalancedShares(capacity, stateless, allShares)
  for (const task of stateless) {
    const withRoom = clientIds.filter(id => statelessShares.canTake(id, task))
    const withTotalRoom = clientIds.filter(id => allShares.canTake(id))
    const candidates = withRoom.length > 0 ? withRoom : withTotalRoom.length > 0 ? withTotalRoom : clientIds
    const client = [...candidates].sort(first(preferring(id => state(id).previousActive.has(task)), statelessShares.compareLoad(task), compareStrings))[0]!
    statelessShares.take(client, task)
    active.set(task, client)
  }

  // 4. Standbys.
  const standbys = new Map<TaskId, string[]>(stateful.map(t => [t, []]))
  const eligible = (task: TaskId, id: string): boolean => active.get(task) !== id && warmupOf.get(task) !== id && !standbys.get(task)!.includes(id)
  const wanted = new Map(stateful.map(t => [t, Math.min(config.numStandbyReplicas, clientIds.filter(id => eligible(t, id)).length)]))
  let totalStandbys = 0
  for (const n of wanted.values()) totalStandbys += n
  const standbyShares = new Shares(capacity, totalStandbys)
  const addStandby = (task: TaskId, id: string): void => {
    standbyShares.take(id)
    standbys.get(task)!.push(id)
  }
  for (const task of stateful) {
    const keep = clientIds.filter(id => state(id).previousStandby.has(task) && eligible(task, id))
      .sort(first(preferring(id => caughtUp(task, id)), byLag(task), compareStrings))
    for (const id of keep) {
      if (standbys.get(task)!.length >= wanted.get(task)!) break
      if (standbyShares.canTake(id)) addStandby(task, id)
    }
  }
  const holds = (task: TaskId, id: string): boolean => !eligible(task, id)
  for (const task of stateful) {
    while (standbys.get(task)!.length < wanted.get(task)!) {
      const candidates = clientIds.filter(c => eligible(task, c))
      const withRoom = candidates.filter(c => standbyShares.canTake(c))
      if (withRoom.length > 0) {
        addStandby(task, withRoom.sort(first(preferring(c => caughtUp(task, c)), byLag(task), preferring(heldBefore(task)), (a, b) => standbyShares.compareLoad(a, b), compareStrings))[0]!)
        continue
      }
      // Every client with room holds this task already: make room with one swap. A standby of
      // another task moves from a client Y that could take this one to a client X with room.
      const swap = swapForRoom(task)
      if (swap !== undefined) {
        const list = standbys.get(swap.other)!
        list[list.indexOf(swap.from)] = swap.to
        standbyShares.take(swap.to) // X gains one; Y keeps its count with this task's standby
        standbys.get(task)!.push(swap.from)
        continue
      }
      // No swap either (the shares cannot be met): a previous standby, else the least-loaded
      // client, beyond its share.
      addStandby(task, candidates.sort(first(preferring(c => state(c).previousStandby.has(task)), (a, b) => standbyShares.compareLoad(a, b), byLag(task), compareStrings))[0]!)
    }
  }
  function swapForRoom (task: TaskId): { other: TaskId, from: string, to: string } | undefined {
    for (const to of clientIds.filter(c => standbyShares.canTake(c))) {
      for (const other of stateful) {
        if (other === task || holds(other, to)) continue
        const from = standbys.get(other)!.filter(y => eligible(task, y)).sort(compareStrings)[0]
        if (from !== undefined) return { other, from, to }
      }
    }
    return undefined
  }

  for (const [task, id] of active) assignment.get(id)!.active.push(task)
  for (const [task, ids] of standbys) for (const id of ids) assignment.get(id)!.standby.push(task)
  for (const [task, id] of warmupOf) assignment.get(id)!.warmup.push(task)
  for (const a of assignment.values()) {
    a.active.sort(compareTaskIds)
    a.standby.sort(compareTaskIds)
    a.warmup.sort(compareTaskIds)
  }
  return {
    clients: assignment,
    movements,
    // 5. Probe again once the warm-ups had time to catch up.
    probingRebalanceAtMs: warmupOf.size > 0 ? input.nowMs + config.probingRebalanceIntervalMs : null,
    lags
  }
}
