// The engine's partition assignor. A task is (sub-topology, partition): it must own partition p
// of every source topic of its sub-topology (co-partitioning), so the assignor hands out tasks,
// not partitions. Tasks stay with their previous owner while that keeps the load balanced
// (fewer restores), and the leader tells every member the whole task -> host map, which is what
// interactive queries use to find a key's owner.
import type { PartitionAssignor, TopicPartition } from '../../log/log-port.ts'

export interface MemberSubscription {
  /** host:port of the member's API listener, or null if it serves no queries. */
  readonly host: string | null
  /** Tasks the member owned before this rebalance ("<sub>_<partition>"). */
  readonly previousTasks: string[]
}

export interface AssignmentInfo {
  readonly version: 1
  /** Task -> host:port (null when the owner has no listener). */
  readonly owners: Record<string, string | null>
  /** Partitions per sub-topology at assignment time. */
  readonly partitions: Record<string, number>
}

export function encodeSubscription (s: MemberSubscription): Buffer {
  return Buffer.from(JSON.stringify(s))
}

export function decodeSubscription (data: Buffer | null): MemberSubscription {
  if (!data || data.length === 0) return { host: null, previousTasks: [] }
  try {
    const parsed = JSON.parse(data.toString('utf8')) as Partial<MemberSubscription>
    return { host: parsed.host ?? null, previousTasks: Array.isArray(parsed.previousTasks) ? parsed.previousTasks : [] }
  } catch {
    return { host: null, previousTasks: [] }
  }
}

export function decodeAssignmentInfo (data: Buffer | null): AssignmentInfo | null {
  if (!data || data.length === 0) return null
  try {
    return JSON.parse(data.toString('utf8')) as AssignmentInfo
  } catch {
    return null
  }
}

/** `subtopologies[i]` lists the source topics of sub-topology i. */
export function coPartitionAssignor (subtopologies: ReadonlyArray<ReadonlyArray<string>>): PartitionAssignor {
  return ({ members, partitionsPerTopic }) => {
    const tasks: Array<{ id: string, partitions: TopicPartition[] }> = []
    const partitionCounts: Record<string, number> = {}
    subtopologies.forEach((topics, sub) => {
      const count = Math.max(0, ...topics.map(t => partitionsPerTopic.get(t) ?? 0))
      partitionCounts[String(sub)] = count
      for (let p = 0; p < count; p++) {
        tasks.push({ id: `${sub}_${p}`, partitions: topics.filter(t => (partitionsPerTopic.get(t) ?? 0) > p).map(topic => ({ topic, partition: p })) })
      }
    })
    const memberIds = members.map(m => m.memberId).sort()
    const subs = new Map(members.map(m => [m.memberId, decodeSubscription(m.userData)]))
    const capacity = Math.ceil(tasks.length / Math.max(1, memberIds.length))
    const owned = new Map<string, string[]>(memberIds.map(id => [id, []]))
    const owner = new Map<string, string>()
    // 1. Stickiness: keep a task where it was, up to the balanced capacity.
    for (const task of tasks) {
      for (const id of memberIds) {
        if (subs.get(id)!.previousTasks.includes(task.id) && owned.get(id)!.length < capacity) {
          owned.get(id)!.push(task.id)
          owner.set(task.id, id)
          break
        }
      }
    }
    // 2. The rest to the least-loaded member (ties: member id order), so loads differ by <= 1.
    for (const task of tasks) {
      if (owner.has(task.id)) continue
      let best = memberIds[0]!
      for (const id of memberIds) if (owned.get(id)!.length < owned.get(best)!.length) best = id
      owned.get(best)!.push(task.id)
      owner.set(task.id, best)
    }
    const info: AssignmentInfo = {
      version: 1,
      owners: Object.fromEntries(tasks.map(t => [t.id, subs.get(owner.get(t.id)!)!.host])),
      partitions: partitionCounts
    }
    const userData = Buffer.from(JSON.stringify(info))
    const byId = new Map(tasks.map(t => [t.id, t]))
    const result = new Map<string, { partitions: TopicPartition[], userData: Buffer | null }>()
    for (const id of memberIds) {
      result.set(id, { partitions: owned.get(id)!.flatMap(taskId => byId.get(taskId)!.partitions), userData })
    }
    return result
  }
}
