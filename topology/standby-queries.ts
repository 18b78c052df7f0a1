// Reads from standby replicas (Kafka Streams' KIP-535 `store(…, enableStaleStores())` and
// `allLocalStorePartitionLags()`), docs/engine.md "Interactive queries".
//
// A standby's stores hold a committed prefix of each changelog (its reader is read_committed), so
// the only question is how long that prefix is. The lag of a copy is, summed over the task's
// changelog partitions, the last stable offset (read_committed end) − the offset its store has
// been written up to. The end is asked of the log for each read, never taken from an earlier
// sample (a listOffsets sent before the read arrived is not used: the reads that arrive while one
// is in flight share the next one, sent when it returns): a lag of
// 0 then means the copy held every record committed before the read began, i.e. it answers what
// the active would have answered at that moment. A copy further behind than the caller accepts
// is refused with STORE_NOT_READY (details: lag).
import { StreamsError } from './streams-error.ts'
import type { LogAdmin, TopicPartition } from '../log/log-port.ts'
import type { KeyValue, RangeOptions, ReadOnlyKeyValueStore } from '../stores/key-value-store.ts'
import { partitionKey } from './runtime/partition-group.ts'
import type { StandbyCopy } from './runtime/stream-thread.ts'
import type { TaskStateManager } from './runtime/task-state-manager.ts'

/** A read-only view of one standby task's stores, checked to be within a lag bound. */
export interface StandbyView {
  readonly task: string
  /** Records the copy was behind the changelogs' committed ends when the read began (0: current). */
  readonly lagRecords: number
  /** A store of the task; its reads throw STORE_NOT_READY once the standby closed (it moved). */
  store<K, V>(name: string): ReadOnlyKeyValueStore<K, V>
}

export interface StandbyQueriesOptions {
  readonly admin: () => LogAdmin
  /** The thread's standby copy of a task, if any (StreamThread.standbyCopy: a standby, or an
   *  active still restoring). */
  readonly copy: (task: string) => StandbyCopy | undefined
  /** A standby handing over to its active here: settles once the active (restoring) exists
   *  (StreamThread.copyPending). A read arriving meanwhile waits for it. */
  readonly pending?: (task: string) => Promise<void> | undefined
  /** The stores of the task's running active here (StreamThread.runningState): a restoring copy
   *  that started running while a read was measured is current. */
  readonly running?: (task: string) => TaskStateManager | undefined
  /** How long a read waits for a hand-over at most (default HANDOVER_WAIT_MS). */
  readonly handoverWaitMs?: number
}

/** A hand-over gives the standby's open stores to the new active, which restores only the delta
 *  from the standby's position: well under a second, longer on a loaded machine. */
export const HANDOVER_WAIT_MS = 5000

type Ends = Map<string, bigint>

interface Asking {
  readonly sentAt: number
  readonly ends: Promise<Ends>
  /** The listOffsets the reads that arrived after this one was sent wait for. */
  next?: Promise<Ends>
}

export class StandbyQueries {
  readonly #o: StandbyQueriesOptions
  /** The listOffsets in flight per task, and when it was sent. */
  readonly #asking = new Map<string, Asking>()

  constructor (options: StandbyQueriesOptions) {
    this.#o = options
  }

