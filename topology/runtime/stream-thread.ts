// The processing loop of one instance (Kafka Streams' StreamThread + TaskManager): poll the
// group consumer, feed the tasks, process by event time, punctuate, commit. Rebalance callbacks
// run inside poll(): revoked tasks commit and are suspended, assigned tasks are restored before
// they run. Exactly-once: one transaction per commit carries every task's outputs, changelog
// records and input offsets. A failed commit is recovered from by its class (commit-recovery.ts,
// docs/engine.md "Faults and recovery"): migrated and corrupted tasks are closed dirty and rebuilt
// with a new producer, refused records go through the production exception handler.
import type { GroupConsumer, Log, LogProducer, LogRecord, PartitionOffset, ProducerRecord, PartitionReader, RebalanceListener, TopicPartition } from '../../log/log-port.ts'
import { ExponentialBackoff, handleWhen, retry, type IBackoff } from 'cockatiel'
import { isRewardsError, RewardsError } from '../../lib/errors.ts'
import { withCommitSpan } from '../../lib/tracing/commit-span.ts'
import type { StateDirectory } from '../../stores/state-directory.ts'
import type { Subtopology, Topology } from '../topology.ts'
import { coPartitionAssignor, decodeAssignmentInfo, encodeSubscription, type AssignmentInfo } from './co-partition-assignor.ts'
import { classifyCommitFailure, failureReason, handleRefusal, handleSerializationFailure, isConnectionAbort, type RecoveryEvent } from './commit-recovery.ts'
import { observeCommitted, type EngineMetrics } from './engine-metrics.ts'
import { failOnProductionException, type ProductionExceptionHandler } from './production-exception-handler.ts'
import { partitionKey } from './partition-group.ts'
import type { StreamsConfig } from './streams-config.ts'
import { StreamTask, taskIdToString } from './stream-task.ts'
import { TaskStateManager } from './task-state-manager.ts'

export interface ActiveTask {
  readonly task: StreamTask
  readonly state: TaskStateManager
}

export interface StreamThreadOptions {
  readonly config: StreamsConfig
  readonly topology: Topology
  readonly subtopologies: Subtopology[]
  readonly log: Log
  readonly stateDirectory: StateDirectory
  readonly instanceId: string
  readonly metrics: EngineMetrics
  readonly clock: () => number
  readonly onAssignment: (info: AssignmentInfo | null) => void
  readonly onRebalancing: () => void
  readonly onRunning: () => void
  /** A task's stores are restored (records applied from the changelogs, 0 after a checkpoint). */
  readonly onTaskRestored?: (restored: TaskRestored) => void
  /** A commit failed and is recovered from (the application goes ERROR instead when it cannot be). */
  readonly onCommitFailed?: (failure: CommitFailure) => void
  /** Each recovery: migrated or corrupted tasks, a replaced producer, a refused record replaced. */
  readonly onRecovery?: (event: RecoveryEvent) => void
  /** Output records the broker refuses (default: fail). */
  readonly productionExceptionHandler?: ProductionExceptionHandler
}

export interface CommitFailure {
  /** aborted: read again from the committed offsets; fenced: another instance took the tasks;
   *  unknown: the transaction's abort failed too, so the producer was replaced and the tasks
   *  restored from their changelogs (correct whether it committed or not). */
  readonly result: 'aborted' | 'fenced' | 'unknown' | 'refused'
  readonly error: unknown
  /** Failed commits in a row (aborted, other than for the connection); the thread dies past 10. */
  readonly consecutive: number
}

export interface TaskRestored {
  readonly task: string
  readonly durationMs: number
  readonly records: number
}

const PROCESS_BATCH = 500
const LAG_SAMPLE_INTERVAL_MS = 5000
const MAX_CONSECUTIVE_ABORTS = 10
/** A replacement producer's InitProducerId waits while the coordinator settles the old one's
 *  transaction (CONCURRENT_TRANSACTIONS) or moves; retriable failures are retried a few times. */
