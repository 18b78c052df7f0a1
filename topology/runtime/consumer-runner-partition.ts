// One partition assigned to the consumer runner (consumer-runner.ts) as it holds it, and its lag.
import type { TopicPartition } from '../../log/log-port.ts'
import type { PartitionLag } from './consumer-runner-types.ts'

/** The key of a partition in the runner's maps. */
export const tpKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`

export interface OwnedPartition {
  readonly tp: TopicPartition
  /** Aborts the signal of its batches when it goes. */
  readonly abort: AbortController
  committed: bigint
  /** Next offset after the last record accepted (buffered). */
  readTo: bigint
  /** The largest end offset seen, from a fetch or from the log's listOffsets: a paused
   *  partition's fetch end is stale, and lag computed from it alone read 0 while records waited. */
  knownEnd: bigint
}

/** The partition's lag from its committed offset to the largest end seen (`seen` included). */
export function lagOf (at: OwnedPartition, seen: bigint): PartitionLag {
  if (seen > at.knownEnd) at.knownEnd = seen
  const end = at.knownEnd
  return { ...at.tp, committed: at.committed, end, lag: end > at.committed ? Number(end - at.committed) : 0 }
}
