// Where a key's state lives, from a decoded AssignmentInfo (docs/engine.md, "High-availability
// assignor"): the active host of the key's task and the hosts with a replica of it (standbys,
// then warm-ups), in the spirit of Kafka Streams' KeyQueryMetadata. Pure: lags are filled in by
// the caller (each host knows its own, see withLags()).
import { partitionForKey } from '../../../log/murmur2-partitioner.ts'
import type { AssignmentInfo } from './assignment-info.ts'
import { compareStrings, taskId, type TaskId } from './task-ids.ts'

export interface ReplicaHost {
  readonly host: string
  /** A warm-up (placed to take the active over later) rather than a hot standby. */
  readonly warmup: boolean
}

export interface TaskHosts {
  readonly subtopology: number
  readonly partition: number
  readonly task: TaskId
  /** host:port of the active, or null when its instance has no endpoint or nobody runs it. */
  readonly activeHost: string | null
  /** Standbys first, then warm-ups; each by host. */
  readonly standbyHosts: readonly ReplicaHost[]
}

export class QueryMetadata {
  readonly #partitions: ReadonlyMap<number, number>
  readonly #active = new Map<TaskId, string>()
  readonly #replicas = new Map<TaskId, ReplicaHost[]>()
  readonly #hosts: readonly string[]

  constructor (info: Pick<AssignmentInfo, 'partitionsPerSubtopology' | 'hosts'>) {
    this.#partitions = info.partitionsPerSubtopology
    this.#hosts = [...info.hosts.keys()].sort(compareStrings)
    for (const host of this.#hosts) {
      const tasks = info.hosts.get(host)!
      for (const id of tasks.active) this.#active.set(id, host)
      for (const [ids, warmup] of [[tasks.standby, false], [tasks.warmup, true]] as const) {
        for (const id of ids) {
          let list = this.#replicas.get(id)
          if (list === undefined) this.#replicas.set(id, list = [])
          list.push({ host, warmup })
        }
      }
    }
    for (const list of this.#replicas.values()) list.sort((a, b) => Number(a.warmup) - Number(b.warmup) || compareStrings(a.host, b.host))
  }

  /** Every endpoint in the group (for lookups that ask every instance). */
  allHosts (): readonly string[] {
    return this.#hosts
  }

  /** Partitions of the sub-topology, or null when the assignment does not know it. */
  partitions (subtopology: number): number | null {
    return this.#partitions.get(subtopology) ?? null
  }

  forPartition (subtopology: number, partition: number): TaskHosts | null {
    const partitions = this.partitions(subtopology)
    if (partitions === null || !Number.isInteger(partition) || partition < 0 || partition >= partitions) return null
    const task = taskId(subtopology, partition)
    return { subtopology, partition, task, activeHost: this.#active.get(task) ?? null, standbyHosts: this.#replicas.get(task) ?? [] }
  }

  /** The hosts of the task a serialized key belongs to (murmur2, like the producers). */
  forKey (subtopology: number, serializedKey: Uint8Array): TaskHosts | null {
    const partitions = this.partitions(subtopology)
    if (partitions === null || partitions === 0) return null
    return this.forPartition(subtopology, partitionForKey(serializedKey, partitions))
  }
}

export interface HostLag {
  readonly host: string
  /** Records the host's stores are behind the changelog end, or null when unknown. */
  readonly lag: bigint | null
}

export interface TaskHostsWithLag extends Omit<TaskHosts, 'standbyHosts'> {
  readonly activeLag: bigint | null
  readonly standbyHosts: ReadonlyArray<ReplicaHost & { readonly lag: bigint | null }>
}

/** Fills in lags with `lagOf(host, task)` (e.g. from each instance's restore/standby progress). */
export function withLags (hosts: TaskHosts, lagOf: (host: string, task: TaskId) => bigint | null): TaskHostsWithLag {
  return {
    ...hosts,
    activeLag: hosts.activeHost === null ? null : lagOf(hosts.activeHost, hosts.task),
    standbyHosts: hosts.standbyHosts.map(r => ({ ...r, lag: lagOf(r.host, hosts.task) }))
  }
}
