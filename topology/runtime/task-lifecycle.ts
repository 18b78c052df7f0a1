// The states a task goes through on this instance and the moves allowed between them (Kafka
// Streams' Task.State), checked on every move so a bookkeeping slip in the task manager fails
// loudly instead of, say, processing a task whose stores are still restoring or closing stores
// twice (docs/engine.md "Architecture: loop, task manager, changelog reader").
//
// Active task:  CREATED → RESTORING → RUNNING ⇄ SUSPENDED → CLOSED
//               (RESTORING, RUNNING and SUSPENDED may close; CREATED closes when its stores or
//               its registration with the changelog reader fail)
// Standby task: CREATED → RUNNING ⇄ SUSPENDED → CLOSED, where RUNNING means "applies its
//               changelogs into its stores and checkpoints", never processing (task-manager.ts;
//               docs/engine.md "Standby tasks"). The task manager keeps standbys RUNNING through
//               a rebalance (they hold nothing uncommitted); SUSPENDED is allowed, not used.

export type TaskState = 'CREATED' | 'RESTORING' | 'RUNNING' | 'SUSPENDED' | 'CLOSED'
export type TaskType = 'active' | 'standby'

const ACTIVE: Readonly<Record<TaskState, readonly TaskState[]>> = {
  CREATED: ['RESTORING', 'CLOSED'],
  // A restoring task is not suspended on revocation: it has nothing to commit. Eager protocol: it
  // either comes back in the next assignment (restore goes on) or closes; cooperative: it is
  // revoked only when it moves away, and closes at once.
  RESTORING: ['RUNNING', 'CLOSED'],
  RUNNING: ['SUSPENDED', 'CLOSED'],
  // Resumed without a restore: a suspended task's stores stayed open and hold its last commit.
  SUSPENDED: ['RUNNING', 'CLOSED'],
  CLOSED: []
}

const STANDBY: Readonly<Record<TaskState, readonly TaskState[]>> = {
  CREATED: ['RUNNING', 'CLOSED'],
  RESTORING: [],
  RUNNING: ['SUSPENDED', 'CLOSED'],
  SUSPENDED: ['RUNNING', 'CLOSED'],
  CLOSED: []
}

export function allowedTransitions (type: TaskType, from: TaskState): readonly TaskState[] {
  return (type === 'active' ? ACTIVE : STANDBY)[from]
}

export class IllegalTaskTransitionError extends Error {
  readonly task: string
  readonly from: TaskState
  readonly to: TaskState

  constructor (task: string, type: TaskType, from: TaskState, to: TaskState) {
    super(`${type} task ${task}: illegal transition ${from} → ${to}`)
    this.name = 'IllegalTaskTransitionError'
    this.task = task
    this.from = from
    this.to = to
  }
}

/** One task's state; every move is checked against the table of its type. */
export class TaskLifecycle {
  readonly task: string
  readonly type: TaskType
  #state: TaskState = 'CREATED'

  constructor (task: string, type: TaskType = 'active') {
    this.task = task
    this.type = type
  }

  get state (): TaskState { return this.#state }

  is (...states: TaskState[]): boolean { return states.includes(this.#state) }

  /** Throws IllegalTaskTransitionError: a bug in the caller, not a condition to recover from
   *  (not a StreamsError, so the commit recovery classes it fatal and the thread dies). */
  transitionTo (next: TaskState): void {
    if (!allowedTransitions(this.type, this.#state).includes(next)) throw new IllegalTaskTransitionError(this.task, this.type, this.#state, next)
    this.#state = next
  }
}

/** A standby replica (Kafka Streams' StandbyTask): it owns stores fed from their changelogs by
 *  the thread's standby changelog reader, checkpoints them, and never processes, commits offsets
 *  or produces. A warm-up replica is the same, placed to take the active over later. */
export interface StandbyTask<S> {
  readonly type: 'standby'
  readonly name: string
  readonly state: S
  readonly lifecycle: TaskLifecycle
  /** A warm-up (the assignment says which; it may change from one assignment to the next). */
  warmup: boolean
  /** The changelog offsets of the last checkpoint written ("" before any), to skip unchanged ones. */
  checkpointed: string
}
