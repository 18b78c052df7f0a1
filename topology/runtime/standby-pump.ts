// The standby reader's registrations and pump (changelog-reader.ts in standby mode,
// docs/engine.md "Standby tasks"): a registration is read at once, from its checkpoint, and the
// ends its catch-up aims at are asked afterwards, in the background; the pump, started by a
// registration or the loop's step() and never awaited by the loop, keeps one long-polling fetch
// over every registered changelog partition (standby-answer-queue.ts) and has the reader write
// each answer as it returns, so the loop never waits for the changelogs to grow nor the standbys
// for the loop. The reader keeps the positions and does the fetches and writes; this file
// registers standby partitions, asks their ends, and decides when fetches go out and answers are
// written.
import type { LogAdmin, PartitionReader } from '../../log/log-port.ts'
import type { ChangelogRestore } from './changelog-restore.ts'
import { UNKNOWN_END, type Fetched, type Owner, type Restoring } from './changelog-reader-types.ts'
import { partitionKey } from './partition-group.ts'
import { LastWrites } from './restore-last-writes.ts'
import { MIN_FETCH_WAIT_MS, StandbyAnswerQueue } from './standby-answer-queue.ts'

/** How long a background fetch waits for records (it never holds up the loop). */
const STANDBY_FETCH_WAIT_MS = 500
/** While more owners are about to register (expectRegistrations): a partition registered while
 *  a fetch is in flight is read only by the next one. */
const STANDBY_FETCH_WAIT_REGISTERING_MS = MIN_FETCH_WAIT_MS

export interface StandbyPumpOptions {
  readonly admin: LogAdmin
  readonly reader: PartitionReader
  /** The reader's owners, and its partitions by partitionKey: shared, a registration adds to them. */
  readonly owners: Map<string, Owner>
  readonly partitions: Map<string, Restoring>
  /** One fetch over the partitions assigned, waiting at most waitMs for records. */
  readonly fetch: (waitMs: number) => Promise<Fetched>
  /** Writes one fetch (positions first, then the records in slices; it calls send()). */
  readonly apply: (fetched: Fetched) => Promise<void>
  /** The end seen at registration, asked after it: the partition's catch-up target. */
  readonly setTarget: (p: Restoring, end: bigint) => void
  readonly progress: (p: Restoring, catchingUp: boolean) => void
  readonly now: () => number
}

export class StandbyPump {
  readonly #o: StandbyPumpOptions
  /** The fetch-and-apply loop running on its own (see #start), and its failure, thrown by the
   *  next step(). */
  #pump: Promise<void> | undefined
  #pumpError: unknown
  /** The pump's fetches and the answers not written yet. */
  readonly #answers: StandbyAnswerQueue<Fetched>
  /** More owners are about to register (see expectRegistrations). */
  #registering = false
  /** Registered partitions whose end is to be asked, and whether that runs. */
  readonly #targetsWanted: Restoring[] = []
  #askingTargets = false

