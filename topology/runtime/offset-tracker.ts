// At-least-once commits for the consumer runner (consumer-runner.ts): which offset of each
// partition may be committed. A record is pending from the poll that returned it until its handler
// has finished it durably; the committable offset is the first pending one, or the read position
// when nothing is pending (which also steps past transaction markers). Records finish out of order
// (concurrent batches, retries); the committed offset never passes an unfinished record, so a crash
// re-reads exactly the unfinished ones (and possibly some finished after them: the sink must be
// idempotent).
import type { TopicPartition } from '../../log/log-port.ts'

const keyOf = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`

interface PartitionProgress {
  /** Ascending: offsets are tracked in poll order. */
  readonly pending: bigint[]
  head: number
  readonly settled: Set<bigint>
}

export class OffsetTracker {
  readonly #partitions = new Map<string, PartitionProgress>()

  /** A polled record that must settle before its offset is committed. */
  track (tp: TopicPartition, offset: bigint): void {
    let p = this.#partitions.get(keyOf(tp))
    if (p === undefined) {
      p = { pending: [], head: 0, settled: new Set() }
      this.#partitions.set(keyOf(tp), p)
    }
    const last = p.pending[p.pending.length - 1]
    if (last !== undefined && offset <= last) throw new Error(`offset tracker: ${tp.topic}-${tp.partition} offset ${offset} after ${last} (offsets only increase)`)
    p.pending.push(offset)
  }

  settle (tp: TopicPartition, offset: bigint): void {
    const p = this.#partitions.get(keyOf(tp))
    if (p === undefined) return // forgotten (revoked) meanwhile
    p.settled.add(offset)
    while (p.head < p.pending.length && p.settled.has(p.pending[p.head]!)) {
      p.settled.delete(p.pending[p.head]!)
      p.head++
    }
    if (p.head > 1024 && p.head * 2 > p.pending.length) {
      p.pending.splice(0, p.head)
      p.head = 0
    }
  }

  /** Records of the partition not yet settled. */
  pendingCount (tp: TopicPartition): number {
    const p = this.#partitions.get(keyOf(tp))
    return p === undefined ? 0 : p.pending.length - p.head
  }

  /** The offset to commit: the first unsettled record, or `position` when all are settled. */
  committable (tp: TopicPartition, position: bigint): bigint {
    const p = this.#partitions.get(keyOf(tp))
    if (p === undefined || p.head >= p.pending.length) return position
    return p.pending[p.head]!
  }

  forget (tp: TopicPartition): void {
    this.#partitions.delete(keyOf(tp))
  }
}
