// A stream thread's standby and warm-up tasks (task-lifecycle.ts StandbyTask), for the task
// manager (task-manager.ts): their stores open as an active task's, registered with the thread's
// standby changelog reader (which never completes them), checkpointed every few seconds and on
// close, never processed. Opens are deferred (deferStandbys) and run in the background, a few at
// a time; a standby whose task becomes active here hands its open stores to the active (no close,
// no reopen), which restores only the delta from where the standby reader got (docs/engine.md
// "Standby tasks").
import type { ChangelogReader } from './changelog-reader.ts'
import type { Subtopology } from '../topology.ts'
import type { TopicPartition } from '../../log/log-port.ts'
import { rtrace } from './rebalance-trace.ts'
import { TaskLifecycle, type StandbyTask } from './task-lifecycle.ts'
import type { HandedOverStores, ManagedState, ReplicaAssignment } from './task-manager-types.ts'

type Offsets = ReadonlyArray<TopicPartition & { offset: bigint }>

export interface StandbyTasksOptions<S extends ManagedState> {
  readonly subtopologies: readonly Subtopology[]
  /** Opens a standby task's stores (as an active task's, same directories). */
  readonly createStandby?: (name: string, subtopology: Subtopology, partition: number) => Promise<S>
  /** The thread's standby changelog reader (ChangelogReader in standby mode). */
  readonly standbyReader?: Pick<ChangelogReader, 'register' | 'unregister' | 'step' | 'positions'> & Partial<Pick<ChangelogReader, 'expectRegistrations'>>
  readonly onStandbyClosed?: (task: string) => void
  /** See TaskManagerOptions.deferStandbys. */
  readonly deferStandbys?: boolean
  /** The close under way of a task of this name (active or standby), if any. */
  readonly closing: (name: string) => Promise<void> | undefined
  /** Closes in the background, tracked with the task manager's closes. */
  readonly closeInBackground: (name: string, close: () => Promise<void>) => void
  /** Whether a finished open may start the next pending one now (no active restores, no
   *  assignment under way). */
  readonly mayOpen: () => boolean
}

export class StandbyTasks<S extends ManagedState> {
  readonly #o: StandbyTasksOptions<S>
  /** Standby and warm-up tasks (RUNNING from creation to close). */
  readonly #standbys = new Map<string, StandbyTask<S>>()
  /** Tasks whose standby here closes because they become active here, until their active task
   *  exists (reads of the copy wait for it: docs/engine.md "Interactive queries"). */
  readonly #handovers = new Map<string, Promise<void>>()
  /** Stores of standbys that ended because their task becomes active here, until that active
   *  task takes them (takeHandedOver). */
  readonly #handedOver = new Map<string, HandedOverStores<S>>()
  /** Standbys and warm-ups of the last assignment not opened yet (deferStandbys): name -> warm-up. */
  readonly #toCreate = new Map<string, boolean>()
  /** Pending standbys whose stores are opening (createPending): name -> warm-up. */
  readonly #opening = new Map<string, boolean>()
  /** Those opens by name, until settled; the first failure, thrown by the next createPending(). */
  readonly #opens = new Map<string, Promise<void>>()
  #openError: unknown
  /** How many standbys may be opening at once (the last createPending() max). */
  #openMax = 2

  constructor (options: StandbyTasksOptions<S>) {
    this.#o = options
  }

