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
// Standby (and warm-up) tasks (task-lifecycle.ts StandbyTask) are one more map here: their stores
// open as an active task's, registered with the thread's standby changelog reader (which never
// completes them), checkpointed every few seconds and on close, never returned by running. A
// standby whose task becomes active here hands its open stores to the active (no close, no
// reopen), which restores only the delta from where the standby reader got (docs/engine.md
// "Standby tasks").
import type { GroupConsumer, LogAdmin, TopicPartition } from '../../log/log-port.ts'
import type { Subtopology } from '../topology.ts'
import type { ChangelogReader, ChangelogRestore, RestoredOwner } from './changelog-reader.ts'
import { partitionKey } from './partition-group.ts'
import type { StreamTask } from './stream-task.ts'
import { taskIdToString } from './stream-task.ts'
import type { TaskStateManager } from './task-state-manager.ts'
import { TaskLifecycle, type StandbyTask } from './task-lifecycle.ts'
import { rtrace } from './rebalance-trace.ts'

/** What the task manager uses of a task (StreamTask; fakes in unit tests). */
export interface ManagedTask {
  readonly name: string
  readonly inputs: TopicPartition[]
  initialize (): void
  abortUncommitted (): void
  close (): void
}

/** What the task manager uses of a task's stores (TaskStateManager). */
export interface ManagedState {
  changelogRestores (): ChangelogRestore[]
  restored (offsets: ReadonlyArray<TopicPartition & { offset: bigint }>): void
  setQueryableState (state: 'RESTORING' | 'READY' | 'CLOSED'): void
  checkpointAtEnd (admin: Pick<LogAdmin, 'listOffsets'>): Promise<void>
  writeCheckpoint (): void
  close (): Promise<void>
}

export interface ActiveTask<T extends ManagedTask = StreamTask, S extends ManagedState = TaskStateManager> {
  readonly task: T
  readonly state: S
  readonly lifecycle: TaskLifecycle
}

export interface TaskRestored {
  readonly task: string
  readonly durationMs: number
  readonly records: number
}

export interface TaskManagerOptions<T extends ManagedTask, S extends ManagedState> {
  readonly applicationId: string
  readonly subtopologies: readonly Subtopology[]
  readonly admin: Pick<LogAdmin, 'listOffsets' | 'listCommittedOffsets'>
  readonly consumer: Pick<GroupConsumer, 'pause' | 'resume' | 'seek' | 'assignment'>
  readonly restorer: Pick<ChangelogReader, 'register' | 'unregister' | 'step'>
  /** Opens the task's stores (queryable as RESTORING) and builds the task, not yet initialised.
   *  With `standby`: a standby of the task here hands its open stores over instead (the creator
   *  makes them the active's, restoring from `standby.offsets`: TaskStateManager.handOver); if
   *  it throws, the task manager closes them. */
  readonly createTask: (name: string, subtopology: Subtopology, partition: number, standby?: HandedOverStores<S>) => Promise<{ task: T, state: S }>
  readonly onTaskRestored?: (restored: TaskRestored) => void
  /** After each restore step's fetch, with the tasks still restoring before any completes. */
  readonly onRestoreStep?: (restoring: number) => void
  /** A task closed, or its restore stopped or ended (restore progress and store metrics forget it). */
  readonly onRestoreEnded?: (task: string) => void
  readonly onTaskClosed?: (task: string) => void
  /** A running active task was suspended by a revocation (eager: every one at every rebalance;
   *  cooperative: only those that move away, just before they close). */
  readonly onTaskSuspended?: (task: string) => void
  /** Opens a standby task's stores (as an active task's, same directories). Without it (or
   *  without standbyReader) standby assignments are ignored. */
  readonly createStandby?: (name: string, subtopology: Subtopology, partition: number) => Promise<S>
  /** The thread's standby changelog reader (ChangelogReader in standby mode). */
  readonly standbyReader?: Pick<ChangelogReader, 'register' | 'unregister' | 'step' | 'positions'>
  readonly onStandbyClosed?: (task: string) => void
  /** Standbys an assignment adds are not opened in the rebalance callback but in the background,
   *  while no active task restores (createPendingStandbys; the stream thread sets it): opening
   *  their stores (seconds for 8 on a loaded machine) held the new actives' restore and this
   *  member's next join up (docs/engine.md "Standby tasks"). */
  readonly deferStandbys?: boolean
}

