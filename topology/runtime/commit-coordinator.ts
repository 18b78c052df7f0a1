// Commits of one stream thread and their recovery (docs/engine.md "Commit protocol", "Faults and
// recovery"): owns the producer, the outputs sent since the last commit (output-sender.ts) and the
// commit running in the background. Exactly-once: one transaction per commit carries every task's
// outputs, changelog records and input offsets; the outputs are sent into it as they are
// produced, the commit waits for them, then sends the changelog records and the offsets. A failed
// commit is recovered from by its class (commit-recovery.ts): migrated and corrupted tasks are
// closed dirty and rebuilt with a new producer (through the task manager), refused records go
// through the production exception handler, aborted ones read again from the committed offsets.
import type { IBackoff } from 'cockatiel'
import type { LogProducer, PartitionOffset, TopicPartition } from '../../log/log-port.ts'
import { StreamsError } from '../streams-error.ts'
import { kafkaPolicy } from '../../lib/resilience/kafka-policy.ts'
import { withCommitSpan } from '../../lib/tracing/commit-span.ts'
import { classifyCommitFailure, failureReason, handleRefusal, isConnectionAbort, type RecoveryEvent } from './commit-recovery.ts'
import { observeCommitted } from './engine-metrics.ts'
import { OutputSender } from './output-sender.ts'
import { mark } from '../../lib/tracing/engine-timeline.ts'
import { partitionKey } from './partition-group.ts'
import { failOnProductionException } from './production-exception-handler.ts'
import type { StreamTask } from './stream-task.ts'
import type { CommitCoordinatorOptions, CommitFailure, FailedCommit, InflightCommit } from './commit-coordinator-types.ts'
import { advanceChangelogOffsets } from './commit-writes.ts'
import type { TaskStateManager } from './task-state-manager.ts'

// stream-thread.ts imports these from here.
export type { CommitFailure } from './commit-coordinator-types.ts'
export { topicsWritten } from './commit-writes.ts'

const MAX_CONSECUTIVE_ABORTS = 10
/** A replacement producer's InitProducerId waits while the coordinator settles the old one's
 *  transaction (CONCURRENT_TRANSACTIONS) or moves; retriable failures are retried a few times. */
const producerReplacement = kafkaPolicy.producerReplacement
/** Between commits aborted because the broker is unreachable or slow: from 100 ms up to 10 s. */
const connectionBackoff = kafkaPolicy.commitConnectionBackoff
/** After a refusal the broker named only by partition batch, that partition's records are sent
 *  one per request for this many successful commits (or until the refused record is found). */
const ISOLATED_COMMITS = 20

export class CommitCoordinator {
  readonly #o: CommitCoordinatorOptions
  readonly exactlyOnce: boolean
  #producer: LogProducer | undefined
  /** The outputs since the last commit (exactly-once: the open transaction's). */
  #sender: OutputSender | undefined
  /** The commit running in the background (begin()), settled before the next one. */
  #inflight: InflightCommit | undefined
  #lastCommitMs = 0
  #consecutiveAborts = 0
  #connectionBackoff: IBackoff<unknown> | undefined
  /** Partitions whose records go one per produce request (see ISOLATED_COMMITS). */
  readonly #isolate = new Map<string, TopicPartition>()
  #isolatedCommitsLeft = 0

  constructor (options: CommitCoordinatorOptions) {
    this.#o = options
    this.exactlyOnce = options.config.processingGuarantee === 'exactly_once_v2'
  }

