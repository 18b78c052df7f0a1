// The high-availability assignor as the group leader runs it (docs/engine.md, "High-availability
// assignor"): decode every member's subscription, group members into clients by process id,
// run assignTasks(), spread each client's tasks over its members (sticky, balanced), and encode
// each member's AssignmentInfo with the whole group's host map. Not wired in yet: the stream
// thread still uses co-partition-assignor.ts.
//
// Versions: the assignment is written in the lowest version any member supports (Kafka Streams'
// version probing, simplified). A group with a version 1 member (co-partition-assignor.ts) gets
// version 1 assignments and no standbys or warm-ups, as version 1 members cannot run them.
import type { PartitionAssignor, TopicPartition } from '../../../log/log-port.ts'
import { encodeAssignmentInfo, LATEST_ASSIGNMENT_VERSION, type HostTasks } from './assignment-info.ts'
import { assignTasks, type ClientState, type HighAvailabilityConfig, type TaskAssignment } from './high-availability-assignor.ts'
import { decodeSubscriptionInfo, RUNNING_OFFSET_SUM, type SubscriptionInfo } from './subscription-info.ts'
import { compareStrings, compareTaskIds, sortTaskIds, taskId, type TaskId } from './task-ids.ts'

export interface AssignorSubtopology {
  readonly id: number
  readonly sourceTopics: readonly string[]
  /** Has stores with changelogs: its tasks get standbys and warm-ups. */
  readonly stateful: boolean
}

export interface GroupAssignmentInput {
  readonly members: ReadonlyArray<{ readonly memberId: string, readonly userData: Buffer | null }>
  readonly partitionsPerTopic: ReadonlyMap<string, number>
  readonly subtopologies: readonly AssignorSubtopology[]
  readonly changelogEndOffsetSums: ReadonlyMap<TaskId, bigint>
  readonly config: HighAvailabilityConfig
  readonly nowMs: number
}

export interface GroupAssignment {
  /** memberId -> its partitions (those of its active tasks) and encoded AssignmentInfo. */
  readonly members: Map<string, { partitions: TopicPartition[], userData: Buffer }>
  /** memberId -> its tasks. */
  readonly memberTasks: ReadonlyMap<string, { active: TaskId[], standby: TaskId[], warmup: TaskId[] }>
  readonly tasks: TaskAssignment
  readonly version: number
  /** Members whose subscription could not be decoded: they join as clients with no state. */
  readonly undecodable: ReadonlyArray<{ memberId: string, error: string }>
}

