// Upkeep of a stream thread's standby and warm-up tasks between two loop iterations
// (docs/engine.md "Standby tasks"): their checkpoints every few seconds, and their lags (one
// listOffsets in the background, never awaited by the loop) for streams_standby_lag_records.
import type { ChangelogReader } from './changelog-reader.ts'
import type { EngineMetrics } from './engine-metrics.ts'
import type { TaskManager } from './task-manager.ts'

/** Standby lags are refreshed (one listOffsets) this often; checkpoints written this often. */
const STANDBY_LAG_INTERVAL_MS = 1000
const STANDBY_CHECKPOINT_INTERVAL_MS = 10_000

export class StandbyUpkeep {
  readonly #tasks: () => TaskManager | undefined
  readonly #reader: () => ChangelogReader
  readonly #metrics: EngineMetrics
  #lastLagMs = 0
  #lastCheckpointMs = 0
  #lagRefreshing = false

  constructor (options: { tasks: () => TaskManager | undefined, reader: () => ChangelogReader, metrics: EngineMetrics }) {
    this.#tasks = options.tasks
    this.#reader = options.reader
    this.#metrics = options.metrics
  }

  /** Checkpoints and lag refresh, each when its interval passed. */
  maintain (now: number): void {
    const tasks = this.#tasks()
    if (tasks === undefined) return
    if (now - this.#lastCheckpointMs >= STANDBY_CHECKPOINT_INTERVAL_MS) {
      this.#lastCheckpointMs = now
      tasks.checkpointStandbys()
    }
    if (this.#lagRefreshing || now - this.#lastLagMs < STANDBY_LAG_INTERVAL_MS) return
    this.#lastLagMs = now
    this.#lagRefreshing = true
    const reader = this.#reader()
    reader.refreshEnds().then(() => {
      for (const name of this.#tasks()?.standbys.keys() ?? []) this.#metrics.standbyLag.set({ task: name }, reader.lag(name))
    }, () => { /* a lag sample is best effort */ }).finally(() => { this.#lagRefreshing = false })
  }
}