const producerReplacement = retry(handleWhen(error => isRewardsError(error) && error.retriable), { maxAttempts: 10, backoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 10_000 }) })
/** Between commits aborted because the broker is unreachable or slow: from 100 ms up to 10 s. */
const connectionBackoff = new ExponentialBackoff({ initialDelay: 100, maxDelay: 10_000 })
/** After a refusal the broker named only by partition batch, that partition's records are sent
 *  one per request for this many successful commits (or until the refused record is found). */
const ISOLATED_COMMITS = 20

export class StreamThread implements RebalanceListener {
  readonly #o: StreamThreadOptions
  readonly #exactlyOnce: boolean
  readonly #active = new Map<string, ActiveTask>()
  readonly #suspended = new Map<string, ActiveTask>()
  readonly #byInput = new Map<string, ActiveTask>()
  readonly #paused = new Map<string, TopicPartition>()
  readonly #subByTopic = new Map<string, number>()
  #consumer: GroupConsumer | undefined
  #producer: LogProducer | undefined
  #reader: PartitionReader | undefined
  #running = false
  #loop: Promise<void> | undefined
  #lastCommitMs = 0
  #lastLagSampleMs = 0
  #consecutiveAborts = 0
  #alive = false
  #lagSampling = false
  #connectionBackoff: IBackoff<unknown> | undefined
  /** Partitions whose records go one per produce request (see ISOLATED_COMMITS). */
  readonly #isolate = new Map<string, TopicPartition>()
  #isolatedCommitsLeft = 0

  constructor (options: StreamThreadOptions) {
    this.#o = options
    this.#exactlyOnce = options.config.processingGuarantee === 'exactly_once_v2'
    for (const sub of options.subtopologies) for (const topic of sub.sourceTopics) this.#subByTopic.set(topic, sub.id)
  }

