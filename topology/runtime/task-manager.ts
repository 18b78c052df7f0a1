// The tasks of one stream thread and their lifecycle (Kafka Streams' TaskManager): which exist,
// in which state (task-lifecycle.ts), and what an assignment change does to them — create and
// restore the new ones, resume the suspended ones that came back, close with a checkpoint the
// ones that went away. The loop (stream-thread.ts) asks it for the running tasks to process, and
// drives the restoring ones through the changelog reader with restoreStep(); the commit
// coordinator (commit-coordinator.ts) asks it for the tasks to commit and to rewind or rebuild
// them after a failed commit (docs/engine.md "Architecture: loop, task manager, changelog reader").
//
// Two rebalance protocols (docs/engine.md "Group protocol and rebalancing"). Eager: revocation
// suspends every running task (suspendAll) and handleAssignment() gets the whole new assignment.
// Cooperative (KIP-429): handleRevocation() closes only the tasks whose partitions moved away
// and handleIncrementalAssignment() gets only the added partitions; every other task keeps
// running, its stores open and queryable, through the whole rebalance.
//
// Standby (and warm-up) tasks are standby-tasks.ts's, which an assignment tells what to open,
// hand over to a new active here, or close (docs/engine.md "Standby tasks").
import type { TopicPartition } from '../../log/log-port.ts'
import type { RestoredOwner } from './changelog-restore.ts'
import { partitionKey } from './partition-group.ts'
import type { StreamTask } from './stream-task.ts'
import { partitionsByTask } from './task-names.ts'
import { BackgroundCloses } from './background-closes.ts'
import type { TaskStateManager } from './task-state-manager.ts'
import { TaskLifecycle, type StandbyTask } from './task-lifecycle.ts'
import { closeStores, StandbyTasks } from './standby-tasks.ts'
import { rtrace } from './rebalance-trace.ts'
import { closeActiveTask, initialiseRestored, seekToCommitted } from './active-task-steps.ts'
import type { ActiveTask, ManagedState, ManagedTask, ReplicaAssignment, TaskManagerOptions } from './task-manager-types.ts'

export type { ActiveTask, HandedOverStores, ManagedState, ManagedTask, ReplicaAssignment, TaskManagerOptions, TaskRestored } from './task-manager-types.ts'

const NO_REPLICAS: ReplicaAssignment = { standby: new Set(), warmup: new Set() }

export class TaskManager<T extends ManagedTask = StreamTask, S extends ManagedState = TaskStateManager> {
  readonly #o: TaskManagerOptions<T, S>
  readonly #subByTopic = new Map<string, number>()
  // One map per state (a task is in exactly one): the loop iterates the running ones every
  // iteration, so they are kept ready rather than filtered.
  readonly #running = new Map<string, ActiveTask<T, S>>()
  /** Stores restoring, inputs paused; the changelog reader drives them in restoreStep(). */
  readonly #restoring = new Map<string, ActiveTask<T, S>>()
  /** Revoked, stores open, waiting for the next assignment (eager protocol). */
  readonly #suspended = new Map<string, ActiveTask<T, S>>()
  /** Running tasks by input partition key. */
  readonly #byInput = new Map<string, ActiveTask<T, S>>()
  /** Standby and warm-up tasks, their opens and hand-overs. */
  readonly #sb: StandbyTasks<S>
  /** Revoked tasks whose stores are still closing (cooperative: the revocation returns once they
   *  committed); a task or standby of the same name opens only after its close ends. */
  readonly #closing = new BackgroundCloses()
  /** Stateful actives the last cooperative assignment gives this member whose partitions their
   *  owner still revokes, and of which no standby or warm-up runs here: reported as warm-ups at
   *  the next join (thread-subscription.ts) with their checkpoint, without opening anything. */
  #pendingActives: ReadonlySet<string> = new Set()
  /** Assignment changes under way (see #assigning). */
  #assignmentsRunning = 0

