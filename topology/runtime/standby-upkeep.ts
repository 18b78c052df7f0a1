// Upkeep of a stream thread's standby and warm-up tasks between two loop iterations
// (docs/engine.md "Standby tasks"): their checkpoints every few seconds (not in a catch-up's
// first interval: it ends with one), their lags (one
// listOffsets in the background, never awaited by the loop) for streams_standby_lag_records, the
// records they applied for streams_standby_restore_records_total, and the progress of their
// catch-up (from registration to the changelog ends seen then: what a cold start restores when
// the others are caught up and it gets standbys and warm-ups), reported like an active restore's
// every few seconds and once when every standby caught up (the processor role logs
// `event: standby.progress`).
import type { ChangelogReader } from './changelog-reader.ts'
import type { RestoreProgress } from './changelog-restore.ts'
import type { EngineMetrics } from './engine-metrics.ts'
import { RestoreProgressTracker, type RestoreProgressReport } from './restore-progress.ts'
import type { TaskManager } from './task-manager.ts'

/** Standby lags are refreshed (one listOffsets) this often; checkpoints written this often. */
const STANDBY_LAG_INTERVAL_MS = 1000
const STANDBY_CHECKPOINT_INTERVAL_MS = 10_000

export interface StandbyUpkeepOptions {
  readonly tasks: () => Pick<TaskManager, 'standbys' | 'checkpointStandbys'> | undefined
  readonly reader: () => Pick<ChangelogReader, 'refreshEnds' | 'lag' | 'appliedRecords' | 'catchingUp' | 'owners'>
  readonly metrics: Pick<EngineMetrics, 'standbyLag' | 'standbyRestoreRecords'>
  /** While standbys catch up, every few seconds, and once when all have (`done`). */
  readonly onCatchUp?: (progress: RestoreProgressReport) => void
  /** Between two catch-up reports (default 5 s). */
  readonly reportIntervalMs?: number
  readonly now?: () => number
}

export class StandbyUpkeep {
  readonly #o: StandbyUpkeepOptions
  readonly #catchUp: RestoreProgressTracker
  #lastLagMs = 0
  #lastCheckpointMs = 0
  #lagRefreshing = false
  #countedRecords = 0
  /** Owners the current catch-up counts (until it ends). */
  readonly #catchingUp = new Set<string>()
  /** When the current catch-up was first seen by maintain() (undefined: none under way). */
  #catchUpSinceMs: number | undefined

  constructor (options: StandbyUpkeepOptions) {
    this.#o = options
    this.#catchUp = new RestoreProgressTracker({
      ...(options.onCatchUp ? { report: options.onCatchUp } : {}),
      ...(options.reportIntervalMs !== undefined ? { intervalMs: options.reportIntervalMs } : {}),
      ...(options.now ? { now: options.now } : {})
    })
  }

  /** The standby reader's progress reports (its onProgress): those of a catch-up are counted. */
  progress (p: RestoreProgress): void {
    if (p.catchingUp !== true) return
    this.#catchingUp.add(p.owner)
    this.#catchUp.update(p.caughtUp === true ? { ...p, remaining: 0 } : p)
  }

  /** Checkpoints and lag refresh, each when its interval passed; the catch-up's report. */
  maintain (now: number): void {
    const tasks = this.#o.tasks()
    if (tasks === undefined) return
    const reader = this.#o.reader()
    const applied = reader.appliedRecords
    if (applied > this.#countedRecords) { this.#o.metrics.standbyRestoreRecords.inc(applied - this.#countedRecords); this.#countedRecords = applied }
    let checkpoint = now - this.#lastCheckpointMs >= STANDBY_CHECKPOINT_INTERVAL_MS
    if (this.#catchingUp.size > 0) {
      // A catch-up's checkpoints come at its end, or once it ran an interval: one at its start
      // (the first maintain() of a cold start's process always checkpointed) claims next to
      // nothing for a WAL fsync per store on the loop, inside the span a cold start is timed on.
      this.#catchUpSinceMs ??= now
      if (now - this.#catchUpSinceMs < STANDBY_CHECKPOINT_INTERVAL_MS) checkpoint = false
      // Standbys closed before they caught up (moved, or now active here) no longer count as
      // remaining.
      const registered = reader.owners
      for (const owner of this.#catchingUp) if (!registered.has(owner)) { this.#catchingUp.delete(owner); this.#catchUp.forget(owner) }
      const catchingUp = reader.catchingUp
      if (catchingUp > 0) this.#catchUp.maybeReport(catchingUp)
      else {
        this.#catchUp.finished()
        this.#catchingUp.clear()
        this.#catchUpSinceMs = undefined
        // Caught up: checkpoint now (WAL synced once), so a restart from here restores nothing.
        checkpoint = true
      }
    }
    if (checkpoint) {
      this.#lastCheckpointMs = now
      tasks.checkpointStandbys()
    }
    if (this.#lagRefreshing || now - this.#lastLagMs < STANDBY_LAG_INTERVAL_MS) return
    this.#lastLagMs = now
    this.#lagRefreshing = true
    reader.refreshEnds().then(() => {
      for (const name of this.#o.tasks()?.standbys.keys() ?? []) this.#o.metrics.standbyLag.set({ task: name }, reader.lag(name))
    }, () => { /* a lag sample is best effort */ }).finally(() => { this.#lagRefreshing = false })
  }
}