  get activeTasks (): ReadonlyMap<string, ActiveTask> { return this.#active }
  /** Started and its loop not yet ended (by stop() or by dying). */
  get alive (): boolean { return this.#alive }

  async start (onFatal: (error: unknown) => void): Promise<void> {
    const { config, log, instanceId } = this.#o
    this.#producer = await this.#createProducer()
    this.#reader = log.createPartitionReader({ clientId: `${config.applicationId}-${instanceId}-restore` })
    this.#consumer = log.createGroupConsumer({
      groupId: config.applicationId,
      clientId: `${config.applicationId}-${instanceId}`,
      topics: this.#o.subtopologies.flatMap(s => s.sourceTopics),
      listener: this,
      userData: encodeSubscription({ host: config.applicationServer, previousTasks: [] }),
      assignor: coPartitionAssignor(this.#o.subtopologies.map(s => s.sourceTopics)),
      sessionTimeoutMs: config.sessionTimeoutMs,
      rebalanceTimeoutMs: Math.max(60_000, config.sessionTimeoutMs),
      maxPollRecords: config.bufferedRecordsPerPartition * 4
    })
    this.#running = true
    this.#lastCommitMs = this.#o.clock()
    this.#o.metrics.threadsAlive.inc()
    this.#alive = true
    this.#loop = this.#run().catch(onFatal)
  }

  /** Graceful: finish the current iteration, commit, checkpoint, close stores, leave the group. */
  async stop (): Promise<void> {
    this.#running = false
    await this.#loop
  }

  async #createProducer (): Promise<LogProducer> {
    const { config, log, instanceId } = this.#o
    // A stable transactional id per instance (its state dir): a restarted instance fences its
    // previous incarnation and aborts the transaction it left open.
    return log.createProducer({
      clientId: `${config.applicationId}-${instanceId}-producer`,
      ...(this.#exactlyOnce ? { transactionalId: `${config.applicationId}-${instanceId}`, transactionTimeoutMs: config.transactionTimeoutMs } : {})
    })
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
    const consumer = this.#consumer!
    // Poll without waiting when a task can process now; otherwise wait for records, at most until
    // the earliest idle deadline (an empty, caught-up partition stops holding its task back).
    const now = this.#o.clock()
    let waitMs = this.#o.config.pollMs
    for (const { task } of this.#active.values()) {
      if (task.bufferedRecords === 0) continue
      if (task.ready(now)) { waitMs = 0; break }
      const deadline = task.idleDeadlineMs()
      // At least 1 ms: a deadline just passed is handled by the next iteration without spinning.
      if (deadline !== null) waitMs = Math.max(1, Math.min(waitMs, deadline - now))
    }
    const records = await consumer.poll(waitMs)
    if (!this.#running) return
    this.#dispatch(records)
    this.#applyBackPressure()
    const processStart = this.#o.clock()
    for (const [name, active] of this.#active) {
      const task = active.task
      let n = 0
      const t0 = performance.now()
      try {
        while (task.process(processStart)) {
          if (++n % PROCESS_BATCH === 0 && task.commitRequested) break
        }
      } catch (error) {
        const outcome = handleSerializationFailure(error, task, this.#o.productionExceptionHandler ?? failOnProductionException)
        if (outcome === null) throw error
        for (const h of outcome.handled) this.#o.metrics.productionExceptions.inc(h)
        for (const event of outcome.events) this.#emit(event)
        // The input's other effects since the last commit are dropped with the rest of the task's
        // uncommitted work; the replay from the committed offsets skips the input.
        await this.#rewind([active])
        continue
      }
      if (n > 0) this.#o.metrics.processingDuration.observe({ task: name }, (performance.now() - t0) / 1000)
      task.punctuateWallClock(this.#o.clock())
    }
    // Whatever the backend's poll(0) does, give I/O callbacks a turn between iterations.
    if (waitMs === 0) await new Promise(resolve => setImmediate(resolve))
    let commitRequested = false
    for (const { task } of this.#active.values()) if (task.commitRequested) { commitRequested = true; break }
    if (commitRequested || this.#o.clock() - this.#lastCommitMs >= this.#o.config.commitIntervalMs) {
      await this.#commit()
    }
    this.#sampleLag()
  }

  /** Every few seconds, in the background: end offset minus position of each input partition. */
  #sampleLag (): void {
    const now = this.#o.clock()
    if (this.#lagSampling || now - this.#lastLagSampleMs < LAG_SAMPLE_INTERVAL_MS) return
    this.#lastLagSampleMs = now
    const consumer = this.#consumer!
    const assigned = consumer.assignment()
    if (assigned.length === 0) return
    this.#lagSampling = true
    this.#o.log.admin.listOffsets(assigned, 'latest').then(ends => {
      for (const end of ends) {
        let position: bigint
        try { position = consumer.position(end) } catch { continue } // moved away meanwhile
        const buffered = BigInt(this.#byInput.get(partitionKey(end))?.task.bufferedIn(end) ?? 0)
        const lag = end.offset - position + buffered
        this.#o.metrics.consumerLag.set({ topic: end.topic, partition: String(end.partition) }, Number(lag > 0n ? lag : 0n))
      }
    }, () => { /* a lag sample is best effort */ }).finally(() => { this.#lagSampling = false })
  }

  #dispatch (records: LogRecord[]): void {
    if (records.length === 0) return
    let run: LogRecord[] = []
    let runKey = ''
    const flush = (): void => {
      if (run.length === 0) return
      const active = this.#byInput.get(runKey)
      // Records of a partition whose task is gone (revoked meanwhile) are dropped: the next owner
      // reads them again from the committed offset.
      if (active) {
        active.task.addRecords(run[0]!, run)
        this.#o.metrics.recordsIn.inc({ topic: run[0]!.topic, task: active.task.name }, run.length)
      }
      run = []
    }
    for (const r of records) {
      const key = partitionKey(r)
      if (key !== runKey) { flush(); runKey = key }
      run.push(r)
    }
    flush()
  }

  /** Pauses partitions whose buffer is full, resumes those drained below half. */
  #applyBackPressure (): void {
    const max = this.#o.config.bufferedRecordsPerPartition
    const consumer = this.#consumer!
    const toPause: TopicPartition[] = []
    for (const { task } of this.#active.values()) {
      for (const tp of task.partitionsOver(max)) {
        const key = partitionKey(tp)
        if (!this.#paused.has(key)) { this.#paused.set(key, tp); toPause.push(tp) }
      }
    }
    if (toPause.length > 0) consumer.pause(toPause)
    const toResume: TopicPartition[] = []
    for (const [key, tp] of this.#paused) {
      const active = this.#byInput.get(key)
      if (!active || active.task.bufferedIn(tp) < max / 2) { this.#paused.delete(key); if (active) toResume.push(tp) }
    }
    if (toResume.length > 0) consumer.resume(toResume)
  }

  /** Commits every active task. Returns false when the commit failed and tasks were rewound. */
  async #commit (): Promise<boolean> {
    this.#lastCommitMs = this.#o.clock()
    const tasks = [...this.#active.values()].filter(a => a.task.commitNeeded)
    if (tasks.length === 0) return true
    const records: ProducerRecord[] = []
    const sources: Array<LogRecord | null> = []
    const offsets: PartitionOffset[] = []
    // records[from, to) are the task's, for records out per topic and task.
    const ranges: Array<{ active: ActiveTask, from: number, to: number }> = []
    for (const active of tasks) {
      const part = active.task.prepareCommit()
      const from = records.length
      for (let i = 0; i < part.records.length; i++) { records.push(part.records[i]!); sources.push(part.sources[i] ?? null) }
      for (const o of part.offsets) offsets.push(o)
      ranges.push({ active, from, to: records.length })
    }
    const isolate = [...this.#isolate.values()]
    const guarantee = this.#exactlyOnce ? 'exactly_once_v2' : 'at_least_once'
    const end = this.#o.metrics.commitDuration.startTimer({ guarantee })
    try {
      await withCommitSpan({ applicationId: this.#o.config.applicationId, guarantee, tasks: tasks.length, offsets: offsets.length, records }, async () => {
        let written: PartitionOffset[] = []
        if (this.#exactlyOnce) {
          const group = this.#consumer!.groupMetadata()
          if (!group) throw new RewardsError('TASK_MIGRATED', 'no group membership to commit offsets with')
          written = await this.#producer!.commitTransaction({ records, offsets: { group, offsets }, ...(isolate.length > 0 ? { isolate } : {}) })
        } else {
          if (records.length > 0) written = await this.#producer!.send(records, isolate.length > 0 ? { isolate } : {})
        }
        for (const { active: { task, state }, from, to } of ranges) {
          await task.postCommit()
          // The changelog offsets the stores now hold: a dirty close checkpoints them.
          for (let i = from; i < to; i++) {
            const w = written[i]
            if (w !== undefined && w.offset >= 0n && state.ownsChangelog(w)) state.advanceChangelog(w, w.offset + 1n)
          }
          for (const [store, entries] of state.approximateEntries()) this.#o.metrics.stores.setEntries(task.name, store, entries)
          for (const [store, bytes] of state.approximateSizesBytes()) this.#o.metrics.stores.setSizeBytes(task.name, store, bytes)
        }
        if (!this.#exactlyOnce && offsets.length > 0) await this.#consumer!.commitOffsets(offsets)
      })
      end()
      this.#consecutiveAborts = 0
      this.#connectionBackoff = undefined
      if (this.#isolate.size > 0 && --this.#isolatedCommitsLeft <= 0) this.#isolate.clear()
      this.#o.metrics.commits.inc({ result: 'committed' })
      observeCommitted(this.#o.metrics, this.#o.clock(), ranges.map(r => ({ task: r.active.task.name, from: r.from, to: r.to })), records)
      return true
    } catch (error) {
      end()
      return await this.#recover(error, { records, sources, ranges, tasks })
    }
  }

  /** A failed commit, by class (commit-recovery.ts). Returns false once recovered; throws what is
   *  fatal (the thread dies; the application's uncaught-error policy decides what follows). */
  async #recover (error: unknown, commit: { records: ProducerRecord[], sources: Array<LogRecord | null>, ranges: Array<{ active: ActiveTask, from: number, to: number }>, tasks: ActiveTask[] }): Promise<boolean> {
    const kind = classifyCommitFailure(error)
    if (kind === 'migrated' || kind === 'corrupted') {
      const tasks = [...this.#active.keys(), ...this.#suspended.keys()]
      const reason = failureReason(error)
      this.#commitFailed(kind === 'migrated' ? 'fenced' : 'unknown', error)
      if (kind === 'migrated') {
        this.#o.metrics.tasksMigrated.inc({ reason }, tasks.length)
        this.#emit({ event: 'task.migrated', tasks, reason, error })
      } else {
        this.#o.metrics.tasksCorrupted.inc({ reason }, tasks.length)
        this.#emit({ event: 'task.corrupted', tasks, reason, error })
      }
      await this.#reinitialise(kind)
      return false
    }
    if (kind === 'refused') {
      const taskOf = (index: number): StreamTask => commit.ranges.find(r => index >= r.from && index < r.to)!.active.task
      const outcome = handleRefusal(error as RewardsError, { records: commit.records, sources: commit.sources, taskOf }, this.#o.productionExceptionHandler ?? failOnProductionException)
      for (const tp of outcome.isolate) this.#isolate.set(partitionKey(tp), tp)
      if (outcome.isolate.length > 0) this.#isolatedCommitsLeft = ISOLATED_COMMITS
      for (const h of outcome.handled) this.#o.metrics.productionExceptions.inc(h)
      for (const event of outcome.events) this.#emit(event)
      this.#commitFailed('refused', error)
      // Nothing of the transaction committed: the stores are at the last commit; only the producer
      // (whose sequence numbers moved on) is replaced, and the tasks read again from the offsets.
      await this.#replaceProducer('refused')
      await this.#rewind(commit.tasks)
      return false
    }
    if (kind === 'aborted') {
      if (isConnectionAbort(error)) {
        // The broker is unreachable or slow: wait, then read again from the committed offsets, for
        // as long as it lasts.
        this.#connectionBackoff = (this.#connectionBackoff ?? connectionBackoff).next(undefined)
        this.#commitFailed('aborted', error)
        await this.#rewind(commit.tasks)
        await new Promise(resolve => setTimeout(resolve, this.#connectionBackoff!.duration))
        return false
      }
      // Any other retriable failure is retried from the committed offsets, but not forever: the
      // same commit failing again and again must surface, not leave a RUNNING application that
      // makes no progress.
      if (++this.#consecutiveAborts <= MAX_CONSECUTIVE_ABORTS) {
        this.#commitFailed('aborted', error)
        await this.#rewind(commit.tasks)
        return false
      }
    }
    throw error
  }

  #commitFailed (result: CommitFailure['result'], error: unknown): void {
    this.#o.metrics.commits.inc({ result })
    this.#o.onCommitFailed?.({ result, error, consecutive: this.#consecutiveAborts })
  }

  #emit (event: RecoveryEvent): void {
    try { this.#o.onRecovery?.(event) } catch { /* a listener's failure is its own */ }
  }

  /** The transaction aborted: drop uncommitted work and read again from the committed offsets. */
  async #rewind (tasks: ActiveTask[]): Promise<void> {
    const inputs: TopicPartition[] = []
    for (const { task } of tasks) { task.abortUncommitted(); inputs.push(...task.inputs) }
    await this.#seekToCommitted(inputs)
  }

  async #seekToCommitted (inputs: TopicPartition[]): Promise<void> {
    if (inputs.length === 0) return
    const admin = this.#o.log.admin
    const committed = new Map((await admin.listCommittedOffsets(this.#o.config.applicationId, inputs)).map(o => [partitionKey(o), o.offset]))
    const missing = inputs.filter(tp => !committed.has(partitionKey(tp)))
    const earliest = missing.length > 0 ? await admin.listOffsets(missing, 'earliest') : []
    for (const o of earliest) committed.set(partitionKey(o), o.offset)
    const assigned = new Set(this.#consumer!.assignment().map(partitionKey))
    for (const tp of inputs) {
      if (assigned.has(partitionKey(tp))) this.#consumer!.seek({ ...tp, offset: committed.get(partitionKey(tp)) ?? 0n })
    }
  }

  /** Tasks migrated (a newer producer or group generation exists, or the producer lost its
   *  sequence state) or corrupted (the last transaction's outcome is unknown). As Kafka Streams:
   *  close every task dirty (no commit), replace the producer (its InitProducerId completes or
   *  aborts the old one's transaction), and rebuild the tasks this member still owns from their
   *  changelogs and committed offsets. Unlike Kafka Streams under exactly-once, the stores are not
   *  wiped: they hold only committed writes, so the dirty close checkpoints the changelog offsets
   *  of the last commit and the restore replays only what came after (docs/engine.md). The group
   *  consumer rejoins by itself when its generation is stale (its next heartbeat or poll). */
  async #reinitialise (reason: 'migrated' | 'corrupted'): Promise<void> {
    const owned = [...this.#active.values()].flatMap(a => a.task.inputs)
    for (const active of [...this.#active.values(), ...this.#suspended.values()]) await this.#closeTask(active, false)
    this.#active.clear(); this.#suspended.clear(); this.#byInput.clear()
    await this.#replaceProducer(reason)
    const stillAssigned = new Set(this.#consumer!.assignment().map(partitionKey))
    const keep = owned.filter(tp => stillAssigned.has(partitionKey(tp)))
    await this.#createTasks(keep)
    await this.#seekToCommitted(keep)
  }

  async #replaceProducer (reason: 'migrated' | 'corrupted' | 'refused'): Promise<void> {
    await this.#producer?.close().catch(() => {})
    this.#producer = undefined
    this.#producer = await producerReplacement.execute(() => this.#createProducer())
    this.#o.metrics.producersReplaced.inc({ reason })
    this.#emit({ event: 'producer.replaced', reason })
  }

  // ---- rebalance callbacks (awaited inside poll) ----

  async onPartitionsRevoked (_partitions: TopicPartition[]): Promise<void> {
    this.#o.onRebalancing()
    if (this.#active.size === 0) return
    // Eager protocol: everything is revoked. Commit, then suspend (keep stores open: if the same
    // tasks come back, they resume without a restore).
    const committed = await this.#commit()
    for (const [name, active] of this.#active) {
      if (committed) active.task.abortUncommitted() // clears buffered, unprocessed records only
      this.#suspended.set(name, active)
    }
    this.#active.clear()
    this.#byInput.clear()
    this.#paused.clear()
  }

  async onPartitionsAssigned (partitions: TopicPartition[], userData: Buffer | null): Promise<void> {
    this.#o.metrics.rebalances.inc()
    this.#o.onAssignment(decodeAssignmentInfo(userData))
    const wanted = this.#taskNames(partitions)
    for (const [name, active] of this.#suspended) {
      if (!wanted.has(name)) await this.#closeTask(active, true)
    }
    for (const [name, active] of this.#suspended) {
      if (wanted.has(name)) this.#activate(name, active)
    }
    this.#suspended.clear()
    await this.#createTasks(partitions.filter(tp => !this.#byInput.has(partitionKey(tp))))
    this.#o.metrics.activeTasks.set(this.#active.size)
    this.#o.onRunning()
  }

  async onPartitionsLost (partitions: TopicPartition[]): Promise<void> {
    this.#o.onRebalancing()
    const lost = this.#taskNames(partitions)
    for (const [name, active] of [...this.#active, ...this.#suspended]) {
      if (!lost.has(name)) continue
      await this.#closeTask(active, false)
      this.#active.delete(name); this.#suspended.delete(name)
      for (const tp of active.task.inputs) this.#byInput.delete(partitionKey(tp))
    }
  }

  #taskNames (partitions: TopicPartition[]): Map<string, TopicPartition[]> {
    const out = new Map<string, TopicPartition[]>()
    for (const tp of partitions) {
      const sub = this.#subByTopic.get(tp.topic)
      if (sub === undefined) continue
      const name = taskIdToString({ subtopology: sub, partition: tp.partition })
      out.set(name, [...(out.get(name) ?? []), tp])
    }
    return out
  }

  #activate (name: string, active: ActiveTask): void {
    this.#active.set(name, active)
    for (const tp of active.task.inputs) this.#byInput.set(partitionKey(tp), active)
    active.state.setQueryableState('READY')
  }

  #caughtUp (tp: TopicPartition): boolean {
    const consumer = this.#consumer!
    const end = consumer.endOffset(tp)
    if (end === undefined) return false
    try {
      return consumer.position(tp) >= end
    } catch {
      return true // no longer assigned: nothing will come
    }
  }

  async #createTasks (partitions: TopicPartition[]): Promise<void> {
    const { config, topology, stateDirectory, log, metrics } = this.#o
    for (const [name] of this.#taskNames(partitions)) {
      if (this.#active.has(name)) continue
      const [subText, partText] = name.split('_')
      const sub = this.#o.subtopologies[Number(subText)]!
      const partition = Number(partText)
      const state = new TaskStateManager({
        applicationId: config.applicationId,
        taskName: name,
        partition,
        definitions: sub.stores.map(s => topology.storeDefinition(s)!),
        stateDirectory,
        exactlyOnce: this.#exactlyOnce,
        maxDirtyEntries: config.maxDirtyEntriesPerStore
      })
      await state.open()
      state.setQueryableState('RESTORING')
      const task = new StreamTask({
        applicationId: config.applicationId,
        id: { subtopology: sub.id, partition },
        topology,
        subtopology: sub,
        inputs: sub.sourceTopics.map(topic => ({ topic, partition })),
        stores: state.taskStores(),
        maxTaskIdleMs: config.maxTaskIdleMs,
        maxPendingRecords: config.maxPendingRecordsPerTask,
        clock: this.#o.clock,
        caughtUp: tp => this.#caughtUp(tp)
      })
      const active: ActiveTask = { task, state }
      // Visible to interactive queries (as RESTORING) while it restores.
      this.#active.set(name, active)
      try {
        const done = new Map<string, number>()
        const restoreStart = performance.now()
        await state.restore(log.admin, this.#reader!, p => {
          metrics.stores.restored(p.task, p.store, p.restored - (done.get(p.store) ?? 0), p.total - p.restored)
          done.set(p.store, p.restored)
        })
        const restoreMs = performance.now() - restoreStart
        metrics.taskRestoreDuration.observe(restoreMs / 1000)
        this.#o.onTaskRestored?.({ task: name, durationMs: restoreMs, records: [...done.values()].reduce((a, b) => a + b, 0) })
        task.initialize()
      } catch (error) {
        this.#active.delete(name)
        await state.close()
        throw error
      }
      this.#activate(name, active)
    }
  }

  /** clean: commit already happened; checkpoint so a restart skips the restore. Dirty: drop
   *  what is not committed and checkpoint the changelog offsets of the last commit, which is what
   *  the stores hold (writes reach them only after their commit). */
  async #closeTask (active: ActiveTask, clean: boolean): Promise<void> {
    active.task.close()
    try {
      if (clean) {
        await active.state.checkpointAtEnd(this.#o.log.admin)
      } else {
        active.task.abortUncommitted()
        active.state.writeCheckpoint()
      }
    } catch {
      // No checkpoint: the next owner here restores from the changelog (slower, still correct).
    }
    await active.state.close()
    this.#o.metrics.stores.removeTask(active.task.name)
  }

  async #shutdown (clean: boolean): Promise<void> {
    let committed = false
    if (clean && this.#consumer) {
      try { committed = await this.#commit() } catch { committed = false }
    }
    for (const active of [...this.#active.values(), ...this.#suspended.values()]) {
      await this.#closeTask(active, committed).catch(() => {})
    }
    this.#active.clear(); this.#suspended.clear(); this.#byInput.clear()
    this.#o.metrics.activeTasks.set(0)
    await this.#consumer?.close().catch(() => {})
    await this.#producer?.close().catch(() => {})
    await this.#reader?.close().catch(() => {})
  }
}
