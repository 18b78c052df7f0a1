// The stream thread's rebalance callbacks (awaited inside the group consumer's poll()), for both
// rebalance protocols (docs/engine.md "Group protocol and rebalancing"). They hold no task state:
// the task manager (task-manager.ts) decides what happens to each task, the commit coordinator
// (commit-coordinator.ts) commits before anything is given up.
//
// - eager: every partition is revoked before each rebalance. Every running task commits and is
//   suspended (stores open); the assignment then resumes the kept ones without a restore and
//   closes the others. The application is REBALANCING from the revocation on.
// - cooperative (KIP-429): only partitions that move away are revoked, after the assignment that
//   moves them. Under exactly-once one transaction carries every task's work, so every running
//   task commits first (as Kafka Streams does on a revocation), then only the revoked tasks are
//   suspended and closed; the assignment then brings only added partitions, whose tasks are
//   created. The other tasks never stop processing or answering queries, and the application
//   stays RUNNING unless a task restores here.
import type { RebalanceListener, TopicPartition } from '../../log/log-port.ts'
import { decodeAssignmentInfo, type AssignmentInfo } from './assignment/assignment-info.ts'
import type { CommitCoordinator } from './commit-coordinator.ts'
import type { EngineMetrics } from './engine-metrics.ts'
import type { EngineRebalanceProtocol } from './streams-config.ts'
import type { TaskManager } from './task-manager.ts'
import { rtrace } from './rebalance-trace.ts'

export interface ThreadRebalanceListenerOptions {
  readonly protocol: EngineRebalanceProtocol
  readonly commits: Pick<CommitCoordinator, 'commit' | 'settle' | 'idle' | 'transactionOpen' | 'abortAndRewindAll'>
  readonly tasks: () => TaskManager
  readonly metrics: EngineMetrics
  /** Has changelogged stores (only those get warm-ups for an active still being revoked). */
  readonly statefulTask: (task: string) => boolean
  /** The decoded assignment (null: none, or undecodable). */
  readonly onAssignment: (info: AssignmentInfo | null) => void
  readonly onRebalancing: () => void
  readonly onRunning: () => void
  /** Every task was suspended (eager): the loop forgets its back-pressure pauses. */
  readonly onAllSuspended: () => void
}

export class ThreadRebalanceListener implements RebalanceListener {
  readonly #o: ThreadRebalanceListenerOptions
  /** Active tasks revoked since the last assignment (observed per rebalance). */
  #revoked = 0
  /** When the last assignment asks for a probing rebalance (warm-ups to promote), or null. */
  probeAtMs: number | null = null
  #joining = false

  /** Cooperative: this member is rejoining (from its JoinGroup until its assignment). No commit
   *  starts meanwhile, as in Kafka Streams: the group's generation changes under the member when
   *  the join completes, and a transactional offset commit of the old one fails with
   *  ILLEGAL_GENERATION, which would close every task dirty (task migrated). The tasks go on
   *  processing; the revocation's commit, or the first one after the assignment, carries it. */
  get joining (): boolean { return this.#joining }

  /** Called before each JoinGroup (with the subscription): waits for the commit in flight. */
  async beforeJoin (): Promise<void> {
    if (this.#o.protocol !== 'cooperative') return
    this.#joining = true
    rtrace('beforeJoin.idle')
    await this.#o.commits.idle()
    rtrace('beforeJoin.idle.done')
  }

  constructor (options: ThreadRebalanceListenerOptions) {
    this.#o = options
  }

  async onPartitionsRevoked (partitions: TopicPartition[]): Promise<void> {
    const tasks = this.#o.tasks()
    if (this.#o.protocol === 'eager') {
      this.#o.onRebalancing()
      if (tasks.running.size === 0) return
      // Everything is revoked. Commit, then suspend (keep stores open: if the same tasks come
      // back, they resume without a restore).
      const committed = await this.#o.commits.commit()
      this.#revoked += tasks.running.size
      tasks.suspendAll(committed)
      this.#o.onAllSuspended()
      return
    }
    // Only what moves away. A commit of every running task first (one transaction holds them
    // all under exactly-once); a failed commit was recovered from (every task rewound, or closed
    // dirty and rebuilt), and the revoked ones then close dirty.
    rtrace('revoke.commit')
    const committed = tasks.running.size > 0 ? await this.#o.commits.commit() : await this.#o.commits.settle()
    rtrace('revoke.committed', { committed })
    const closed = await tasks.handleRevocation(partitions, committed)
    rtrace('revoke.closed', { closed })
    this.#revoked += closed.length
    this.#o.metrics.activeTasks.set(tasks.running.size)
  }

  async onPartitionsAssigned (partitions: TopicPartition[], userData: Buffer | null): Promise<void> {
    const { metrics, protocol } = this.#o
    this.#joining = false
    metrics.rebalances.inc()
    metrics.rebalanceTasksRevoked.observe({ protocol }, this.#revoked)
    this.#revoked = 0
    let info: AssignmentInfo | null = null
    try {
      if (userData !== null) info = decodeAssignmentInfo(userData)
    } catch {
      info = null // not ours (another version of the leader): actives only, from the partitions
    }
    this.#o.onAssignment(info)
    this.probeAtMs = info?.probingRebalanceAtMs ?? null
    const tasks = this.#o.tasks()
    const replicas = { standby: new Set(info?.standbyTasks ?? []), warmup: new Set(info?.warmupTasks ?? []) }
    if (protocol === 'eager') {
      await tasks.handleAssignment(partitions, replicas)
    } else {
      rtrace('assign.start', { active: info?.activeTasks, standby: info?.standbyTasks, warmup: info?.warmupTasks, probe: info?.probingRebalanceAtMs })
      await tasks.handleIncrementalAssignment(partitions, replicas, info === null ? null : new Set(info.activeTasks), this.#o.statefulTask)
      rtrace('assign.done', { restoring: [...tasks.restoring.keys()] })
    }
    metrics.standbyTasks.set(tasks.standbys.size)
    metrics.activeTasks.set(tasks.running.size)
    if (tasks.restoring.size === 0) this.#o.onRunning()
    else if (protocol === 'cooperative') this.#o.onRebalancing() // a task restores here
  }

  async onPartitionsLost (partitions: TopicPartition[]): Promise<void> {
    rtrace('lost', { n: partitions.length })
    this.#joining = false
    this.#o.onRebalancing()
    const commits = this.#o.commits
    await commits.settle()
    // Exactly-once: the open transaction holds the lost tasks' outputs with the others': abort it,
    // and the others read again from their committed offsets.
    const abort = commits.transactionOpen
    await this.#o.tasks().handleLost(partitions)
    if (abort) await commits.abortAndRewindAll()
    this.#o.metrics.activeTasks.set(this.#o.tasks().running.size)
  }
}