  constructor (options: TaskManagerOptions<T, S>) {
    this.#o = options
    for (const sub of options.subtopologies) for (const topic of sub.sourceTopics) this.#subByTopic.set(topic, sub.id)
    this.#sb = new StandbyTasks<S>({
      ...options,
      closing: name => this.#closing.get(name),
      closeInBackground: (name, close) => { this.#closeInBackground(name, close) },
      mayOpen: () => this.#assignmentsRunning === 0
    })
  }

  /** Tasks to process (and commit). */
  get running (): ReadonlyMap<string, ActiveTask<T, S>> { return this.#running }
  get restoring (): ReadonlyMap<string, ActiveTask<T, S>> { return this.#restoring }
  get suspended (): ReadonlyMap<string, ActiveTask<T, S>> { return this.#suspended }
  /** Running and restoring tasks (a restoring task's stores answer queries with STORE_NOT_READY). */
  get activeTasks (): ReadonlyMap<string, ActiveTask<T, S>> {
    return this.#restoring.size === 0 ? this.#running : new Map([...this.#running, ...this.#restoring])
  }

  get standbys (): ReadonlyMap<string, StandbyTask<S>> { return this.#sb.standbys }

  /** Actives assigned here whose partitions are still being revoked by their owner, with no copy
   *  open here (see handleIncrementalAssignment). */
  get pendingActives (): ReadonlySet<string> { return this.#pendingActives }

  /** Standbys (false) and warm-ups (true) assigned here and not opened yet (deferStandbys). */
  get pendingStandbys (): ReadonlyMap<string, boolean> { return this.#sb.pending }

  /** Starts opening pending standbys, at most `max` at a time (StandbyTasks.createPending). */
  async createPendingStandbys (max = Infinity): Promise<void> { await this.#sb.createPending(max) }

  /** Settles once no standby opened by createPendingStandbys() is still opening (of those `which`
   *  names, when given). */
  async standbysOpened (which?: (name: string) => boolean): Promise<void> { await this.#sb.opened(which) }

  /** Settles once every revoked task's stores are closed. */
  async closed (): Promise<void> { await this.#closing.settled() }

  /** Closes a revoked task or a standby no longer assigned in the background (tracked: the same
   *  task opens again here only after). */
  #closeInBackground (name: string, close: () => Promise<void>): void { this.#closing.run(name, close) }

  /** Settles once `task`'s standby here, closing because the task becomes active here, has its
   *  active task created (restoring from where the standby got); undefined when no such hand-over
   *  is under way. */
  handover (task: string): Promise<void> | undefined { return this.#sb.handover(task) }

  /** The running task reading this input partition (by partitionKey). */
  taskForInput (key: string): ActiveTask<T, S> | undefined { return this.#byInput.get(key) }

  /** Names of the tasks whose work a failed commit concerns (running and suspended). */
  committingTaskNames (): string[] { return [...this.#running.keys(), ...this.#suspended.keys()] }

  // ---- assignment changes (called from the rebalance callbacks) ----

  /** Revocation, after the commit (eager protocol: everything is revoked): every running task is
   *  suspended with its stores open, so one that comes back resumes without a restore. Restoring
   *  tasks stay as they are until the assignment says whether they stay. */
  suspendAll (committed: boolean): void {
    for (const active of [...this.#running.values()]) this.#suspend(active, committed)
  }

  #suspend (active: ActiveTask<T, S>, committed: boolean): void {
    const name = active.task.name
    if (committed) active.task.abortUncommitted() // clears buffered, unprocessed records only
    active.lifecycle.transitionTo('SUSPENDED')
    this.#running.delete(name)
    for (const tp of active.task.inputs) if (this.#byInput.get(partitionKey(tp)) === active) this.#byInput.delete(partitionKey(tp))
    this.#suspended.set(name, active)
    this.#o.onTaskSuspended?.(name)
  }

  /** Cooperative revocation, after the commit of every running task (one transaction carries all
   *  of them under exactly-once): the tasks of `partitions` — only the ones that move away —
   *  are suspended and closed, clean (checkpoint at the changelog end) when the commit succeeded,
   *  dirty otherwise; restoring ones stop where they got. Every other task is left alone. Returns
   *  the names of the tasks closed. */
  async handleRevocation (partitions: TopicPartition[], committed: boolean): Promise<string[]> {
    const revoked = this.#taskNames(partitions)
    const closed: string[] = []
    for (const name of revoked.keys()) {
      const running = this.#running.get(name)
      if (running !== undefined) this.#suspend(running, committed)
      const active = this.#suspended.get(name) ?? this.#restoring.get(name)
      if (active === undefined) continue
      // Out of the maps first: queries and the loop never see a task whose stores are closing.
      this.#forget(name, active)
      // Their work is committed (or dropped): the new owner needs nothing more from here, so the
      // member rejoins at once and the stores close meanwhile (checkpoints at the changelog ends
      // and store closes held every moving task up by ~1 s on a loaded machine; docs/engine.md
      // "Rebalancing"). The same task (as a standby, say) opens here only once they are closed.
      this.#closeInBackground(name, async () => { await this.#closeTask(active, committed) })
      closed.push(name)
    }
    return closed
  }

  /** A cooperative assignment: `added` are the partitions this member gets in this round (kept
   *  ones are not repeated). Tasks for them are created (restoring; a standby of the same task
   *  closes at its checkpoint first); running and restoring tasks stay as they are. `assigned`
   *  are the actives the leader's assignor wants here (AssignmentInfo, or null): a stateful one
   *  whose partitions are not here yet is still being revoked by its owner, so it runs as a
   *  warm-up until the follow-up round hands it over (it keeps a standby here current, and this
   *  member tells the leader it warms up, which makes the follow-up assignment the same). */
  async handleIncrementalAssignment (added: TopicPartition[], replicas: ReplicaAssignment = NO_REPLICAS, assigned: ReadonlySet<string> | null = null, isStateful: (task: string) => boolean = () => true): Promise<void> {
    // The opens under way of tasks this assignment keeps as standbys or warm-ups go on; those of
    // tasks it makes active here or drops settle first (their stores are handed over or closed).
    const actives = new Set([...this.#running.keys(), ...this.#restoring.keys(), ...this.#suspended.keys(), ...this.#taskNames(added).keys()])
    const kept = (name: string): boolean => !actives.has(name) && (replicas.standby.has(name) || replicas.warmup.has(name) || assigned?.has(name) === true)
    await this.#assigning(async () => { await this.#incrementalAssignment(added, replicas, assigned, isStateful) }, name => !kept(name))
  }

  /** Runs an assignment change: the standby opens under way that it concerns (`affected`; all,
   *  without it) settle first, and none starts until it is applied (it decides which standbys
   *  stay); then the pending ones start opening. A cold start's follow-up round, handing the
   *  warm-ups over, waited for every open under way, also those of standbys it kept
   *  (docs/benchmarks.md "Cold start, fourth pass"). */
  async #assigning (apply: () => Promise<void>, affected?: (name: string) => boolean): Promise<void> {
    this.#assignmentsRunning++
    try {
      if (this.#sb.opening) await this.standbysOpened(affected)
      await apply()
    } finally {
      this.#assignmentsRunning--
    }
    this.#openPendingNow()
  }

  async #incrementalAssignment (added: TopicPartition[], replicas: ReplicaAssignment, assigned: ReadonlySet<string> | null, isStateful: (task: string) => boolean): Promise<void> {
    const actives = new Set([...this.#running.keys(), ...this.#restoring.keys(), ...this.#suspended.keys(), ...this.#taskNames(added).keys()])
    const pending = [...assigned ?? []].filter(name => !actives.has(name) && isStateful(name))
    // A pending active with a copy here (standby or warm-up) keeps it, as a warm-up, current until
    // the hand-over. With deferStandbys, one without opens as a warm-up in the background, before
    // the other pending standbys: it catches up while its owner revokes it, off the rebalance
    // callback (the member rejoins at once), and hands its open stores to the active in the
    // follow-up round. Without deferStandbys it is not opened (opening it in the callback held
    // this member's rejoin up); its checkpoint stands for it at the next join.
    const standbys = this.#sb.standbys
    const early = this.#o.deferStandbys === true ? pending : pending.filter(name => standbys.has(name))
    this.#pendingActives = new Set(pending.filter(name => !early.includes(name) && !standbys.has(name)))
    const wanted: ReplicaAssignment = early.length === 0 ? replicas : { standby: replicas.standby, warmup: new Set([...early, ...replicas.warmup]) }
    const handedOver = this.#sb.beginHandover([...standbys.keys()].filter(name => actives.has(name)))
    try {
      // Those not wanted close in the background, as revoked tasks: this member rejoins
      // (cooperative follow-up round) only once this callback returns.
      this.#sb.handOverOrCloseInBackground(actives, wanted)
      rtrace('tasks.standbysClosed', { handedOver: this.#sb.handedOverNames() })
      await this.createTasks(added.filter(tp => !this.#byInput.has(partitionKey(tp))))
      rtrace('tasks.created')
    } finally {
      await this.#sb.closeUnclaimedHandOvers()
      handedOver()
    }
    await this.#sb.assign(wanted, actives)
  }

  /** The new assignment: suspended tasks not kept close clean (checkpoint at the changelog end),
   *  restoring ones not kept stop where they got (checkpoint there); kept suspended tasks run
   *  again; new tasks open their stores and start restoring. */
  async handleAssignment (partitions: TopicPartition[], replicas: ReplicaAssignment = NO_REPLICAS): Promise<void> {
    await this.#assigning(async () => { await this.#eagerAssignment(partitions, replicas) })
  }

  async #eagerAssignment (partitions: TopicPartition[], replicas: ReplicaAssignment): Promise<void> {
    const wanted = this.#taskNames(partitions)
    const handedOver = this.#sb.beginHandover([...this.#sb.standbys.keys()].filter(name => wanted.has(name)))
    try {
      await this.#applyAssignment(partitions, wanted, replicas)
    } finally {
      await this.#sb.closeUnclaimedHandOvers()
      handedOver()
    }
    await this.#sb.assign(replicas, wanted)
  }

  /** deferStandbys: the assignment's standbys start opening (StandbyTasks.openPendingNow). */
  #openPendingNow (): void { this.#sb.openPendingNow() }

  async #applyAssignment (partitions: TopicPartition[], wanted: Map<string, TopicPartition[]>, replicas: ReplicaAssignment): Promise<void> {
    // Standbys of tasks active here now hand their stores over; those no longer assigned close at
    // their checkpoint.
    await this.#sb.handOverOrClose(wanted, replicas)
    for (const [name, active] of this.#suspended) {
      if (!wanted.has(name)) { this.#suspended.delete(name); await this.#closeTask(active, true) }
    }
    for (const [name, active] of this.#restoring) {
      if (!wanted.has(name)) { this.#restoring.delete(name); await this.#closeTask(active, false) }
    }
    // Pauses last only as long as an assignment: pause the inputs of those still restoring again.
    const stillRestoring = [...this.#restoring.values()].flatMap(a => a.task.inputs)
    if (stillRestoring.length > 0) this.#o.consumer.pause(stillRestoring)
    for (const [name, active] of this.#suspended) {
      this.#startRunning(active)
      this.#suspended.delete(name)
    }
    await this.createTasks(partitions.filter(tp => !this.#byInput.has(partitionKey(tp))))
  }

  /** Applies what the standby reader fetched (never waits for the changelogs to grow). */
  async standbyStep (): Promise<void> { await this.#sb.step() }

  /** Checkpoints the standbys whose stores moved since their last checkpoint. */
  checkpointStandbys (): void { this.#sb.checkpoint() }

  /** Partitions lost without a revocation (the member was kicked out): their tasks close dirty. */
  async handleLost (partitions: TopicPartition[]): Promise<void> {
    const lost = this.#taskNames(partitions)
    for (const [name, active] of [...this.#running, ...this.#suspended, ...this.#restoring]) {
      if (!lost.has(name)) continue
      this.#forget(name, active)
      await this.#closeTask(active, false)
    }
  }

  /** Every task closes dirty (a failed commit migrated or corrupted them). Returns the inputs of
   *  the running and restoring ones, for the caller to rebuild those still assigned. */
  async closeAllDirty (): Promise<TopicPartition[]> {
    const owned = [...this.#running.values(), ...this.#restoring.values()].flatMap(a => a.task.inputs)
    const all = [...this.#running.values(), ...this.#suspended.values(), ...this.#restoring.values()]
    this.#clear()
    for (const active of all) await this.#closeTask(active, false)
    return owned
  }

  /** Shutdown: running and suspended tasks close clean when the last commit succeeded, restoring
   *  ones where their restore got. A task that fails to close does not keep the others open. */
  async closeAll (committed: boolean): Promise<void> {
    this.#pendingActives = new Set()
    await this.#sb.stopOpening()
    await this.closed()
    const committedWork = [...this.#running.values(), ...this.#suspended.values()]
    const restoring = [...this.#restoring.values()]
    this.#clear()
    for (const active of committedWork) await this.#closeTask(active, committed).catch(() => {})
    for (const active of restoring) await this.#closeTask(active, false).catch(() => {})
    await this.#sb.closeAll()
  }

  /** A task for each (sub-topology, partition) of `partitions` not there yet, restoring. */
  async createTasks (partitions: TopicPartition[]): Promise<void> {
    // Concurrently (issue 16: one after the other, their store opens and changelog offset
    // look-ups took a second for 12 tasks on a loaded machine); the first failure is thrown once
    // all have settled (those created stay restoring).
    const created = await Promise.allSettled([...this.#taskNames(partitions).keys()].map(name => this.#createTask(name)))
    for (const result of created) if (result.status === 'rejected') throw result.reason
  }

  async #createTask (name: string): Promise<void> {
    if (this.#running.has(name) || this.#restoring.has(name)) return
    await this.#closing.get(name)
    if (this.#running.has(name) || this.#restoring.has(name)) return
    const [subText, partText] = name.split('_')
    const standby = this.#sb.takeHandedOver(name)
    let created: { task: T, state: S }
    try {
      created = await this.#o.createTask(name, this.#o.subtopologies[Number(subText)]!, Number(partText), standby)
    } catch (error) {
      if (standby !== undefined) await closeStores(standby.state, standby.offsets).catch(() => {})
      throw error
    }
    const { task, state } = created
    const active: ActiveTask<T, S> = { task, state, lifecycle: new TaskLifecycle(name) }
    // Visible to interactive queries (as RESTORING) while it restores; its inputs are paused
    // until then (records a poll returned meanwhile are dropped: it seeks to its committed
    // offsets when it starts running).
    active.lifecycle.transitionTo('RESTORING')
    this.#restoring.set(name, active)
    this.#o.consumer.pause(task.inputs)
    try {
      await this.#o.restorer.register(name, state.changelogRestores())
    } catch (error) {
      this.#restoring.delete(name)
      active.lifecycle.transitionTo('CLOSED')
      await state.close()
      throw error
    }
  }

  // ---- restore ----

  /** One fetch for every restoring task (docs/engine.md "How a restore runs"); the tasks it
   *  completes start running from their committed offsets. Returns how many restores ended. */
  async restoreStep (maxWaitMs: number): Promise<number> {
    const done = await this.#o.restorer.step(maxWaitMs)
    this.#o.onRestoreStep?.(this.#restoring.size)
    if (done.length === 0) return 0
    const started: TopicPartition[] = []
    for (const restored of done) {
      const active = this.#restoring.get(restored.owner)
      if (!active) continue
      this.#restoring.delete(restored.owner)
      this.#taskRestored(active, restored)
      started.push(...active.task.inputs)
    }
    this.#o.consumer.resume(started)
    await this.seekToCommitted(started)
    rtrace('tasks.started', { n: started.length })
    return done.length
  }

  #taskRestored (active: ActiveTask<T, S>, restored: RestoredOwner): void { initialiseRestored(active, restored, this.#o); this.#startRunning(active) }

  // ---- rewinds (a failed commit: docs/engine.md "Faults and recovery") ----

  /** The transaction aborted: drop the tasks' uncommitted work and read again from the committed
   *  offsets. */
  async rewind (tasks: Iterable<ActiveTask<T, S>>): Promise<void> {
    const inputs: TopicPartition[] = []
    for (const { task } of tasks) { task.abortUncommitted(); inputs.push(...task.inputs) }
    await this.seekToCommitted(inputs)
  }

  /** Seeks the inputs still assigned to the group's committed offsets (the log start without). */
  async seekToCommitted (inputs: TopicPartition[]): Promise<void> { await seekToCommitted(inputs, this.#o) }

  // ---- internals ----

  #startRunning (active: ActiveTask<T, S>): void {
    active.lifecycle.transitionTo('RUNNING')
    this.#running.set(active.task.name, active)
    for (const tp of active.task.inputs) this.#byInput.set(partitionKey(tp), active)
    active.state.setQueryableState('READY')
  }

  #taskNames (partitions: TopicPartition[]): Map<string, TopicPartition[]> { return partitionsByTask(partitions, this.#subByTopic) }

  #forget (name: string, active: ActiveTask<T, S>): void {
    this.#running.delete(name); this.#suspended.delete(name); this.#restoring.delete(name)
    for (const tp of active.task.inputs) if (this.#byInput.get(partitionKey(tp)) === active) this.#byInput.delete(partitionKey(tp))
  }

  #clear (): void {
    this.#running.clear(); this.#suspended.clear(); this.#restoring.clear(); this.#byInput.clear()
  }

  /** Closes with a checkpoint (clean) or at the last commit's offsets (active-task-steps.ts). */
  async #closeTask (active: ActiveTask<T, S>, clean: boolean): Promise<void> { await closeActiveTask(active, clean, this.#o) }
}
