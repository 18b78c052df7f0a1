// The processing loop of one instance (Kafka Streams' StreamThread): poll the group consumer,
// give restoring tasks one restore step, feed and process the running tasks by event time,
// punctuate, commit when due. The thread holds only the loop and its own start and stop; the
// tasks and their lifecycle are the task manager's (task-manager.ts), restores the changelog
// reader's (changelog-reader.ts), commits and their recovery the commit coordinator's
// (commit-coordinator.ts) (docs/engine.md "Architecture: loop, task manager, changelog reader").
// Rebalance callbacks run inside poll() (thread-rebalance-listener.ts), cooperative by default:
// only tasks that move away are revoked, the others keep processing. The group's assignor is the
// high-availability one (assignment/group-assignor.ts): each join sends what this instance holds
// (thread-subscription.ts), each assignment brings standby and warm-up tasks, kept current by a
// second changelog reader in standby mode (standby-upkeep.ts checkpoints them and samples lags).
import type { GroupConsumer, PartitionReader } from '../../log/log-port.ts'
import { ThreadCache } from '../../stores/thread-cache.ts'
import { activeTaskCreator } from './active-task-creator.ts'
import { ChangelogReader } from './changelog-reader.ts'
import { CommitCoordinator, topicsWritten, type CommitFailure } from './commit-coordinator.ts'
import { RepartitionPurger } from './repartition-purger.ts'
import { highAvailabilityPartitionAssignor } from './assignment/group-assignor.ts'
import { resolveHighAvailabilityConfig } from './assignment/high-availability-assignor.ts'
import { standbyTaskCreator } from './standby-task-creator.ts'
import { StandbyUpkeep } from './standby-upkeep.ts'
import { ThreadRebalanceListener } from './thread-rebalance-listener.ts'
import { ThreadSubscription } from './thread-subscription.ts'
import { handleSerializationFailure } from './commit-recovery.ts'
import { partitionKey } from './partition-group.ts'
import { failOnProductionException } from './production-exception-handler.ts'
import { readableCopy } from './readable-copies.ts'
import { RestoreProgressTracker } from './restore-progress.ts'
import { TaskManager, type ActiveTask, type TaskRestored } from './task-manager.ts'
import { rtrace } from './rebalance-trace.ts'
import { mark } from '../../lib/tracing/engine-timeline.ts'
import type { TaskStateManager } from './task-state-manager.ts'
import { ConsumerLagSampler } from './consumer-lag-sampler.ts'
import { ThreadInputFeed } from './thread-input-feed.ts'
import type { StandbyCopy, StandbyTaskInfo, StreamThreadOptions } from './stream-thread-types.ts'

export type { ActiveTask, CommitFailure, TaskRestored }
// Imported from here by the application, standby queries and tests.
export type { StandbyCopy, StandbyTaskInfo } from './stream-thread-types.ts'

const PROCESS_BATCH = 500
const TIME_CHECK_EVERY = 50
/** The longest poll wait while a commit is in flight and work waits for the next one (ms). */
const COMMIT_WATCH_MS = 5
/** Deferred standbys opening at one time (they open in the background; each finished open starts
 *  the next). An open is mostly fsyncs (RocksDB's MANIFEST, CURRENT, OPTIONS, directory), not CPU:
 *  56 stores opened at once took 0.2-0.4 s where a cold start's 14 tasks, four at a time, took
 *  1-1.6 s (docs/benchmarks.md "Cold start, sixth pass (branch coldstart5)"). An assignment
 *  waits only for the opens of the tasks it moves or drops (TaskManager.standbysOpened). */
const STANDBY_OPENS_AT_ONCE = 16
const NO_TASKS: ReadonlyMap<string, ActiveTask> = new Map()

/** Heartbeat interval of the stream thread's group consumer (capped at a third of the session
 *  timeout): a rebalance reaches every member within it. */
export const STREAMS_HEARTBEAT_INTERVAL_MS = 250

export class StreamThread {
  readonly #o: StreamThreadOptions
  readonly #commits: CommitCoordinator
  readonly #purger: RepartitionPurger
  #tasks: TaskManager | undefined
  #restoreProgress: RestoreProgressTracker | undefined
  /** Polled records into the tasks' buffers, and back-pressure (thread-input-feed.ts). */
  readonly #input: ThreadInputFeed
  #consumer: GroupConsumer | undefined
  #reader: PartitionReader | undefined
  #standbyReader: PartitionReader | undefined
  #restorer: ChangelogReader | undefined
  #standbyRestorer: ChangelogReader | undefined
  readonly #subscription: ThreadSubscription
  readonly #rebalance: ThreadRebalanceListener
  readonly #standbyUpkeep: StandbyUpkeep
  #running = false
  #loop: Promise<void> | undefined
  #alive = false
  readonly #lag: ConsumerLagSampler
  /** One cache budget for every store of this thread's tasks (stores/thread-cache.ts). */
  readonly #cache: ThreadCache

