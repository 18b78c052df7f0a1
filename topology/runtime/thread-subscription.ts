// What a stream thread tells the group leader at each join (docs/engine.md "Standby tasks", "What
// a member tells the leader"): its process id and endpoint, the tasks it holds as active, standby
// and warm-up, and per task the sum of the changelog offsets its stores hold. Also reads the
// changelog end offsets, which the thread's assignor uses if this member leads (the assignor is
// synchronous). Cooperative protocol: running actives keep running through the join and count as
// caught up; an active still being revoked by its owner runs here as a warm-up meanwhile
// (task-manager.ts handleIncrementalAssignment), which is what makes the follow-up assignment
// hand it over here.
import type { LogAdmin, TopicPartition } from '../../log/log-port.ts'
import type { StateDirectory } from '../../stores/state-directory.ts'
import type { Subtopology, Topology } from '../topology.ts'
import { encodeSubscriptionInfo, RUNNING_OFFSET_SUM } from './assignment/subscription-info.ts'
import { changelogEndOffsetSums, checkpointedOffsetSums, sumOffsets } from './assignment/task-offsets.ts'
import type { TaskId } from './assignment/task-ids.ts'
import type { ChangelogReader } from './changelog-reader.ts'
import { changelogTopicName } from './task-names.ts'
import type { StreamsConfig } from './streams-config.ts'
import type { TaskManager } from './task-manager.ts'
import { rtrace } from './rebalance-trace.ts'

export interface ThreadSubscriptionOptions {
  readonly config: StreamsConfig
  readonly topology: Topology
  readonly subtopologies: readonly Subtopology[]
  readonly partitionsPerSubtopology?: ReadonlyMap<number, number> | undefined
  readonly admin: Pick<LogAdmin, 'listOffsets'>
  readonly stateDirectory: StateDirectory
  readonly instanceId: string
}

export class ThreadSubscription {
  readonly #o: ThreadSubscriptionOptions
  /** Changelog partitions of every stateful task (partition p of each changelogged store). */
  readonly changelogs: ReadonlyMap<TaskId, TopicPartition[]>
  /** Changelog end offset sums read before the last join (the leader's assignor uses them). */
  endOffsetSums: ReadonlyMap<TaskId, bigint> = new Map()
  readonly #statefulSubtopologies = new Set<number>()

  constructor (options: ThreadSubscriptionOptions) {
    this.#o = options
    const { config, topology, subtopologies, partitionsPerSubtopology } = options
    const changelogs = new Map<TaskId, TopicPartition[]>()
    for (const sub of subtopologies) {
      const stores = sub.stores.filter(name => topology.storeDefinition(name)?.changelog === true)
      const partitions = partitionsPerSubtopology?.get(sub.id) ?? 0
      if (stores.length === 0) continue
      this.#statefulSubtopologies.add(sub.id)
      for (let p = 0; p < partitions; p++) changelogs.set(`${sub.id}_${p}`, stores.map(store => ({ topic: changelogTopicName(config.applicationId, store), partition: p })))
    }
    this.changelogs = changelogs
  }

  /** Whether a task (`<subtopology>_<partition>`) has changelogged stores. */
  stateful (task: string): boolean {
    return this.#statefulSubtopologies.has(Number(task.split('_')[0]))
  }

  /** The subscription's user data as of now. */
  async build (tasks: TaskManager | undefined, restorer: ChangelogReader | undefined, standbyRestorer: ChangelogReader | undefined): Promise<Buffer> {
    const { config, admin, stateDirectory, instanceId } = this.#o
    try {
      rtrace('subscription.ends')
      this.endOffsetSums = await changelogEndOffsetSums(admin, this.changelogs)
      rtrace('subscription.ends.done')
    } catch {
      // The previous ones (lags are estimates; a stale end only makes a client look closer).
    }
    const sums = checkpointedOffsetSums(stateDirectory)
    const previousActive: string[] = []
    const previousStandby: string[] = []
    const previousWarmup: string[] = []
    if (tasks !== undefined) {
      // Running (cooperative) or just suspended (eager): stores open and caught up.
      for (const name of [...tasks.running.keys(), ...tasks.suspended.keys()]) { previousActive.push(name); sums.set(name, RUNNING_OFFSET_SUM) }
      for (const name of tasks.restoring.keys()) { previousActive.push(name); sums.set(name, sumOffsets(restorer?.positions(name) ?? [])) }
      for (const [name, standby] of tasks.standbys) {
        ;(standby.warmup ? previousWarmup : previousStandby).push(name)
        sums.set(name, sumOffsets(standbyRestorer?.positions(name) ?? []))
      }
      // Actives given here whose owner still revokes them, with no copy open here: warm-ups at
      // their checkpoint (the sums above), so the follow-up round hands them over here
      // (task-manager.ts handleIncrementalAssignment).
      // Standbys and warm-ups assigned and not opened yet (the loop opens them once no active
      // restores): their checkpoint stands for them, as above.
      for (const [name, warmup] of tasks.pendingStandbys) if (!tasks.standbys.has(name)) (warmup ? previousWarmup : previousStandby).push(name)
      for (const name of tasks.pendingActives) {
        if (!tasks.standbys.has(name) && !tasks.running.has(name) && !tasks.restoring.has(name) && !tasks.suspended.has(name)) previousWarmup.push(name)
      }
    }
    for (const task of [...sums.keys()]) if (!this.changelogs.has(task) && sums.get(task) !== RUNNING_OFFSET_SUM) sums.delete(task)
    return encodeSubscriptionInfo({ processId: instanceId, endpoint: config.applicationServer, previousActive, previousStandby, previousWarmup, taskOffsetSums: sums })
  }
}