export function assignGroup (input: GroupAssignmentInput): GroupAssignment {
  // Tasks: partition p of a sub-topology = partition p of each of its source topics that has it.
  const taskPartitions = new Map<TaskId, TopicPartition[]>()
  const partitionsPerSubtopology = new Map<number, number>()
  const stateful = new Set<TaskId>()
  for (const sub of input.subtopologies) {
    const count = Math.max(0, ...sub.sourceTopics.map(t => input.partitionsPerTopic.get(t) ?? 0))
    partitionsPerSubtopology.set(sub.id, count)
    for (let p = 0; p < count; p++) {
      const id = taskId(sub.id, p)
      taskPartitions.set(id, sub.sourceTopics.filter(t => (input.partitionsPerTopic.get(t) ?? 0) > p).map(topic => ({ topic, partition: p })))
      if (sub.stateful) stateful.add(id)
    }
  }

  const undecodable: Array<{ memberId: string, error: string }> = []
  const subscriptions = new Map<string, SubscriptionInfo>()
  for (const { memberId, userData } of [...input.members].sort((a, b) => compareStrings(a.memberId, b.memberId))) {
    try {
      if (userData === null || userData.length === 0) throw new Error('no subscription userData')
      subscriptions.set(memberId, decodeSubscriptionInfo(userData, memberId))
    } catch (error) {
      undecodable.push({ memberId, error: (error as Error).message })
      subscriptions.set(memberId, { version: LATEST_ASSIGNMENT_VERSION, latestSupportedVersion: LATEST_ASSIGNMENT_VERSION, processId: memberId, endpoint: null, previousActive: [], previousStandby: [], previousWarmup: [], taskOffsetSums: new Map() })
    }
  }
  const version = Math.min(LATEST_ASSIGNMENT_VERSION, ...[...subscriptions.values()].map(s => s.latestSupportedVersion))
  const config: HighAvailabilityConfig = version >= 2 ? input.config : { ...input.config, numStandbyReplicas: 0, maxWarmupReplicas: 0 }

  // Clients: the members of one process id. Tasks of other (stale) topologies are ignored.
  const membersOf = new Map<string, string[]>()
  for (const [memberId, s] of subscriptions) {
    const list = membersOf.get(s.processId)
    if (list === undefined) membersOf.set(s.processId, [memberId])
    else list.push(memberId)
  }
  const clients = new Map<string, ClientState>()
  const endpoints = new Map<string, string | null>()
  for (const [processId, memberIds] of membersOf) {
    const subs = memberIds.map(id => subscriptions.get(id)!)
    const known = (ids: Iterable<TaskId>): Set<TaskId> => new Set([...ids].filter(t => taskPartitions.has(t)))
    const sums = new Map<TaskId, bigint>()
    for (const s of subs) {
      for (const [task, sum] of s.taskOffsetSums) {
        if (!taskPartitions.has(task)) continue
        // Members of one process share its state directory: a running active wins, else the most state.
        const before = sums.get(task)
        if (before === RUNNING_OFFSET_SUM) continue
        if (before === undefined || sum === RUNNING_OFFSET_SUM || sum > before) sums.set(task, sum)
      }
    }
    clients.set(processId, {
      capacity: memberIds.length,
      previousActive: known(subs.flatMap(s => s.previousActive)),
      previousStandby: known(subs.flatMap(s => s.previousStandby)),
      previousWarmup: known(subs.flatMap(s => s.previousWarmup)),
      taskOffsetSums: sums
    })
    endpoints.set(processId, subs.map(s => s.endpoint).find(e => e !== null) ?? null)
  }

  const tasks = assignTasks({
    tasks: [...taskPartitions.keys()],
    statefulTasks: stateful,
    changelogEndOffsetSums: input.changelogEndOffsetSums,
    clients,
    config,
    nowMs: input.nowMs
  })

  // Each client's tasks over its members: a member keeps what it had, within a balanced share.
  const memberTasks = new Map<string, { active: TaskId[], standby: TaskId[], warmup: TaskId[] }>()
  for (const [processId, memberIds] of membersOf) {
    const assigned = tasks.clients.get(processId)!
    for (const id of memberIds) memberTasks.set(id, { active: [], standby: [], warmup: [] })
    for (const role of ['active', 'standby', 'warmup'] as const) {
      const previously = (memberId: string, task: TaskId): boolean => {
        const s = subscriptions.get(memberId)!
        return (role === 'active' ? s.previousActive : role === 'standby' ? s.previousStandby : s.previousWarmup).includes(task)
      }
      const list = assigned[role]
      const q = Math.floor(list.length / memberIds.length)
      let extras = list.length % memberIds.length
      const count = (m: string): number => memberTasks.get(m)![role].length
      const canTake = (m: string): boolean => count(m) < q || (count(m) === q && extras > 0)
      const give = (m: string, task: TaskId): void => {
        if (count(m) >= q) extras--
        memberTasks.get(m)![role].push(task)
      }
      const left: TaskId[] = []
      for (const task of list) {
        const keeper = memberIds.find(m => previously(m, task) && canTake(m))
        if (keeper === undefined) left.push(task)
        else give(keeper, task)
      }
      for (const task of left) {
        const m = memberIds.filter(canTake).sort((a, b) => count(a) - count(b) || compareStrings(a, b))[0] ?? memberIds[0]!
        give(m, task)
      }
    }
    for (const id of memberIds) {
      const t = memberTasks.get(id)!
      t.active.sort(compareTaskIds)
      t.standby.sort(compareTaskIds)
      t.warmup.sort(compareTaskIds)
    }
  }

  // The group's host map (instances sharing an endpoint are merged).
  const hostLists = new Map<string, { active: TaskId[], standby: TaskId[], warmup: TaskId[] }>()
  for (const [processId, endpoint] of endpoints) {
    if (endpoint === null) continue
    let entry = hostLists.get(endpoint)
    if (entry === undefined) hostLists.set(endpoint, entry = { active: [], standby: [], warmup: [] })
    const assigned = tasks.clients.get(processId)!
    entry.active.push(...assigned.active)
    entry.standby.push(...assigned.standby)
    entry.warmup.push(...assigned.warmup)
  }
  const hosts = new Map<string, HostTasks>([...hostLists].map(([h, t]) => [h, { active: sortTaskIds(t.active), standby: sortTaskIds(t.standby), warmup: sortTaskIds(t.warmup) }]))

  const members = new Map<string, { partitions: TopicPartition[], userData: Buffer }>()
  for (const [memberId, t] of memberTasks) {
    members.set(memberId, {
      partitions: t.active.flatMap(task => taskPartitions.get(task)!),
      userData: encodeAssignmentInfo({
        activeTasks: t.active,
        standbyTasks: t.standby,
        warmupTasks: t.warmup,
        partitionsPerSubtopology,
        hosts,
        probingRebalanceAtMs: tasks.probingRebalanceAtMs
      }, version)
    })
  }
  return { members, memberTasks, tasks, version, undecodable }
}

/** assignGroup() as the log's PartitionAssignor. The assignor runs synchronously inside the
 *  group protocol, so the changelog end offsets are read before the join (`endOffsetSums`). */
export function highAvailabilityPartitionAssignor (options: {
  readonly subtopologies: readonly AssignorSubtopology[]
  readonly config: HighAvailabilityConfig
  readonly endOffsetSums: () => ReadonlyMap<TaskId, bigint>
  readonly now?: () => number
  readonly onAssignment?: (assignment: GroupAssignment) => void
}): PartitionAssignor {
  return ({ members, partitionsPerTopic }) => {
    const result = assignGroup({
      members,
      partitionsPerTopic,
      subtopologies: options.subtopologies,
      changelogEndOffsetSums: options.endOffsetSums(),
      config: options.config,
      nowMs: (options.now ?? Date.now)()
    })
    options.onAssignment?.(result)
    return new Map([...result.members].map(([id, m]) => [id, { partitions: m.partitions, userData: m.userData }]))
  }
}
