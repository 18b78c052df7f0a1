// Restores state stores from their changelogs, for every restoring task at once (Kafka Streams'
// StoreChangelogReader): one PartitionReader is assigned all the changelog partitions being
// restored, and each step() is one fetch over all of them, applied as one write batch per
// partition. The stream thread calls step() between polls of its group consumer, so a long
// restore never holds up heartbeats, rebalances or the processing of running tasks
// (docs/engine.md "State, checkpoints, restore").
//
// Done, for a partition: its position reached the changelog's end (last stable offset) and a
// second look at the end finds it has not moved (a transaction the previous owner committed just
// before may get its marker a moment later). Everything fetched is committed and applied, even
// past the end first measured.
//
// Standby mode (one reader of the thread's standby tasks, docs/engine.md "Standby tasks"): its
// owners never complete. A pump of its own (standby-pump.ts: started by a registration or
// step(), never awaited by the loop) keeps one long-polling fetch over all their changelog
// partitions and has each written as it returns, so the loop never waits for the changelogs to
// grow nor the standbys for the loop; positions() tells how far each store got, as written (for
// its checkpoints), lag() how far behind it is as of the last refreshEnds(). A standby owner is
// catching up from its registration until each of its partitions reached the end seen then (a
// cold start's restore, done by standbys and warm-ups): progress reports say so (caughtUp,
// catchingUp), catchingUp counts the owners not there yet (standby-upkeep.ts reports it,
// docs/engine.md "Standby tasks").
import type { LogAdmin, LogRecord, PartitionEntries, PartitionReader, TopicPartition } from '../../log/log-port.ts'
import { columnEntries, COLUMNS_PER_RECORD, type RestoreColumns } from '../../stores/restore-columns.ts'
import { LastWrites, repeatedColumnKeys } from './restore-last-writes.ts'
import { UNKNOWN_END, type Fetched, type Owner, type Restoring } from './changelog-reader-types.ts'
import type { ChangelogEntry, ChangelogRestore, RestoredOwner, RestoreProgress } from './changelog-restore.ts'
import { partitionKey } from './partition-group.ts'
import { rtrace } from './rebalance-trace.ts'
import { readForRegistration, writableFor } from './standby-answer-queue.ts'
import { StandbyPump } from './standby-pump.ts'

/** Changelog records written to a store in one batch at most, between turns of the event loop. */
const APPLY_SLICE = 5000

export interface ChangelogReaderOptions {
  readonly admin: LogAdmin
  readonly reader: PartitionReader
  /** After each applied batch and when a partition completes. */
  readonly onProgress?: (progress: RestoreProgress) => void
  readonly now?: () => number
  /** Standby mode (see the header): owners never complete, fetches run in the background. */
  readonly standby?: boolean
}

export class ChangelogReader {
  readonly #o: ChangelogReaderOptions
  readonly #owners = new Map<string, Owner>()
  /** Assigned partitions by partitionKey. */
  readonly #partitions = new Map<string, Restoring>()
  /** The fetch sent ahead (see step()). */
  #inflight: Promise<Fetched> | undefined
  /** Standby mode: registrations, and the fetches and writes running on their own. */
  readonly #standby: StandbyPump
  /** Changelog records applied since this reader was created (before last write per key). */
  #appliedRecords = 0
  /** The offsets of the slice being written (applyColumns), reused slice after slice. */
  readonly #columns = new Int32Array(APPLY_SLICE * COLUMNS_PER_RECORD)

  constructor (options: ChangelogReaderOptions) {
    this.#o = options
    this.#standby = new StandbyPump({
      admin: options.admin,
      reader: options.reader,
      owners: this.#owners,
      partitions: this.#partitions,
      fetch: waitMs => this.#fetchOnce(waitMs),
      apply: fetched => this.#apply(fetched, 0),
      setTarget: (p, end) => { this.#setTarget(p, end) },
      progress: (p, catchingUp) => { this.#progress(p, catchingUp) },
      now: () => this.#now()
    })
  }

