// What a store hands the changelog reader to be restored (changelog-reader.ts) and what the
// reader reports back: the contract between the reader and its users (the task state manager,
// standby upkeep, the restore benches), apart from the reader's own machinery.
import type { TopicPartition } from '../../log/log-port.ts'
import type { RestoreColumns } from '../../stores/restore-columns.ts'

export interface ChangelogEntry {
  readonly key: Buffer
  readonly value: Buffer | null
}

/** One changelog partition to restore into one store. */
export interface ChangelogRestore {
  readonly changelog: TopicPartition
  readonly store: string
  /** Next offset after what the store holds (null: from the log start). */
  readonly from: bigint | null
  /** Applies one fetched batch (one atomic write). */
  readonly apply: (entries: ChangelogEntry[]) => Promise<void> | void
  /** Optional: apply() of a batch as offsets into the fetched bytes (stores/restore-columns.ts),
   *  used where the log decodes so. Synchronous: `columns.at` is reused for the next batch. */
  readonly applyColumns?: (columns: RestoreColumns) => void
  /** True when apply() and applyColumns() keep no view of the fetched bytes once they returned
   *  (they copy what they keep): the reader then lets the log reuse those bytes for a later fetch
   *  (PartitionReader.releaseEntries). Unset: the bytes stay the store's for as long as it likes. */
  readonly keepsNoViews?: boolean
}

export interface RestoreProgress {
  readonly owner: string
  readonly store: string
  readonly changelog: TopicPartition
  /** Records applied so far. */
  readonly restored: number
  /** Offsets left to read (end − position; control records and compacted gaps included). */
  readonly remaining: number
  /** Standby mode: the store reached the changelog end seen when it was registered. */
  readonly caughtUp?: boolean
  /** Standby mode: this report belongs to the store's catch-up (it had not reached that end
   *  before; its registration's report included). Reports after it only follow the changelog. */
  readonly catchingUp?: boolean
}

export interface RestoredOwner {
  readonly owner: string
  /** Per changelog partition: the next offset after what its store now holds. */
  readonly offsets: Array<TopicPartition & { offset: bigint }>
  readonly records: number
  readonly durationMs: number
}