  get standbys (): ReadonlyMap<string, StandbyTask<S>> { return this.#standbys }
  get opening (): boolean { return this.#opens.size > 0 }

  /** Standbys (false) and warm-ups (true) assigned here and not opened yet. */
  get pending (): ReadonlyMap<string, boolean> {
    return this.#opening.size === 0 ? this.#toCreate : new Map([...this.#opening, ...this.#toCreate])
  }

  /** Starts opening pending standbys and warm-ups (deferStandbys), so that at most `max` are
   *  opening at a time, and returns without waiting for them: RocksDB opens run off the event
   *  loop, and the loop that awaited two per iteration stalled the running tasks (and this
   *  member's rejoin) for their whole open in a rolling restart. Each open that ends starts the
   *  next pending one, also while actives restore (the loop may be waiting in a rebalance's
   *  poll meanwhile: a restarted member's warm-ups then open before the follow-up round hands
   *  their actives over). An assignment waits for the opens under way of the tasks it makes
   *  active here or drops before it changes anything; the others go on (TaskManager
   *  standbysOpened). Throws the failure of an earlier open. */
  async createPending (max: number): Promise<void> {
    const error = this.#openError
    if (error !== undefined) { this.#openError = undefined; throw error }
    this.#openMax = max
    this.#startOpens()
  }

  /** deferStandbys: the pending standbys (warm-ups first) start opening now, in the background,
   *  when the task manager allows it (no assignment under way), also while actives restore (a
   *  cold start's standbys waited for them), rather than at the loop's next iteration, which a member
   *  without partitions reaches only after its follow-up join. */
  openPendingNow (): void {
    if (this.#o.deferStandbys === true && this.#openError === undefined && this.#o.mayOpen()) this.#startOpens()
  }

  /** Starts pending opens up to the last max at once. */
  #startOpens (): void {
    const names = [...this.#toCreate.keys()].slice(0, Math.max(0, this.#openMax - this.#opening.size))
    for (const name of names) {
      const warmup = this.#toCreate.get(name) === true
      this.#toCreate.delete(name)
      this.#opening.set(name, warmup)
      const open: Promise<void> = this.#open([name], new Set(warmup ? [name] : []))
        .catch((failure: unknown) => { this.#openError ??= failure })
        .finally(() => {
          this.#opening.delete(name)
          this.#opens.delete(name)
          this.openPendingNow()
          this.#o.standbyReader?.expectRegistrations?.(this.#opening.size > 0)
        })
      this.#opens.set(name, open)
    }
    this.#o.standbyReader?.expectRegistrations?.(this.#opening.size > 0)
  }

  /** Settles once no standby opened by createPending() is still opening (of those `which`
   *  names, when given). */
  async opened (which?: (name: string) => boolean): Promise<void> {
    for (;;) {
      const opens = [...this.#opens].filter(([name]) => which === undefined || which(name)).map(([, open]) => open)
      if (opens.length === 0) return
      await Promise.allSettled(opens)
    }
  }

  handover (task: string): Promise<void> | undefined { return this.#handovers.get(task) }

  /** Marks the standbys of `names` as handing over to an active; the returned call ends it. */
  beginHandover (names: Iterable<string>): () => void {
    const mine = [...names].filter(name => this.#standbys.has(name) && !this.#handovers.has(name))
    if (mine.length === 0) return () => {}
    let end!: () => void
    const done = new Promise<void>(resolve => { end = resolve })
    for (const name of mine) this.#handovers.set(name, done)
    return () => { for (const name of mine) if (this.#handovers.get(name) === done) this.#handovers.delete(name); end() }
  }

  /** The stores a standby of `name` handed over to its active here, taken (at most once). */
  takeHandedOver (name: string): HandedOverStores<S> | undefined {
    const stores = this.#handedOver.get(name)
    this.#handedOver.delete(name)
    return stores
  }

  handedOverNames (): string[] { return [...this.#handedOver.keys()] }

  /** A cooperative assignment: standbys of tasks active here now hand their stores over; those
   *  no longer wanted close in the background (this member rejoins only once the callback
   *  returns). */
  handOverOrCloseInBackground (actives: { has: (name: string) => boolean }, wanted: ReplicaAssignment): void {
    for (const [name, standby] of this.#standbys) {
      if (actives.has(name)) this.#handOver(standby)
      else if (!wanted.standby.has(name) && !wanted.warmup.has(name)) this.#closeInBackground(standby)
    }
  }

  /** An eager assignment: as above, those no longer wanted closing before it goes on. */
  async handOverOrClose (actives: { has: (name: string) => boolean }, wanted: ReplicaAssignment): Promise<void> {
    for (const [name, standby] of this.#standbys) {
      if (actives.has(name)) this.#handOver(standby)
      else if (!wanted.standby.has(name) && !wanted.warmup.has(name)) await this.#close(standby)
    }
  }

  /** The assignment's standbys and warm-ups not open here yet: pending (deferStandbys) or opened
   *  now; those open already take the assignment's warm-up flag. */
  async assign (replicas: ReplicaAssignment, actives: { has: (name: string) => boolean }): Promise<void> {
    const { createStandby, standbyReader } = this.#o
    if (createStandby === undefined || standbyReader === undefined) return
    // Warm-ups first (the assignment's order): they are to take an active over.
    const names = [...new Set([...replicas.warmup, ...replicas.standby])].filter(name => !actives.has(name))
    this.#toCreate.clear()
    const toOpen: string[] = []
    for (const name of names) {
      const existing = this.#standbys.get(name)
      if (existing !== undefined) existing.warmup = replicas.warmup.has(name)
      // Still opening (an assignment waits only for the opens of the tasks it moves or drops):
      // it opens once, with this assignment's warm-up flag.
      else if (this.#opening.has(name)) this.#opening.set(name, replicas.warmup.has(name))
      else if (this.#o.deferStandbys === true) this.#toCreate.set(name, replicas.warmup.has(name))
      else toOpen.push(name)
    }
    await this.#open(toOpen, replicas.warmup)
  }

  async #open (names: readonly string[], warmups: ReadonlySet<string>): Promise<void> {
    const { createStandby, standbyReader } = this.#o
    if (createStandby === undefined || standbyReader === undefined) return
    const created = await Promise.allSettled(names.map(async name => {
      if (this.#standbys.has(name)) return
      await this.#o.closing(name)
      if (this.#standbys.has(name)) return
      const [subText, partText] = name.split('_')
      const sub = this.#o.subtopologies[Number(subText)]
      if (sub === undefined) return
      const t0 = performance.now()
      const state = await createStandby(name, sub, Number(partText))
      const t1 = performance.now()
      const standby: StandbyTask<S> = { type: 'standby', name, state, lifecycle: new TaskLifecycle(name, 'standby'), warmup: this.#opening.get(name) ?? warmups.has(name), checkpointed: '' }
      try {
        await standbyReader.register(name, state.changelogRestores())
      } catch (error) {
        standby.lifecycle.transitionTo('CLOSED')
        await state.close()
        throw error
      }
      standby.lifecycle.transitionTo('RUNNING')
      this.#standbys.set(name, standby)
      rtrace('standby.opened', { name, openMs: Math.round(t1 - t0), registerMs: Math.round(performance.now() - t1), opening: this.#opening.size, pending: this.#toCreate.size })
    }))
    for (const result of created) if (result.status === 'rejected') throw result.reason
  }

  /** Applies what the standby reader fetched (never waits for the changelogs to grow). */
  async step (): Promise<void> {
    if (this.#standbys.size > 0) await this.#o.standbyReader?.step(0)
  }

  /** Checkpoints the standbys whose stores moved since their last checkpoint. */
  checkpoint (): void {
    for (const standby of this.#standbys.values()) {
      try { this.#checkpoint(standby) } catch { /* the next one, or the close, writes it */ }
    }
  }

  #checkpoint (standby: StandbyTask<S>): void {
    const positions = this.#o.standbyReader?.positions(standby.name) ?? []
    const text = positions.map(p => `${p.topic}:${p.partition}:${p.offset}`).join(',')
    if (text === standby.checkpointed) return
    // writeCheckpoint() syncs the stores' WAL before the checkpoint claims the records.
    standby.state.restored(positions)
    standby.state.writeCheckpoint()
    standby.checkpointed = text
  }

  /** The standby ends and its open stores wait for the task's active here (takeHandedOver), with
   *  the offsets the standby reader applied: the active restores from there. */
  #handOver (standby: StandbyTask<S>): void {
    this.#standbys.delete(standby.name)
    standby.lifecycle.transitionTo('CLOSED')
    const offsets = this.#o.standbyReader?.unregister(standby.name) ?? []
    this.#handedOver.set(standby.name, { state: standby.state, offsets })
    this.#o.onStandbyClosed?.(standby.name)
  }

  /** Handed-over stores no active took (its creation failed): closed at the offsets applied. */
  async closeUnclaimedHandOvers (): Promise<void> {
    for (const [name, { state, offsets }] of [...this.#handedOver]) {
      this.#handedOver.delete(name)
      await closeStores(state, offsets).catch(() => { /* gone either way */ })
    }
  }

  /** The standby ends now (no more changelog records for it); its stores close in the background. */
  #closeInBackground (standby: StandbyTask<S>): void {
    this.#standbys.delete(standby.name)
    standby.lifecycle.transitionTo('CLOSED')
    let offsets: Array<TopicPartition & { offset: bigint }> = []
    try { offsets = this.#o.standbyReader?.unregister(standby.name) ?? [] } catch { /* closes without */ }
    this.#o.onStandbyClosed?.(standby.name)
    this.#o.closeInBackground(standby.name, async () => { await closeStores(standby.state, offsets) })
  }

  async #close (standby: StandbyTask<S>): Promise<void> {
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

  /** Shutdown, first step: no more opens; those under way settle. */
  async stopOpening (): Promise<void> {
    this.#toCreate.clear()
    await this.opened()
    this.#openError = undefined
  }

  /** Shutdown: every standby closes at its checkpoint; one failing does not keep others open. */
  async closeAll (): Promise<void> {
    for (const standby of [...this.#standbys.values()]) await this.#close(standby).catch(() => {})
  }
}

/** Stores that ended without their task: checkpointed at the offsets applied, then closed. */
export async function closeStores<S extends ManagedState> (state: S, offsets: Offsets): Promise<void> {
  try {
    state.restored(offsets)
    state.writeCheckpoint()
  } catch {
    // No checkpoint: the next owner here restores from the changelog (slower, still correct).
  }
  await state.close()
}
