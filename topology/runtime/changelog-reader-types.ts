// What the changelog reader (changelog-reader.ts) and its standby pump (standby-pump.ts) share:
// a registered changelog partition, an owner's registration, one fetch's answer.
import type { ChangelogRestore } from './changelog-restore.ts'
import type { LastWrites } from './restore-last-writes.ts'
import type { FetchAnswer } from './standby-answer-queue.ts'

/** Standby mode: a registered partition's target before its end was asked. */
export const UNKNOWN_END = -1n

export interface Restoring {
  readonly owner: string
  readonly restore: ChangelogRestore
  position: bigint
  /** Next offset after what the store holds: `position` once the fetch that moved it is written
   *  (queries on standbys compare it with the end, docs/engine.md "Interactive queries"). */
  applied: bigint
  end: bigint
  /** Standby mode: the end seen at registration (lowered if the end moves back below it). */
  target: bigint
  /** Standby mode: the applied position reached `target`. */
  caughtUp: boolean
  restored: number
  /** Assigned to the reader (behind its end as last seen). */
  assigned: boolean
  done: boolean
  /** Whether a slice is written as it comes or as its last write per key (restore-last-writes.ts). */
  readonly lastWrites: LastWrites
}

/** One fetch (standby-answer-queue.ts): an answer written later (standby mode queues them)
 *  writes nothing into a partition registered again meanwhile (which reads from where it got
 *  instead, see the reader's #apply). */
export type Fetched = FetchAnswer<Restoring>

export interface Owner {
  readonly partitions: Restoring[]
  readonly startMs: number
}