  /** Owners (tasks) still restoring. */
  get owners (): ReadonlySet<string> { return new Set(this.#owners.keys()) }
  get restoring (): boolean { return this.#owners.size > 0 }
  /** Changelog records applied since the reader was created (standbys: a counter's source). */
  get appliedRecords (): number { return this.#appliedRecords }

  /** Standby mode: owners with a partition that has not reached the end seen at registration. */
  get catchingUp (): number {
    let n = 0
    for (const { partitions } of this.#owners.values()) if (partitions.some(p => !p.caughtUp)) n++
    return n
  }

  /** Standby mode: whether more owners are about to register (their stores are opening): no
   *  long polls until they have (standby-pump.ts). */
  expectRegistrations (expect: boolean): void { this.#standby.expectRegistrations(expect) }

  /** Starts restoring `owner`'s stores. Their start and end offsets are asked in one request each.
   *  Standby mode: reading starts at once, from the checkpoint, and the ends are asked in the
   *  background (StandbyPump.register). */
  async register (owner: string, restores: ChangelogRestore[]): Promise<void> {
    if (this.#owners.has(owner)) throw new Error(`changelog reader: ${owner} is already restoring`)
    if (this.#o.standby === true) { this.#standby.register(owner, restores); return }
    const tps = restores.map(r => r.changelog)
    const [earliest, latest] = tps.length === 0 ? [[], []] : await Promise.all([this.#o.admin.listOffsets(tps, 'earliest'), this.#o.admin.listOffsets(tps, 'latest')])
    const start = new Map(earliest.map(o => [partitionKey(o), o.offset]))
    const end = new Map(latest.map(o => [partitionKey(o), o.offset]))
    const partitions: Restoring[] = []
    for (const restore of restores) {
      const key = partitionKey(restore.changelog)
      if (this.#partitions.has(key)) throw new Error(`changelog reader: ${key} is already being restored`)
      const logStart = start.get(key) ?? 0n
      // Below the log start (retention, a recreated topic): what is left is all there is.
      const position = restore.from === null || restore.from < logStart ? logStart : restore.from
      const endOffset = end.get(key) ?? 0n
      partitions.push({ owner, restore, position, applied: position, end: endOffset, target: endOffset, caughtUp: position >= endOffset, restored: 0, assigned: position < endOffset, done: false, lastWrites: new LastWrites() })
    }
    this.#owners.set(owner, { partitions, startMs: this.#now() })
    for (const p of partitions) this.#partitions.set(partitionKey(p.restore.changelog), p)
    // Where each store starts: a progress tracker times the restore from here, not from the
    // first batch written (the first fetch of a cold start can take seconds), and knows what is
    // left from the start.
    for (const p of partitions) this.#progress(p)
    // Only partitions behind their end are read; the others are checked again by the next step
    // (see the header).
    const toRead = partitions.filter(p => p.assigned)
    if (toRead.length > 0) this.#o.reader.assign(toRead.map(p => ({ ...p.restore.changelog, offset: p.position })))
  }

  /** Standby mode: the end seen at registration, asked after it. */
  #setTarget (p: Restoring, end: bigint): void {
    if (end > p.end) p.end = end
    p.target = end
    if (p.applied >= end) p.caughtUp = true
    this.#progress(p, true)
  }

  /** Stops restoring `owner` (its task closed or moved away), wherever it got to. Returns how far
   *  each of its stores got (a checkpoint of those offsets is valid: everything below is applied). */
  unregister (owner: string): Array<TopicPartition & { offset: bigint }> {
    const found = this.#owners.get(owner)
    if (!found) return []
    this.#owners.delete(owner)
    const tps = found.partitions.map(p => p.restore.changelog)
    for (const tp of tps) this.#partitions.delete(partitionKey(tp))
    this.#unassign(found.partitions.filter(p => p.assigned).map(p => p.restore.changelog))
    return found.partitions.map(p => ({ ...p.restore.changelog, offset: p.applied }))
  }

  /** Per changelog partition of `owner`: the next offset after what its store holds. */
  positions (owner: string): Array<TopicPartition & { offset: bigint }> {
    return this.appliedPositions(owner)
  }

  /** Per changelog partition of `owner`: the next offset after what its store has been written
   *  up to (the position a fetch reached counts once that fetch is written: standby mode writes
   *  while the loop runs, and a checkpoint or a read may come between two slices). */
  appliedPositions (owner: string): Array<TopicPartition & { offset: bigint }> {
    return this.#owners.get(owner)?.partitions.map(p => ({ ...p.restore.changelog, offset: p.applied })) ?? []
  }

  /** Offsets `owner`'s stores are behind their changelogs' ends (as last seen), summed. */
  lag (owner: string): number {
    let lag = 0n
    for (const p of this.#owners.get(owner)?.partitions ?? []) if (p.end > p.applied) lag += p.end - p.applied
    return Number(lag)
  }

  /** Asks the changelogs' ends again (standby mode: for lag() and the progress reports). */
  async refreshEnds (): Promise<void> {
    const partitions = [...this.#partitions.values()]
    if (partitions.length === 0) return
    const latest = await this.#o.admin.listOffsets(partitions.map(p => p.restore.changelog), 'latest')
    const ends = new Map(latest.map(o => [partitionKey(o), o.offset]))
    for (const p of partitions) {
      const end = ends.get(partitionKey(p.restore.changelog))
      if (end === undefined || this.#partitions.get(partitionKey(p.restore.changelog)) !== p) continue
      // Registered, its end not asked yet (or that failed): this is its target.
      if (p.target === UNKNOWN_END) { this.#setTarget(p, end); continue }
      p.end = end
      // The end moved back (records deleted, topic recreated): the catch-up cannot wait for more.
      const catchingUp = !p.caughtUp
      if (end < p.target) p.target = end
      if (!p.caughtUp && p.applied >= p.target) p.caughtUp = true
      this.#progress(p, catchingUp)
    }
  }

  /** Applies one fetch over every partition still to read (waiting at most maxWaitMs), with the
   *  next fetch already sent (the broker and the network work while this one is written); then
   *  the ends of partitions that reached theirs are checked again. Returns the owners now
   *  restored (no longer registered). */
  async step (maxWaitMs: number): Promise<RestoredOwner[]> {
    if (this.#o.standby === true) {
      // Standby mode: the pump fetches and applies on its own; step() starts it and reports its
      // failure (the loop's recovery handles it as it would a failed fetch).
      this.#standby.step()
      return []
    }
    // Owners without changelogs (stateless tasks) are done at once.
    if (this.#partitions.size === 0) return this.#completedOwners()
    if (this.#inflight === undefined) this.#fetch(maxWaitMs)
    let fetched = -1
    if (this.#inflight !== undefined) {
      const batch = await this.#inflight
      this.#inflight = undefined
      fetched = batch.runs.length
      await this.#apply(batch, maxWaitMs)
    }
    // Nothing came: also make sure no end moved back (records deleted, topic recreated), so a
    // restore can never hang.
    const check = [...this.#partitions.values()].filter(p => !p.done && (!p.assigned || fetched === 0))
    await this.#checkEnds(check)
    return this.#completedOwners()
  }

  /** Applies one fetch (positions first, the next fetch sent, then the records, in slices). */
  async #apply (fetched: Fetched, maxWaitMs: number): Promise<void> {
    const { runs, positions } = fetched
    const standby = this.#o.standby === true
    const reached: TopicPartition[] = []
    const moved: Restoring[] = []
    const stale: Restoring[] = []
    for (const [key, position] of positions) {
      const p = this.#partitions.get(key)
      if (p === undefined || !p.assigned) continue
      // Registered again since the fetch was sent: its answer is the previous registration's,
      // not written; the reader may have taken it all the same (the new registration starting
      // at the offset it asked), so it reads again from where this registration got.
      if (!readForRegistration(fetched, key, p)) { stale.push(p); continue }
      p.position = position
      moved.push(p)
      if (standby) { if (position > p.end) p.end = position } else if (position >= p.end) { p.assigned = false; reached.push(p.restore.changelog) }
    }
    this.#unassign(reached)
    if (stale.length > 0) this.#o.reader.assign(stale.map(p => ({ ...p.restore.changelog, offset: p.position })))
    if (standby) this.#standby.send()
    else if (runs.length > 0) this.#fetch(maxWaitMs)
    // One write batch per slice of a partition's run of entries.
    let keptViews = false
    for (const run of runs) {
      const key = partitionKey(run)
      const p = this.#partitions.get(key)
      // A partition unregistered (or registered again) since the fetch was sent: dropped.
      if (p === undefined || !writableFor(fetched, key, p)) continue
      if (p.restore.keepsNoViews !== true) keptViews = true
      // In slices, with a turn of the event loop between them: a fetch holds tens of thousands
      // of records, and the commits and heartbeats of running tasks must not wait for all of
      // them to be written (docs/engine.md "State, checkpoints, restore"). A run that decodes on
      // demand (take()) is decoded a slice at a time, each written before the next is decoded.
      const take = run.take ?? sliceOf(run.entries)
      // As offsets into the fetched bytes where both the log and the store can (no object or
      // Buffer view per record), unless the slice's last write per key is taken (restore-last-writes.ts).
      const { columnBuffer, takeColumns } = run
      const applyColumns = p.restore.applyColumns
      let written = 0
      for (let slice = 0; ; slice++) {
        if (slice > 0) await new Promise(resolve => setImmediate(resolve))
        // Unregistered meanwhile (its stores may be closing): nothing more for it.
        if (this.#partitions.get(key) !== p) break
        if (columnBuffer !== undefined && takeColumns !== undefined && applyColumns !== undefined) {
          const count = takeColumns(APPLY_SLICE, this.#columns)
          if (count === 0) break
          written += count
          const columns: RestoreColumns = { buf: columnBuffer, at: this.#columns, count }
          if (p.lastWrites.asTheyCome(count, n => repeatedColumnKeys(columns, n))) applyColumns(columns)
          else await p.restore.apply(p.lastWrites.of(columnEntries(columns)))
          continue
        }
        const entries = take(APPLY_SLICE)
        if (entries.length === 0) break
        written += entries.length
        await p.restore.apply(p.lastWrites.slice(entries))
      }
      p.restored += written
      this.#appliedRecords += written
    }
    // Written, and no store kept a view of it: the log may reuse its bytes (a fetch's arena).
    if (!keptViews) this.#o.reader.releaseEntries?.(runs)
    for (const p of moved) {
      if (this.#partitions.get(partitionKey(p.restore.changelog)) !== p) continue
      p.applied = p.position
      const catchingUp = !p.caughtUp
      if (catchingUp && p.target !== UNKNOWN_END && p.applied >= p.target) p.caughtUp = true
      this.#progress(p, catchingUp)
    }
  }

  /** Sends a fetch for the assigned partitions; the positions it moved to are taken as soon as it
   *  returns (before another fetch can move them again). */
  #fetch (maxWaitMs: number): void {
    if (![...this.#partitions.values()].some(p => p.assigned)) return
    const inflight = this.#fetchOnce(maxWaitMs)
    // Awaited by the next step(); a reader closed meanwhile must not be an unhandled rejection.
    inflight.catch(() => {})
    this.#inflight = inflight
  }

  async #fetchOnce (waitMs: number): Promise<Fetched> {
    const readFor = new Map([...this.#partitions].filter(([, p]) => p.assigned))
    const reading = [...readFor.values()].map(p => p.restore.changelog)
    const reader = this.#o.reader
    const sentAt = performance.now()
    // Keys and values only where the log can decode so (no record objects, offsets, headers).
    const runs = reading.length === 0 ? [] : reader.pollEntries !== undefined ? await reader.pollEntries(waitMs) : groupByPartition(await reader.poll(waitMs))
    rtrace('changelog.fetched', { standby: this.#o.standby === true, waitMs, ms: Math.round(performance.now() - sentAt), partitions: reading.length, records: runs.reduce((n, r) => n + (r.records ?? r.entries.length), 0) })
    const positions = new Map<string, bigint>()
    for (const tp of reading) {
      try { positions.set(partitionKey(tp), reader.position(tp)) } catch { /* unassigned meanwhile */ }
    }
    return { runs, positions, readFor }
  }

  /** Ask the end again. Moved past the position: read on. Not (or moved back): done. */
  async #checkEnds (check: Restoring[]): Promise<void> {
    if (check.length === 0) return
    const latest = await this.#o.admin.listOffsets(check.map(p => p.restore.changelog), 'latest')
    const ends = new Map(latest.map(o => [partitionKey(o), o.offset]))
    const assign: Restoring[] = []
    const unassign: TopicPartition[] = []
    for (const p of check) {
      const key = partitionKey(p.restore.changelog)
      if (this.#partitions.get(key) !== p) continue
      const now = ends.get(key) ?? 0n
      if (now > p.position) {
        p.end = now
        if (!p.assigned) { p.assigned = true; assign.push(p) }
      } else {
        p.done = true
        if (p.assigned) { p.assigned = false; unassign.push(p.restore.changelog) }
        this.#progress(p)
      }
    }
    this.#unassign(unassign)
    if (assign.length > 0) this.#o.reader.assign(assign.map(p => ({ ...p.restore.changelog, offset: p.position })))
  }

  #completedOwners (): RestoredOwner[] {
    const out: RestoredOwner[] = []
    for (const [owner, { partitions, startMs }] of this.#owners) {
      if (!partitions.every(p => p.done)) continue
      this.#owners.delete(owner)
      for (const p of partitions) this.#partitions.delete(partitionKey(p.restore.changelog))
      out.push({
        owner,
        offsets: partitions.map(p => ({ ...p.restore.changelog, offset: p.position > p.end ? p.position : p.end })),
        records: partitions.reduce((n, p) => n + p.restored, 0),
        durationMs: this.#now() - startMs
      })
    }
    return out
  }

  #unassign (tps: TopicPartition[]): void {
    if (tps.length === 0) return
    try { this.#o.reader.unassign(tps) } catch { /* not assigned */ }
  }

  #progress (p: Restoring, catchingUp = false): void {
    if (this.#o.onProgress === undefined) return
    const remaining = p.done ? 0 : Number(p.end > p.position ? p.end - p.position : 0n)
    this.#o.onProgress(this.#o.standby === true
      ? { owner: p.owner, store: p.restore.store, changelog: p.restore.changelog, restored: p.restored, remaining, caughtUp: p.caughtUp, catchingUp }
      : { owner: p.owner, store: p.restore.store, changelog: p.restore.changelog, restored: p.restored, remaining })
  }

  #now (): number { return this.#o.now ? this.#o.now() : performance.now() }

}

/** take() over entries decoded already (logs without on-demand decoding). */
function sliceOf (entries: ChangelogEntry[]): (max: number) => ChangelogEntry[] {
  let at = 0
  return max => {
    if (at === 0 && entries.length <= max) { at = entries.length; return entries }
    const out = entries.slice(at, at + max)
    at += out.length
    return out
  }
}

/** Records in fetch order as runs of one partition each (logs without pollEntries). */
function groupByPartition (records: LogRecord[]): PartitionEntries[] {
  const runs: PartitionEntries[] = []
  let run: { topic: string, partition: number, entries: ChangelogEntry[] } | undefined
  for (const r of records) {
    if (run === undefined || run.topic !== r.topic || run.partition !== r.partition) runs.push(run = { topic: r.topic, partition: r.partition, entries: [] })
    // The record itself is the entry (key and value), no copy per record.
    if (r.key !== null) run.entries.push(r as ChangelogEntry)
  }
  return runs
}