  constructor (options: StreamThreadOptions) {
    this.#o = options
    this.#cache = new ThreadCache({ maxBytes: options.config.cacheMaxBytes })
    this.#input = new ThreadInputFeed(() => this.#tasks!, () => this.#consumer!, options.metrics, options.config.bufferedRecordsPerPartition)
    this.#lag = new ConsumerLagSampler(options.log.admin, options.metrics, options.clock)
    this.#purger = new RepartitionPurger({
      intervalMs: options.config.repartitionPurgeIntervalMs,
      clock: options.clock,
      isRepartitionTopic: topic => options.topology.isInternalTopic(topic),
      deleteRecords: async offsets => await options.log.admin.deleteRecords(offsets),
      onPurged: ({ ok, offsets, error }) => {
        options.metrics.repartitionPurges.inc({ result: ok ? 'ok' : 'failed' })
        if (!ok) this.#commits.emit({ event: 'repartition.purge-failed', partitions: offsets.map(partitionKey), error })
      }
    })
    this.#commits = new CommitCoordinator({
      onCommitted: offsets => { this.#purger.committed(offsets) },
      config: options.config,
      log: options.log,
      instanceId: options.instanceId,
      metrics: options.metrics,
      clock: options.clock,
      consumer: () => this.#consumer!,
      tasks: () => this.#tasks!,
      ...(options.onCommitFailed ? { onCommitFailed: options.onCommitFailed } : {}),
      ...(options.onRecovery ? { onRecovery: options.onRecovery } : {}),
      ...(options.productionExceptionHandler ? { productionExceptionHandler: options.productionExceptionHandler } : {})
    })
    this.#subscription = new ThreadSubscription({ ...options, admin: options.log.admin })
    this.#rebalance = new ThreadRebalanceListener({
      protocol: options.config.rebalanceProtocol,
      commits: this.#commits,
      tasks: () => this.#tasks!,
      metrics: options.metrics,
      statefulTask: task => this.#subscription.stateful(task),
      onAssignment: options.onAssignment,
      onRebalancing: options.onRebalancing,
      onRunning: options.onRunning,
      onAllSuspended: () => { this.#input.clear() }
    })
    this.#standbyUpkeep = new StandbyUpkeep({ tasks: () => this.#tasks, reader: () => this.#standbyRestorer!, metrics: options.metrics, ...(options.onStandbyProgress ? { onCatchUp: options.onStandbyProgress } : {}) })
  }

  /** Running and restoring tasks (a restoring task's stores answer queries with STORE_NOT_READY). */
  get activeTasks (): ReadonlyMap<string, ActiveTask> { return this.#tasks?.activeTasks ?? NO_TASKS }
  /** Standby and warm-up tasks of this thread. */
  standbyTasks (): StandbyTaskInfo[] {
    const out: StandbyTaskInfo[] = []
    for (const [name, standby] of this.#tasks?.standbys ?? []) {
      out.push({ task: name, warmup: standby.warmup, offsets: this.#standbyRestorer?.positions(name) ?? [], lag: this.#standbyRestorer?.lag(name) ?? 0 })
    }
    return out
  }

  /** A standby or warm-up task's stores and the changelog offsets written to them, for reads
   *  from standbys (topology/standby-queries.ts); undefined when this thread has no such task. */
  standbyCopy (task: string): StandbyCopy | undefined {
    // Also a restoring active's stores: same kind of copy (topology/runtime/readable-copies.ts).
    return readableCopy({ tasks: this.#tasks, standbyReader: this.#standbyRestorer, restorer: this.#restorer }, task)
  }

  /** Settles when `task`'s standby here, handing over to its active here, has that active
   *  (restoring); undefined when no hand-over is under way. */
  copyPending (task: string): Promise<void> | undefined { return this.#tasks?.handover(task) }

  /** The stores of `task`'s running active here, if any. */
  runningState (task: string): TaskStateManager | undefined { return this.#tasks?.running.get(task)?.state }

  /** Started and its loop not yet ended (by stop() or by dying). */
  get alive (): boolean { return this.#alive }

  async start (onFatal: (error: unknown) => void): Promise<void> {
    const { config, log, instanceId, metrics } = this.#o
    await this.#commits.open()
    this.#commits.prepare(topicsWritten(this.#o.topology, this.#o.subtopologies, config.applicationId))
    this.#reader = log.createPartitionReader({ clientId: `${config.applicationId}-${instanceId}-restore` })
    const progress = this.#restoreProgress = new RestoreProgressTracker({
      ...(this.#o.onRestoreProgress ? { report: this.#o.onRestoreProgress } : {})
    })
    const restorer = this.#restorer = new ChangelogReader({
      admin: log.admin,
      reader: this.#reader,
      onProgress: p => {
        const delta = progress.update(p)
        metrics.stores.restored(p.owner, p.store, delta, p.remaining)
      }
    })
    this.#standbyReader = log.createPartitionReader({ clientId: `${config.applicationId}-${instanceId}-standby` })
    const standbyRestorer = this.#standbyRestorer = new ChangelogReader({ admin: log.admin, reader: this.#standbyReader, standby: true, onProgress: p => { this.#standbyUpkeep.progress(p) } })
    const { topology } = this.#o
    const haConfig = resolveHighAvailabilityConfig({
      numStandbyReplicas: config.numStandbyReplicas,
      acceptableRecoveryLag: config.acceptableRecoveryLag,
      maxWarmupReplicas: config.maxWarmupReplicas,
      probingRebalanceIntervalMs: config.probingRebalanceIntervalMs
    })
    const consumer = this.#consumer = log.createGroupConsumer({
      groupId: config.applicationId,
      clientId: `${config.applicationId}-${instanceId}`,
      topics: this.#o.subtopologies.flatMap(s => s.sourceTopics),
      listener: this.#rebalance,
      rebalanceProtocol: config.rebalanceProtocol,
      userData: async () => {
        await this.#rebalance.beforeJoin()
        return await this.#subscription.build(this.#tasks, this.#restorer, this.#standbyRestorer)
      },
      assignor: highAvailabilityPartitionAssignor({
        subtopologies: this.#o.subtopologies.map(s => ({ id: s.id, sourceTopics: s.sourceTopics, stateful: s.stores.some(name => topology.storeDefinition(name)?.changelog === true) })),
        config: haConfig,
        endOffsetSums: () => this.#subscription.endOffsetSums,
        now: this.#o.clock
      }),
      sessionTimeoutMs: config.sessionTimeoutMs,
      rebalanceTimeoutMs: Math.max(60_000, config.sessionTimeoutMs),
      // Members learn of a rebalance from a heartbeat: every move waits for the slowest one's
      // (docs/engine.md "Group protocol and rebalancing", rolling restarts).
      heartbeatIntervalMs: STREAMS_HEARTBEAT_INTERVAL_MS,
      maxPollRecords: config.bufferedRecordsPerPartition * 4
    })
    const onTaskRestored = this.#o.onTaskRestored
    this.#tasks = new TaskManager({
      applicationId: config.applicationId,
      subtopologies: this.#o.subtopologies,
      admin: log.admin,
      consumer,
      restorer,
      createTask: activeTaskCreator({ config, topology: this.#o.topology, stateDirectory: this.#o.stateDirectory, exactlyOnce: this.#commits.exactlyOnce, clock: this.#o.clock, consumer, cache: this.#cache, ...(this.#o.globalStores ? { globalStores: this.#o.globalStores } : {}) }),
      onRestoreStep: restoring => progress.maybeReport(restoring),
      onRestoreEnded: task => progress.forget(task),
      onTaskRestored: restored => {
        metrics.taskRestoreDuration.observe(restored.durationMs / 1000)
        onTaskRestored?.(restored)
      },
      onTaskClosed: task => metrics.stores.removeTask(task),
      onTaskSuspended: task => metrics.tasksSuspended.inc({ task }),
      createStandby: standbyTaskCreator({ config, topology, stateDirectory: this.#o.stateDirectory, exactlyOnce: this.#commits.exactlyOnce }),
      standbyReader: standbyRestorer,
      onStandbyClosed: task => metrics.standbyLag.remove({ task }),
      deferStandbys: true
    })
    this.#running = true
    metrics.threadsAlive.inc()
    this.#alive = true
    this.#loop = this.#run().catch(onFatal)
  }

  /** Graceful: finish the current iteration, commit, checkpoint, close stores, leave the group. */
  async stop (): Promise<void> {
    this.#running = false
    await this.#loop
  }

  async #run (): Promise<void> {
    let failed = true
    try {
      while (this.#running) await this.#iteration()
      failed = false
    } finally {
      try {
        await this.#shutdown(!failed)
      } finally {
        this.#alive = false
        this.#o.metrics.threadsAlive.dec()
      }
    }
  }

  async #iteration (): Promise<void> {
    const commits = this.#commits
    const tasks = this.#tasks!
    // A background commit that ended: a failure is recovered from before anything else.
    if (commits.inflightFinished) { const t = performance.now(); await commits.settle(); mark('thread.settle', t) }
    const consumer = this.#consumer!
    // Restoring tasks advance by one bounded fetch per iteration, between polls (the group
    // consumer keeps polling: rebalances and running tasks go on during a long restore).
    if (tasks.restoring.size > 0) await this.#restoreStep()
    // Standbys an assignment added start opening here, in the background, a few at a time, also
    // while actives restore: a cold start's standbys waited for the actives' restore and then
    // opened two at a time, most of its catch-up time (docs/engine.md "Standby tasks").
    if (tasks.pendingStandbys.size > 0) {
      await tasks.createPendingStandbys(STANDBY_OPENS_AT_ONCE)
      this.#o.metrics.standbyTasks.set(tasks.standbys.size)
    }
    // Standbys apply what their background fetch brought, if it returned (never waits).
    if (tasks.standbys.size > 0) {
      await tasks.standbyStep()
      this.#standbyUpkeep.maintain(this.#o.clock())
    }
    const probeAtMs = this.#rebalance.probeAtMs
    if (probeAtMs !== null && this.#o.clock() >= probeAtMs) {
      // Probing rebalance: caught-up warm-ups take their actives over (docs/engine.md "Standby tasks").
      this.#rebalance.probeAtMs = null
      this.#consumer!.requestRejoin()
    }
    // Poll without waiting when a task can process now; otherwise wait for records, at most until
    // the earliest idle deadline (an empty, caught-up partition stops holding its task back).
    const now = this.#o.clock()
    let waitMs = tasks.restoring.size > 0 ? 0 : this.#o.config.pollMs
    // Work waits for the commit in flight: look again soon, so that the next commit begins as
    // soon as it ends instead of after a whole poll wait (the input's last records waited up to
    // two poll waits for their commit, docs/benchmarks.md "sixth pass"). While records flow the
    // next commit still begins one iteration after the previous one ended: settling it at once
    // made more, smaller commits (a RocksDB fsync per store each) for no gain ("fourth pass").
    if (commits.inflight && !commits.inflightFinished && this.#commitNeeded()) waitMs = Math.min(waitMs, COMMIT_WATCH_MS)
    // Work to commit and no commit in flight: wait at most until the next commit is due, so that
    // it begins on time rather than up to a poll wait late (the input's last records waited up to
    // pollMs for their commit after the interval had passed, docs/benchmarks.md "branch engine7").
    else if (waitMs > 0 && !commits.inflight && !this.#rebalance.joining && this.#commitNeeded()) waitMs = Math.max(1, Math.min(waitMs, commits.lastCommitMs + this.#o.config.commitIntervalMs - now))
    for (const { task } of tasks.running.values()) {
      if (task.bufferedRecords === 0) continue
      if (task.ready(now)) { waitMs = 0; break }
      const deadline = task.idleDeadlineMs()
      // At least 1 ms: a deadline just passed is handled by the next iteration without spinning.
      if (deadline !== null) waitMs = Math.max(1, Math.min(waitMs, deadline - now))
    }
    const tPoll = performance.now()
    const records = await consumer.poll(waitMs)
    mark('thread.poll', tPoll, { records: records.length, waitMs })
    if (!this.#running) return
    this.#input.dispatch(records)
    this.#input.applyBackPressure()
    const processStart = this.#o.clock()
    const processStartAt = performance.now()
    for (const [name, active] of tasks.running) {
      const task = active.task
      let n = 0
      const t0 = performance.now()
      try {
        while (task.process(processStart)) {
          if (++n % PROCESS_BATCH === 0 && task.commitRequested) break
          // A task's turn lasts at most about a commit interval (Kafka Streams' process loop
          // breaks for a due commit too): a whole buffer in one turn stalled the event loop past
          // the session timeout (kill-windowed-kafka.test.ts: 6000 records, 6–17 s).
          if (n % TIME_CHECK_EVERY === 0 && performance.now() - t0 >= this.#o.config.commitIntervalMs) break
        }
      } catch (error) {
        const outcome = handleSerializationFailure(error, task, this.#o.productionExceptionHandler ?? failOnProductionException)
        if (outcome === null) throw error
        for (const h of outcome.handled) this.#o.metrics.productionExceptions.inc(h)
        for (const event of outcome.events) commits.emit(event)
        // The input's other effects since the last commit are dropped with the rest of the task's
        // uncommitted work; the replay from the committed offsets skips the input. Exactly-once:
        // the open transaction holds the other tasks' outputs too, so all of them go back. A
        // commit in flight settles first (its flushed writes are applied, or it failed and every
        // task went back already).
        if (!await commits.settle()) return
        if (commits.transactionOpen) { await commits.abortAndRewindAll(); return }
        await tasks.rewind([active])
        continue
      }
      if (n > 0) this.#o.metrics.processingDuration.observe({ task: name }, (performance.now() - t0) / 1000)
      task.punctuateWallClock(this.#o.clock())
      commits.takeOutputs(task)
    }
    commits.pump()
    mark('thread.process', processStartAt)
    // Whatever the backend's poll(0) does, give I/O callbacks a turn between iterations; also
    // after a poll that returned records at once from the consumer's buffer (no I/O awaited):
    // otherwise a backlog is processed without a turn for heartbeats and timers, past the
    // session timeout (kill-windowed-kafka.test.ts: 15k records, event loop stalled 17 s).
    if (waitMs === 0 || records.length > 0) { const t = performance.now(); await new Promise(resolve => setImmediate(resolve)); mark('thread.yield', t) }
    // Outputs waiting for the commit past their share of the memory budget: commit early too.
    let commitRequested = commits.pendingOutputBytes >= this.#o.config.maxPendingOutputBytes
    if (!commitRequested) for (const { task } of tasks.running.values()) if (task.commitRequested) { commitRequested = true; break }
    const commitDue = commitRequested || this.#o.clock() - commits.lastCommitMs >= this.#o.config.commitIntervalMs
    // Not while this member rejoins a cooperative round (thread-rebalance-listener.ts, joining).
    if (commitDue && !this.#rebalance.joining) {
      // The previous commit still running: a task asking for a commit (bounded buffers) waits for
      // it; the interval's commit starts at the next iteration after it.
      if (!commits.inflight) commits.begin()
      else if (commitRequested) { const t = performance.now(); await commits.settle(); mark('thread.settle-requested', t) }
    }
    this.#lag.maybeSample(this.#consumer!, tasks)
  }

  /** A running task has work since the last commit. */
  #commitNeeded (): boolean {
    for (const { task } of this.#tasks!.running.values()) if (task.commitNeeded) return true
    return false
  }

  /** One fetch for every restoring task; once none is left restoring the thread is RUNNING. */
  async #restoreStep (): Promise<void> {
    const tasks = this.#tasks!
    const ended = await tasks.restoreStep(tasks.running.size > 0 ? 0 : Math.min(this.#o.config.pollMs, 100))
    if (ended === 0) return
    rtrace('restore.ended', { ended, restoring: tasks.restoring.size })
    this.#o.metrics.activeTasks.set(tasks.running.size)
    if (tasks.restoring.size === 0) {
      this.#restoreProgress!.finished()
      this.#o.onRunning()
    }
  }

  async #shutdown (clean: boolean): Promise<void> {
    rtrace('shutdown.start')
    const committed = await this.#commits.finish(clean && this.#consumer !== undefined)
    rtrace('shutdown.committed')
    // Leave the group as soon as the last commit is done (or aborted), before the tasks close:
    // the other members can take the tasks over from the committed offsets at once, and closing
    // (checkpoints at the changelog ends, store closes: 1–3 s for 8 tasks and their standbys on a
    // loaded machine) no longer holds every moving partition up (docs/engine.md "Rebalancing",
    // rolling restarts). Nothing below needs the group consumer.
    await this.#consumer?.close().catch(() => {})
    rtrace('shutdown.left')
    await this.#tasks?.closeAll(committed)
    rtrace('shutdown.closed')
    this.#o.metrics.activeTasks.set(0)
    await this.#commits.close()
    await this.#purger.idle()
    await this.#reader?.close().catch(() => {})
    await this.#standbyReader?.close().catch(() => {})
    this.#o.metrics.standbyTasks.set(0)
  }
}