/** A standby's open stores, handed to its task's new active here, and how far the standby
 *  reader had applied each changelog partition into them. */
export interface HandedOverStores<S> {
  readonly state: S
  readonly offsets: ReadonlyArray<TopicPartition & { offset: bigint }>
}

/** The tasks an assignment gives this member besides its actives (their names). */
export interface ReplicaAssignment {
  readonly standby: ReadonlySet<string>
  readonly warmup: ReadonlySet<string>
}

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
  /** Standby and warm-up tasks (RUNNING from creation to close). */
  readonly #standbys = new Map<string, StandbyTask<S>>()
  /** Tasks whose standby here closes because they become active here, until their active task
   *  exists (reads of the copy wait for it: docs/engine.md "Interactive queries"). */
  readonly #handovers = new Map<string, Promise<void>>()
  /** Stores of standbys that ended because their task becomes active here, until that active
   *  task takes them (#createTask). */
  readonly #handedOver = new Map<string, HandedOverStores<S>>()
  /** Revoked tasks whose stores are still closing (cooperative: the revocation returns once they
   *  committed); a task or standby of the same name opens only after its close ends. */
  readonly #closing = new Map<string, Promise<void>>()
  /** Stateful actives the last cooperative assignment gives this member whose partitions their
   *  owner still revokes, and of which no standby or warm-up runs here: reported as warm-ups at
   *  the next join (thread-subscription.ts) with their checkpoint, without opening anything. */
  #pendingActives: ReadonlySet<string> = new Set()
  /** Standbys and warm-ups of the last assignment not opened yet (deferStandbys): name -> warm-up. */
  readonly #standbysToCreate = new Map<string, boolean>()
  /** Pending standbys whose stores are opening (createPendingStandbys): name -> warm-up. */
  readonly #opening = new Map<string, boolean>()
  /** Those opens, until settled; the first failure, thrown by the next createPendingStandbys(). */
  readonly #opens = new Set<Promise<void>>()
  #openError: unknown
  /** How many standbys may be opening at once (the last createPendingStandbys() max). */
  #openMax = 2
  /** Assignment changes under way (see #assigning). */
  #assignmentsRunning = 0

  constructor (options: TaskManagerOptions<T, S>) {
    this.#o = options
    for (const sub of options.subtopologies) for (const topic of sub.sourceTopics) this.#subByTopic.set(topic, sub.id)
  }

  /** Tasks to process (and commit). */
  get running (): ReadonlyMap<string, ActiveTask<T, S>> { return this.#running }
  get restoring (): ReadonlyMap<string, ActiveTask<T, S>> { return this.#restoring }
  get suspended (): ReadonlyMap<string, ActiveTask<T, S>> { return this.#suspended }
  /** Running and restoring tasks (a restoring task's stores answer queries with STORE_NOT_READY). */
  get activeTasks (): ReadonlyMap<string, ActiveTask<T, S>> {
    return this.#restoring.size === 0 ? this.#running : new Map([...this.#running, ...this.#restoring])
  }

  get standbys (): ReadonlyMap<string, StandbyTask<S>> { return this.#standbys }

  /** Actives assigned here whose partitions are still being revoked by their owner, with no copy
   *  open here (see handleIncrementalAssignment). */
  get pendingActives (): ReadonlySet<string> { return this.#pendingActives }

  /** Standbys (false) and warm-ups (true) assigned here and not opened yet (deferStandbys). */
  get pendingStandbys (): ReadonlyMap<string, boolean> {
    return this.#opening.size === 0 ? this.#standbysToCreate : new Map([...this.#opening, ...this.#standbysToCreate])
  }

  /** Starts opening pending standbys and warm-ups (deferStandbys), so that at most `max` are
   *  opening at a time, and returns without waiting for them: RocksDB opens run off the event
   *  loop, and the loop that awaited two per iteration stalled the running tasks (and this
   *  member's rejoin) for their whole open in a rolling restart. Each open that ends starts the
   *  next pending one while no active task restores (the loop may be waiting in a rebalance's
   *  poll meanwhile: a restarted member's warm-ups then open before the follow-up round hands
   *  their actives over). An assignment waits for the opens under way before it changes anything
   *  (standbysOpened). Throws the failure of an earlier open. */
  async createPendingStandbys (max = Infinity): Promise<void> {
    const error = this.#openError
    if (error !== undefined) { this.#openError = undefined; throw error }
    this.#openMax = max
    this.#startOpens()
  }

  #startOpens (): void {
    const names = [...this.#standbysToCreate.keys()].slice(0, Math.max(0, this.#openMax - this.#opening.size))
    for (const name of names) {
      const warmup = this.#standbysToCreate.get(name) === true
      this.#standbysToCreate.delete(name)
      this.#opening.set(name, warmup)
      const open: Promise<void> = this.#openStandbys([name], new Set(warmup ? [name] : []))
        .catch((failure: unknown) => { this.#openError ??= failure })
        .finally(() => {
          this.#opening.delete(name)
          this.#opens.delete(open)
          this.#openPendingNow()
        })
      this.#opens.add(open)
    }
  }

  /** Settles once no standby opened by createPendingStandbys() is still opening. */
  async standbysOpened (): Promise<void> {
    while (this.#opens.size > 0) await Promise.allSettled([...this.#opens])
  }

  /** Settles once every revoked task's stores are closed. */
  async closed (): Promise<void> {
    while (this.#closing.size > 0) await Promise.allSettled([...this.#closing.values()])
  }

  /** Closes a revoked task or a standby no longer assigned in the background (tracked: the same
   *  task opens again here only after). */
  #closeInBackground (name: string, close: () => Promise<void>): void {
    const previous = this.#closing.get(name)
    const done: Promise<void> = (async () => {
      if (previous !== undefined) await previous
      await close().catch(() => { /* its stores are gone either way */ })
    })().finally(() => { if (this.#closing.get(name) === done) this.#closing.delete(name) })
    this.#closing.set(name, done)
  }

  /** Settles once `task`'s standby here, closing because the task becomes active here, has its
   *  active task created (restoring from where the standby got); undefined when no such hand-over
   *  is under way. */
  handover (task: string): Promise<void> | undefined { return this.#handovers.get(task) }

  /** Marks the standbys of `names` as handing over to an active; the returned call ends it. */
  #beginHandover (names: readonly string[]): () => void {
    const mine = names.filter(name => this.#standbys.has(name) && !this.#handovers.has(name))
    if (mine.length === 0) return () => {}
    let end!: () => void
    const done = new Promise<void>(resolve => { end = resolve })
    for (const name of mine) this.#handovers.set(name, done)
    return () => { for (const name of mine) if (this.#handovers.get(name) === done) this.#handovers.delete(name); end() }
  }

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
    await this.#assigning(async () => { await this.#incrementalAssignment(added, replicas, assigned, isStateful) })
  }

  /** Runs an assignment change: the standby opens under way settle first and start no others
   *  until it is applied (it decides which standbys stay); then the pending ones start opening. */
  async #assigning (apply: () => Promise<void>): Promise<void> {
    this.#assignmentsRunning++
    try {
      if (this.#opens.size > 0) await this.standbysOpened()
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
    const early = this.#o.deferStandbys === true ? pending : pending.filter(name => this.#standbys.has(name))
    this.#pendingActives = new Set(pending.filter(name => !early.includes(name) && !this.#standbys.has(name)))
    const wanted: ReplicaAssignment = early.length === 0 ? replicas : { standby: replicas.standby, warmup: new Set([...early, ...replicas.warmup]) }
    const handedOver = this.#beginHandover([...this.#standbys.keys()].filter(name => actives.has(name)))
    try {
      for (const [name, standby] of this.#standbys) {
        if (actives.has(name)) this.#handOverStandby(standby)
        // In the background, as revoked tasks: this member rejoins (cooperative follow-up round)
        // only once this callback returns.
        else if (!wanted.standby.has(name) && !wanted.warmup.has(name)) this.#closeStandbyInBackground(standby)
      }
      rtrace('tasks.standbysClosed', { handedOver: [...this.#handedOver.keys()] })
      await this.createTasks(added.filter(tp => !this.#byInput.has(partitionKey(tp))))
      rtrace('tasks.created')
    } finally {
      await this.#closeUnclaimedHandOvers()
      handedOver()
    }
    await this.#createStandbys(wanted, actives)
  }

  /** The new assignment: suspended tasks not kept close clean (checkpoint at the changelog end),
   *  restoring ones not kept stop where they got (checkpoint there); kept suspended tasks run
   *  again; new tasks open their stores and start restoring. */
  async handleAssignment (partitions: TopicPartition[], replicas: ReplicaAssignment = NO_REPLICAS): Promise<void> {
    await this.#assigning(async () => { await this.#eagerAssignment(partitions, replicas) })
  }

  async #eagerAssignment (partitions: TopicPartition[], replicas: ReplicaAssignment): Promise<void> {
    const wanted = this.#taskNames(partitions)
    const handedOver = this.#beginHandover([...this.#standbys.keys()].filter(name => wanted.has(name)))
    try {
      await this.#applyAssignment(partitions, wanted, replicas)
    } finally {
      await this.#closeUnclaimedHandOvers()
      handedOver()
    }
    await this.#createStandbys(replicas, wanted)
  }

  /** deferStandbys: with no active task restoring, the assignment's standbys (warm-ups first)
   *  start opening now, in the background, rather than at the loop's next iteration, which a
   *  member without partitions reaches only after its follow-up join. */
  #openPendingNow (): void {
    if (this.#o.deferStandbys === true && this.#restoring.size === 0 && this.#openError === undefined && this.#assignmentsRunning === 0) this.#startOpens()
  }

  async #applyAssignment (partitions: TopicPartition[], wanted: Map<string, TopicPartition[]>, replicas: ReplicaAssignment): Promise<void> {
    // Standbys of tasks active here now hand their stores over; those no longer assigned close at
    // their checkpoint.
    for (const [name, standby] of this.#standbys) {
      if (wanted.has(name)) this.#handOverStandby(standby)
      else if (!replicas.standby.has(name) && !replicas.warmup.has(name)) await this.#closeStandby(standby)
    }
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

  async #createStandbys (replicas: ReplicaAssignment, actives: { has: (name: string) => boolean }): Promise<void> {
    const { createStandby, standbyReader } = this.#o
    if (createStandby === undefined || standbyReader === undefined) return
    // Warm-ups first (the assignment's order): they are to take an active over.
    const names = [...new Set([...replicas.warmup, ...replicas.standby])].filter(name => !actives.has(name))
    this.#standbysToCreate.clear()
    const toOpen: string[] = []
    for (const name of names) {
      const existing = this.#standbys.get(name)
      if (existing !== undefined) existing.warmup = replicas.warmup.has(name)
      else if (this.#o.deferStandbys === true) this.#standbysToCreate.set(name, replicas.warmup.has(name))
      else toOpen.push(name)
    }
    await this.#openStandbys(toOpen, replicas.warmup)
  }

  async #openStandbys (names: readonly string[], warmups: ReadonlySet<string>): Promise<void> {
    const { createStandby, standbyReader } = this.#o
    if (createStandby === undefined || standbyReader === undefined) return
    const replicas = { warmup: warmups }
    const created = await Promise.allSettled(names.map(async name => {
      if (this.#standbys.has(name)) return
      await this.#closing.get(name)
      if (this.#standbys.has(name)) return
      const [subText, partText] = name.split('_')
      const sub = this.#o.subtopologies[Number(subText)]
      if (sub === undefined) return
      const state = await createStandby(name, sub, Number(partText))
      const standby: StandbyTask<S> = { type: 'standby', name, state, lifecycle: new TaskLifecycle(name, 'standby'), warmup: replicas.warmup.has(name), checkpointed: '' }
      try {
        await standbyReader.register(name, state.changelogRestores())
      } catch (error) {
        standby.lifecycle.transitionTo('CLOSED')
        await state.close()
        throw error
      }
      standby.lifecycle.transitionTo('RUNNING')
      this.#standbys.set(name, standby)
    }))
    for (const result of created) if (result.status === 'rejected') throw result.reason
  }

  /** Applies what the standby reader fetched (never waits for the changelogs to grow). */
  async standbyStep (): Promise<void> {
    if (this.#standbys.size > 0) await this.#o.standbyReader?.step(0)
  }

  /** Checkpoints the standbys whose stores moved since their last checkpoint. */
  checkpointStandbys (): void {
    for (const standby of this.#standbys.values()) {
      try { this.#checkpointStandby(standby) } catch { /* the next one, or the close, writes it */ }
    }
  }

  #checkpointStandby (standby: StandbyTask<S>): void {
    const positions = this.#o.standbyReader?.positions(standby.name) ?? []
    const text = positions.map(p => `${p.topic}:${p.partition}:${p.offset}`).join(',')
    if (text === standby.checkpointed) return
    // writeCheckpoint() syncs the stores' WAL before the checkpoint claims the records.
    standby.state.restored(positions)
    standby.state.writeCheckpoint()
    standby.checkpointed = text
  }

  /** The standby ends and its open stores wait for the task's active here (#createTask), with
   *  the offsets the standby reader applied: the active restores from there. */
  #handOverStandby (standby: StandbyTask<S>): void {
    this.#standbys.delete(standby.name)
    standby.lifecycle.transitionTo('CLOSED')
    const offsets = this.#o.standbyReader?.unregister(standby.name) ?? []
    this.#handedOver.set(standby.name, { state: standby.state, offsets })
    this.#o.onStandbyClosed?.(standby.name)
  }

  /** Handed-over stores no active took (its creation failed): closed at the offsets applied. */
  async #closeUnclaimedHandOvers (): Promise<void> {
    for (const [name, { state, offsets }] of [...this.#handedOver]) {
      this.#handedOver.delete(name)
      await this.#closeStores(state, offsets).catch(() => { /* gone either way */ })
    }
  }

  async #closeStores (state: S, offsets: ReadonlyArray<TopicPartition & { offset: bigint }>): Promise<void> {
    try {
      state.restored(offsets)
      state.writeCheckpoint()
    } catch {
      // No checkpoint: the next owner here restores from the changelog (slower, still correct).
    }
    await state.close()
  }

  /** The standby ends now (no more changelog records for it); its stores close in the background. */
  #closeStandbyInBackground (standby: StandbyTask<S>): void {
    this.#standbys.delete(standby.name)
    standby.lifecycle.transitionTo('CLOSED')
    let offsets: Array<TopicPartition & { offset: bigint }> = []
    try { offsets = this.#o.standbyReader?.unregister(standby.name) ?? [] } catch { /* closes without */ }
    this.#o.onStandbyClosed?.(standby.name)
    this.#closeInBackground(standby.name, async () => { await this.#closeStores(standby.state, offsets) })
  }

  async #closeStandby (standby: StandbyTask<S>): Promise<void> {
    this.#standbys.delete(standby.name)
    standby.lifecycle.transitionTo('CLOSED')
    try {
      const positions = this.#o.standbyReader?.unregister(standby.name) ?? []
      standby.state.restored(positions)
      standby.state.writeCheckpoint()
    } catch {
      // No checkpoint: the next owner here restores from the changelog (slower, still correct).
    }
    await standby.state.close()
    this.#o.onStandbyClosed?.(standby.name)
  }

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
    this.#standbysToCreate.clear()
    await this.standbysOpened()
    this.#openError = undefined
    await this.closed()
    const committedWork = [...this.#running.values(), ...this.#suspended.values()]
    const restoring = [...this.#restoring.values()]
    this.#clear()
    for (const active of committedWork) await this.#closeTask(active, committed).catch(() => {})
    for (const active of restoring) await this.#closeTask(active, false).catch(() => {})
    for (const standby of [...this.#standbys.values()]) await this.#closeStandby(standby).catch(() => {})
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
    const standby = this.#handedOver.get(name)
    this.#handedOver.delete(name)
    let created: { task: T, state: S }
    try {
      created = await this.#o.createTask(name, this.#o.subtopologies[Number(subText)]!, Number(partText), standby)
    } catch (error) {
      if (standby !== undefined) await this.#closeStores(standby.state, standby.offsets).catch(() => {})
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

  #taskRestored (active: ActiveTask<T, S>, restored: RestoredOwner): void {
    const { task, state } = active
    state.restored(restored.offsets)
    this.#o.onRestoreEnded?.(task.name)
    this.#o.onTaskRestored?.({ task: task.name, durationMs: restored.durationMs, records: restored.records })
    try {
      task.initialize()
    } catch (error) {
      active.lifecycle.transitionTo('CLOSED')
      void state.close()
      throw error
    }
    this.#startRunning(active)
  }

  // ---- rewinds (a failed commit: docs/engine.md "Faults and recovery") ----

  /** The transaction aborted: drop the tasks' uncommitted work and read again from the committed
   *  offsets. */
  async rewind (tasks: Iterable<ActiveTask<T, S>>): Promise<void> {
    const inputs: TopicPartition[] = []
    for (const { task } of tasks) { task.abortUncommitted(); inputs.push(...task.inputs) }
    await this.seekToCommitted(inputs)
  }

  /** Seeks the inputs still assigned to the group's committed offsets (the log start without). */
  async seekToCommitted (inputs: TopicPartition[]): Promise<void> {
    if (inputs.length === 0) return
    const admin = this.#o.admin
    const committed = new Map((await admin.listCommittedOffsets(this.#o.applicationId, inputs)).map(o => [partitionKey(o), o.offset]))
    const missing = inputs.filter(tp => !committed.has(partitionKey(tp)))
    const earliest = missing.length > 0 ? await admin.listOffsets(missing, 'earliest') : []
    for (const o of earliest) committed.set(partitionKey(o), o.offset)
    const assigned = new Set(this.#o.consumer.assignment().map(partitionKey))
    for (const tp of inputs) {
      if (assigned.has(partitionKey(tp))) this.#o.consumer.seek({ ...tp, offset: committed.get(partitionKey(tp)) ?? 0n })
    }
  }

  // ---- internals ----

  #startRunning (active: ActiveTask<T, S>): void {
    active.lifecycle.transitionTo('RUNNING')
    this.#running.set(active.task.name, active)
    for (const tp of active.task.inputs) this.#byInput.set(partitionKey(tp), active)
    active.state.setQueryableState('READY')
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

  #forget (name: string, active: ActiveTask<T, S>): void {
    this.#running.delete(name); this.#suspended.delete(name); this.#restoring.delete(name)
    for (const tp of active.task.inputs) if (this.#byInput.get(partitionKey(tp)) === active) this.#byInput.delete(partitionKey(tp))
  }

  #clear (): void {
    this.#running.clear(); this.#suspended.clear(); this.#restoring.clear(); this.#byInput.clear()
  }

  /** clean: the commit already happened; checkpoint at the changelog end so a restart skips the
   *  restore. Dirty: drop what is not committed and checkpoint the changelog offsets of the last
   *  commit, which is what the stores hold (writes reach them only after their commit;
   *  docs/engine.md "Faults and recovery", dirty close). */
  async #closeTask (active: ActiveTask<T, S>, clean: boolean): Promise<void> {
    const wasRestoring = active.lifecycle.is('RESTORING')
    active.lifecycle.transitionTo('CLOSED')
    active.task.close()
    try {
      if (wasRestoring) {
        // Still restoring: the stores hold the changelogs up to where the restore got (only
        // committed records are applied), so that is a valid checkpoint to go on from.
        active.state.restored(this.#o.restorer.unregister(active.task.name))
        this.#o.onRestoreEnded?.(active.task.name)
        active.state.writeCheckpoint()
      } else if (clean) {
        await active.state.checkpointAtEnd(this.#o.admin)
      } else {
        active.task.abortUncommitted()
        active.state.writeCheckpoint()
      }
    } catch {
      // No checkpoint: the next owner here restores from the changelog (slower, still correct).
    }
    await active.state.close()
    this.#o.onTaskClosed?.(active.task.name)
  }
}