  /** The lag of this instance's standby copy of `task` now, or null when it has none. */
  async lag (task: string): Promise<number | null> {
    return (await this.#measure(task))?.lag ?? null
  }

  /** A view of the standby copy of `task` if it is at most `maxLagRecords` behind; otherwise
   *  STORE_NOT_READY (details.lagRecords: how far behind, or null when there is no copy here). */
  async view (task: string, maxLagRecords: number): Promise<StandbyView> {
    const measured = await this.#measure(task)
    if (measured === null) throw new StreamsError('STORE_NOT_READY', `no standby of task ${task} on this instance`, { details: { task, lagRecords: null } })
    const { lag, state } = measured
    if (lag > maxLagRecords) {
      throw new StreamsError('STORE_NOT_READY', `the standby of task ${task} is ${lag} records behind (at most ${maxLagRecords} accepted)`, { details: { task, lagRecords: lag } })
    }
    return { task, lagRecords: lag, store: name => this.#storeOf(task, state, name) }
  }

  /** The copy's lag against ends asked after now, with the stores it was measured for. */
  async #measure (task: string): Promise<{ lag: number, state: TaskStateManager } | null> {
    const arrivedAt = performance.now()
    const copy = this.#o.copy(task) ?? await this.#afterHandover(task)
    if (copy === undefined) return null
    const ends = await this.#endsAfter(task, copy.applied, arrivedAt)
    // The copy may have moved on while the end was asked: what it holds now is what the reads
    // will see (its applied offsets only grow while it lives), measured against ends asked after
    // the read arrived. Its restore done and running: current (an active answers committed
    // state). Closed (or replaced by another copy of the task): none.
    const now = this.#o.copy(task)
    if (now === undefined && this.#o.running?.(task) === copy.state) return { lag: 0, state: copy.state }
    if (now === undefined || now.state !== copy.state) return null
    return { lag: lagOf(now.applied, ends), state: now.state }
  }

  /** The copy a standby handing over to its active here becomes (that active, restoring), once
   *  the hand-over is done; undefined without a hand-over, or after HANDOVER_WAIT_MS. */
  async #afterHandover (task: string): Promise<StandbyCopy | undefined> {
    const pending = this.#o.pending?.(task)
    if (pending === undefined) return undefined
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>(resolve => { timer = setTimeout(resolve, this.#o.handoverWaitMs ?? HANDOVER_WAIT_MS) })
    try {
      await Promise.race([pending, timeout])
    } finally {
      clearTimeout(timer)
    }
    return this.#o.copy(task)
  }

  #storeOf<K, V> (task: string, state: TaskStateManager, name: string): ReadOnlyKeyValueStore<K, V> {
    // A facade of its own, open for reads: the task's queryable facade stays RESTORING (a
    // standby is not an active store, docs/engine.md "Standby tasks").
    const view = state.standbyReadView(name)
    if (view === undefined) throw new StreamsError('STORE_NOT_FOUND', `task ${task} has no store "${name}"`)
    const live = (): void => {
      if (this.#o.copy(task)?.state !== state && this.#o.running?.(task) !== state) throw new StreamsError('STORE_NOT_READY', `the standby of task ${task} closed (it moved)`, { details: { task } })
    }
    return {
      name,
      get: (key: unknown) => { live(); return view.get(key) as V | undefined },
      range: (from: unknown, to: unknown, options?: RangeOptions) => { live(); return view.range(from, to, options) as KeyValue<K, V>[] },
      prefixScan: (prefix: unknown, options?: RangeOptions) => { live(); return view.prefixScan(prefix, options) as KeyValue<K, V>[] },
      approximateNumEntries: () => { live(); return view.approximateNumEntries() }
    } as ReadOnlyKeyValueStore<K, V>
  }

  /** The committed ends of the task's changelogs, from a listOffsets sent at or after `arrivedAt`. */
  #endsAfter (task: string, partitions: readonly TopicPartition[], arrivedAt: number): Promise<Ends> {
    const asking = this.#asking.get(task)
    if (asking === undefined) return this.#send(task, partitions).ends
    if (asking.sentAt >= arrivedAt) return asking.ends
    asking.next ??= asking.ends.then(() => {}, () => {}).then(() => this.#send(task, partitions).ends)
    return asking.next
  }

  #send (task: string, partitions: readonly TopicPartition[]): Asking {
    const entry: Asking = {
      sentAt: performance.now(),
      ends: this.#o.admin().listOffsets(partitions.map(p => ({ topic: p.topic, partition: p.partition })), 'latest')
        .then(offsets => new Map(offsets.map(o => [partitionKey(o), o.offset])))
    }
    this.#asking.set(task, entry)
    // Forgotten once answered, unless reads wait for a next one (which replaces it).
    const forget = (): void => { if (this.#asking.get(task) === entry && entry.next === undefined) this.#asking.delete(task) }
    entry.ends.then(forget, forget)
    return entry
  }
}

/** Σ (end − applied) over the partitions. A partition without an end, or whose end is behind what
 *  the copy holds (the changelog was recreated, or a new leader's end is not caught up yet), makes
 *  the lag unknown: Infinity, which every bound refuses (a copy of a changelog that no longer
 *  exists must not pass for current). */
export function lagOf (applied: ReadonlyArray<TopicPartition & { offset: bigint }>, ends: ReadonlyMap<string, bigint>): number {
  let lag = 0n
  for (const p of applied) {
    const end = ends.get(partitionKey(p))
    if (end === undefined || end < p.offset) return Number.POSITIVE_INFINITY
    lag += end - p.offset
  }
  return Number(lag)
}