  constructor (options: StandbyPumpOptions) {
    this.#o = options
    this.#answers = new StandbyAnswerQueue<Fetched>({
      fetch: async waitMs => await options.fetch(waitMs),
      toRead: () => [...options.partitions.values()].some(p => p.assigned),
      waitMs: () => this.#registering ? STANDBY_FETCH_WAIT_REGISTERING_MS : STANDBY_FETCH_WAIT_MS,
      running: () => this.#pump !== undefined,
      failed: () => this.#pumpError !== undefined,
      fail: error => { this.#pumpError ??= error }
    })
  }

  /** Whether more owners are about to register (their stores are opening). Until they have,
   *  background fetches do not long-poll: a cold start's standbys register a few at a time, and
   *  each one's partitions waited for the fetch in flight over those caught up already (up to
   *  500 ms) before their catch-up began. */
  expectRegistrations (expect: boolean): void { this.#registering = expect }

  /** The reader's register() in standby mode: the catch-up of a cold start's standby began only
   *  once two listOffsets (log start, end) came back, and the next standby's open waited for them
   *  too (0.2-0.65 s each on a loaded machine, docs/benchmarks.md "Cold start, third pass"). So
   *  reading starts at once, from the checkpoint (the log start, when there is none or it is below
   *  it: the fetch finds the offset out of range and the reader goes on from the log start), and
   *  the ends are asked in the background, one request for every registration waiting (see
   *  #askTargets). */
  register (owner: string, restores: ChangelogRestore[]): void {
    const partitions: Restoring[] = []
    for (const restore of restores) {
      const key = partitionKey(restore.changelog)
      if (this.#o.partitions.has(key)) throw new Error(`changelog reader: ${key} is already being restored`)
      const position = restore.from ?? 0n
      // The end is not known yet (target UNKNOWN_END): not caught up until it is.
      partitions.push({ owner, restore, position, applied: position, end: position, target: UNKNOWN_END, caughtUp: false, restored: 0, assigned: true, done: false, lastWrites: new LastWrites() })
    }
    this.#o.owners.set(owner, { partitions, startMs: this.#o.now() })
    for (const p of partitions) this.#o.partitions.set(partitionKey(p.restore.changelog), p)
    for (const p of partitions) this.#o.progress(p, true)
    if (partitions.length > 0) this.#o.reader.assign(partitions.map(p => ({ ...p.restore.changelog, offset: p.position })))
    this.#askTargets(partitions)
    // The pump starts here too: step() waits for the loop, which a rebalance under way holds
    // (docs/benchmarks.md "Cold start, ninth pass").
    if (partitions.length > 0) { this.#answers.registered(); if (this.#pump !== undefined) this.#answers.send(); else this.#start() }
  }

  /** The reader's step() in standby mode: the pump's failure (the loop's recovery handles it as
   *  it would a failed fetch), else the pump started if it is not running. */
  step (): void {
    const error = this.#pumpError
    if (error !== undefined) { this.#pumpError = undefined; throw error }
    this.#start()
  }

  /** Called by the reader's apply once an answer's positions are taken: the next fetch may go. */
  send (): void { this.#answers.send() }

  /** The end of each newly registered partition, its catch-up's target. One listOffsets at a
   *  time, for every partition registered meanwhile. A failed one is left to the reader's
   *  refreshEnds() (every second, standby-upkeep.ts), which sets the targets still unknown. */
  #askTargets (partitions: Restoring[]): void {
    this.#targetsWanted.push(...partitions)
    if (this.#askingTargets) return
    this.#askingTargets = true
    const registered = this.#o.partitions
    void (async () => {
      try {
        while (this.#targetsWanted.length > 0) {
          const batch = this.#targetsWanted.splice(0).filter(p => registered.get(partitionKey(p.restore.changelog)) === p)
          if (batch.length === 0) continue
          const latest = await this.#o.admin.listOffsets(batch.map(p => p.restore.changelog), 'latest')
          const ends = new Map(latest.map(o => [partitionKey(o), o.offset]))
          for (const p of batch) {
            const end = ends.get(partitionKey(p.restore.changelog))
            if (end === undefined || registered.get(partitionKey(p.restore.changelog)) !== p || p.target !== UNKNOWN_END) continue
            this.#o.setTarget(p, end)
          }
        }
      } catch {
        this.#targetsWanted.length = 0
      } finally {
        this.#askingTargets = false
      }
    })()
  }

  /** Fetch and apply, over and over, while any partition is registered, on its own rather than
   *  once per loop iteration: the stream thread's loop waits in its group poll (100 ms when idle,
   *  a whole rebalance while one runs), and a cold start's standbys caught up only between those
   *  waits (docs/engine.md "Standby tasks"). Writes go in slices with a turn of the event loop
   *  between them, and a slice is written only while its partition is still registered: a
   *  standby closed meanwhile (unregister, then its stores close) gets nothing more, and its
   *  checkpoint claims only applied offsets (the reader's positions() in standby mode). */
  #start (): void {
    const registered = this.#o.partitions
    if (this.#pump !== undefined || registered.size === 0) return
    this.#pump = (async () => {
      while (registered.size > 0) {
        this.#answers.send()
        const batch = this.#answers.take()
        if (batch === undefined) {
          if (!this.#answers.onWire) return
          await this.#answers.answered()
          continue
        }
        this.#answers.writing(true)
        try { await this.#o.apply(batch) } finally { this.#answers.writing(false) }
      }
    })().catch((error: unknown) => { this.#pumpError = error }).finally(() => { this.#pump = undefined; this.#answers.clear() })
  }
}