  get lastCommitMs (): number { return this.#lastCommitMs }
  /** A commit runs in the background. */
  get inflight (): boolean { return this.#inflight !== undefined }
  /** The commit in the background ended (settle() handles its outcome). */
  get inflightFinished (): boolean { return this.#inflight?.finished === true }
  /** Exactly-once with outputs sent since the last commit: a transaction is open. */
  get transactionOpen (): boolean { return this.exactlyOnce && this.#sender !== undefined }
  /** Estimated bytes of the outputs waiting for the next commit (maxPendingOutputBytes). */
  get pendingOutputBytes (): number { return this.#sender?.bytes ?? 0 }

  async open (): Promise<void> {
    this.#producer = await this.#createProducer()
    this.#lastCommitMs = this.#o.clock()
  }

  /** In the background, the producer looks up what the first commit needs (LogProducer.prepare):
   *  the commit interval's clock runs from the start, and a slow first commit held every later
   *  one back (docs/benchmarks.md, "fourth pass"). */
  prepare (topics: readonly string[]): void {
    void this.#producer?.prepare?.(topics, this.#o.config.applicationId).catch(() => undefined)
  }

  async #createProducer (): Promise<LogProducer> {
    const { config, log, instanceId } = this.#o
    // A stable transactional id per instance (its state dir): a restarted instance fences its
    // previous incarnation and aborts the transaction it left open.
    return log.createProducer({
      clientId: `${config.applicationId}-${instanceId}-producer`,
      ...(this.exactlyOnce ? { transactionalId: `${config.applicationId}-${instanceId}`, transactionTimeoutMs: config.transactionTimeoutMs } : {})
    })
  }

  /** The task's outputs so far go to the sender (sent as soon as the send in flight returns). */
  takeOutputs (task: StreamTask): void {
    const out = task.takeOutputsForSend()
    if (out.records.length === 0) return
    this.#sender ??= this.#newSender()
    this.#sender.add(task, out.records, out.sources)
  }

  pump (): void { this.#sender?.pump() }

  /** Commits every running task and waits for it (after the one in the background, if any).
   *  Returns false when a commit failed and the tasks were rewound. */
  async commit (): Promise<boolean> {
    if (!await this.settle()) return false
    this.begin()
    return await this.settle()
  }

  /** Resolves once no commit runs in the background (without settling it: the loop does that). */
  async idle (): Promise<void> {
    await this.#inflight?.done
  }

  /** Waits for the commit running in the background; recovers from its failure (every task read
   *  again from the committed offsets, what they processed since dropped). */
  async settle (): Promise<boolean> {
    const inflight = this.#inflight
    if (inflight === undefined) return true
    await inflight.done
    this.#inflight = undefined
    if (inflight.failure === undefined) return true
    return await this.#recover(inflight.failure.error, inflight.failure.commit)
  }

  /** Starts committing every task with work since the last commit, in the background: the tasks
   *  go on processing meanwhile (their stores read the flushed writes until they are applied) and
   *  their outputs wait for the commit's end before they are sent, so they belong to the next
   *  transaction. One commit at a time: the caller settles the previous one first. */
  begin (): void {
    this.#lastCommitMs = this.#o.clock()
    const tasks = [...this.#o.tasks().running.values()].filter(a => a.task.commitNeeded)
    if (tasks.length === 0) return
    for (const { task } of tasks) this.takeOutputs(task)
    const sender = this.#sender ?? this.#newSender()
    this.#sender = undefined
    // sender.records[commitFrom..]: what the commit itself sends (changelog records, mostly).
    const commitFrom = sender.size
    sender.hold()
    const offsets: PartitionOffset[] = []
    const offsetsOf = new Map<StreamTask, PartitionOffset[]>()
    const stateOf = new Map<StreamTask, TaskStateManager>()
    for (const active of tasks) {
      const part = active.task.prepareCommit()
      sender.add(active.task, part.records, part.sources)
      for (const o of part.offsets) offsets.push(o)
      offsetsOf.set(active.task, part.offsets)
      stateOf.set(active.task, active.state)
    }
    const isolate = [...this.#isolate.values()]
    const guarantee = this.exactlyOnce ? 'exactly_once_v2' : 'at_least_once'
    const end = this.#o.metrics.commitDuration.startTimer({ guarantee })
    const { records, sources, tasks: taskAt } = sender
    const consumer = this.#o.consumer()
    const group = consumer.groupMetadata()
    const inflight: InflightCommit = { done: Promise.resolve(), finished: false, failure: undefined }
    const beganAt = performance.now()
    const run = async (): Promise<void> => {
      let written: PartitionOffset[]
      let t = performance.now()
      if (this.exactlyOnce) {
        // The outputs sent so far are in the open transaction; a failed send fails the commit.
        await sender.flushHeld().catch(() => undefined)
        mark('commit.flush', t, { records: commitFrom })
        if (!group) throw new StreamsError('TASK_MIGRATED', 'no group membership to commit offsets with')
        t = performance.now()
        written = await sender.producer.commitTransaction({ records: records.slice(commitFrom), offsets: { group, offsets }, ...(isolate.length > 0 ? { isolate } : {}) })
        mark('commit.transaction', t, { records: records.length - commitFrom })
      } else {
        await sender.flush()
        mark('commit.flush', t, { records: records.length })
        written = sender.written.slice(commitFrom)
      }
      t = performance.now()
      for (const { task } of tasks) await task.postCommit(offsetsOf.get(task)!)
      mark('commit.postCommit', t, { tasks: tasks.length })
      // The changelog offsets the stores now hold: a dirty close checkpoints them.
      advanceChangelogOffsets(written, commitFrom, taskAt, stateOf)
      for (const { task, state } of tasks) {
        for (const [store, entries] of state.approximateEntries()) this.#o.metrics.stores.setEntries(task.name, store, entries)
        for (const [store, bytes] of state.approximateSizesBytes()) this.#o.metrics.stores.setSizeBytes(task.name, store, bytes)
        for (const [processor, n] of task.droppedRecords.take()) this.#o.metrics.droppedRecords.inc({ task: task.name, processor }, n)
      }
      if (!this.exactlyOnce && offsets.length > 0) { t = performance.now(); await consumer.commitOffsets(offsets); mark('commit.offsets', t) }
    }
    inflight.done = withCommitSpan({ applicationId: this.#o.config.applicationId, guarantee, tasks: tasks.length, offsets: offsets.length, records }, run).then(() => {
      end()
      mark('commit', beganAt, { records: records.length, offsets: offsets.length, tasks: tasks.length })
      this.#consecutiveAborts = 0
      this.#connectionBackoff = undefined
      if (this.#isolate.size > 0 && --this.#isolatedCommitsLeft <= 0) this.#isolate.clear()
      this.#o.metrics.commits.inc({ result: 'committed' })
      observeCommitted(this.#o.metrics, this.#o.clock(), records, i => taskAt[i]!.name)
      try { this.#o.onCommitted?.(offsets) } catch { /* never fails the commit that succeeded */ }
      inflight.finished = true
    }, async (error: unknown) => {
      end()
      if (!this.exactlyOnce) await sender.settle()
      inflight.failure = { error, commit: { records, sources, taskAt } }
      inflight.finished = true
    })
    this.#inflight = inflight
  }

  #newSender (): OutputSender {
    const inflight = this.#inflight
    return new OutputSender(this.#producer!, () => this.#isolate.size > 0 ? { isolate: [...this.#isolate.values()] } : {},
      inflight === undefined ? undefined : inflight.done.then(() => inflight.failure === undefined))
  }

  /** Exactly-once, outside a commit: drop the open transaction and every task's uncommitted work,
   *  and read again from the committed offsets. */
  async abortAndRewindAll (): Promise<void> {
    // A commit in flight settles first: a failed one has rewound everything already.
    if (!await this.settle()) return
    const sender = this.#sender
    this.#sender = undefined
    if (sender !== undefined) {
      await sender.settle()
      try {
        await sender.producer.abortTransaction()
      } catch (error) {
        // The abort's outcome is unknown: as a commit of unknown outcome.
        await this.#recover(error, { records: [], sources: [], taskAt: [] })
        return
      }
    }
    const tasks = this.#o.tasks()
    await tasks.rewind([...tasks.running.values()])
  }

  /** Shutdown: the commit in flight settles; clean, a last commit. Exactly-once, an open
   *  transaction is not left to hold back the partitions' stable offsets. Returns whether the
   *  last commit succeeded (the tasks then close clean). */
  async finish (clean: boolean): Promise<boolean> {
    let committed = false
    try { await this.settle() } catch { /* closing: the tasks close dirty */ }
    if (clean) {
      try { committed = await this.commit() } catch { committed = false }
    }
    if (!committed && this.exactlyOnce) {
      await this.#sender?.settle()
      await this.#producer?.abortTransaction().catch(() => {})
    }
    this.#sender = undefined
    return committed
  }

  async close (): Promise<void> {
    await this.#producer?.close().catch(() => {})
  }

  /** A failed commit, by class (commit-recovery.ts). Returns false once recovered; throws what is
   *  fatal (the thread dies; the application's uncaught-error policy decides what follows). */
  async #recover (error: unknown, commit: FailedCommit): Promise<boolean> {
    // The tasks went on processing after the failed commit began: that work (and its outputs, in
    // the next transaction or waiting for this commit) is dropped with the rest.
    const next = this.#sender
    this.#sender = undefined
    await next?.settle()
    const taskManager = this.#o.tasks()
    const everyTask = [...taskManager.running.values()]
    const kind = classifyCommitFailure(error)
    if (kind === 'migrated' || kind === 'corrupted') {
      const tasks = taskManager.committingTaskNames()
      const reason = failureReason(error)
      this.#commitFailed(kind === 'migrated' ? 'fenced' : 'unknown', error)
      if (kind === 'migrated') {
        this.#o.metrics.tasksMigrated.inc({ reason }, tasks.length)
        this.emit({ event: 'task.migrated', tasks, reason, error })
      } else {
        this.#o.metrics.tasksCorrupted.inc({ reason }, tasks.length)
        this.emit({ event: 'task.corrupted', tasks, reason, error })
      }
      await this.#reinitialise(kind)
      return false
    }
    if (kind === 'refused') {
      const taskOf = (index: number): StreamTask => commit.taskAt[index]!
      const outcome = handleRefusal(error as StreamsError, { records: commit.records, sources: commit.sources, taskOf }, this.#o.productionExceptionHandler ?? failOnProductionException)
      for (const tp of outcome.isolate) this.#isolate.set(partitionKey(tp), tp)
      if (outcome.isolate.length > 0) this.#isolatedCommitsLeft = ISOLATED_COMMITS
      for (const h of outcome.handled) this.#o.metrics.productionExceptions.inc(h)
      for (const event of outcome.events) this.emit(event)
      this.#commitFailed('refused', error)
      // Nothing of the transaction committed: the stores are at the last commit; only the producer
      // (whose sequence numbers moved on) is replaced, and the tasks read again from the offsets.
      await this.#replaceProducer('refused')
      await taskManager.rewind(everyTask)
      return false
    }
    if (kind === 'aborted') {
      if (isConnectionAbort(error)) {
        // The broker is unreachable or slow: wait, then read again from the committed offsets, for
        // as long as it lasts.
        this.#connectionBackoff = (this.#connectionBackoff ?? connectionBackoff).next(undefined)
        this.#commitFailed('aborted', error)
        await this.#abortTransaction()
        await taskManager.rewind(everyTask)
        await new Promise(resolve => setTimeout(resolve, this.#connectionBackoff!.duration))
        return false
      }
      // Any other retriable failure is retried from the committed offsets, but not forever: the
      // same commit failing again and again must surface, not leave a RUNNING application that
      // makes no progress.
      if (++this.#consecutiveAborts <= MAX_CONSECUTIVE_ABORTS) {
        this.#commitFailed('aborted', error)
        await this.#abortTransaction()
        await taskManager.rewind(everyTask)
        return false
      }
    }
    throw error
  }

  /** After an aborted commit the producer has aborted its transaction; this makes sure of it (a
   *  producer that fails to abort refuses further use, and the next commit recovers from that). */
  async #abortTransaction (): Promise<void> {
    if (this.exactlyOnce) await this.#producer?.abortTransaction().catch(() => undefined)
  }

  #commitFailed (result: CommitFailure['result'], error: unknown): void {
    this.#o.metrics.commits.inc({ result })
    this.#o.onCommitFailed?.({ result, error, consecutive: this.#consecutiveAborts })
  }

  emit (event: RecoveryEvent): void {
    try { this.#o.onRecovery?.(event) } catch { /* a listener's failure is its own */ }
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
    const tasks = this.#o.tasks()
    const owned = await tasks.closeAllDirty()
    await this.#replaceProducer(reason)
    const stillAssigned = new Set(this.#o.consumer().assignment().map(partitionKey))
    const keep = owned.filter(tp => stillAssigned.has(partitionKey(tp)))
    await tasks.createTasks(keep)
    await tasks.seekToCommitted(keep)
  }

  async #replaceProducer (reason: 'migrated' | 'corrupted' | 'refused'): Promise<void> {
    this.#sender = undefined
    await this.#producer?.close().catch(() => {})
    this.#producer = undefined
    this.#producer = await producerReplacement.execute(() => this.#createProducer())
    this.#o.metrics.producersReplaced.inc({ reason })
    this.emit({ event: 'producer.replaced', reason })
  }
}
