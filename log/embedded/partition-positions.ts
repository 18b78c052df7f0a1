// Read positions of a set of partitions, and the fetch that reads from them round-robin up to a
// record budget (shared by the group consumer and the partition reader).
import type { LogRecord, TopicPartition } from '../log-port.ts'
import type { LogStorage } from './log-storage.ts'

export function tpKey (tp: TopicPartition): string {
  return `${tp.topic}\u0000${tp.partition}`
}

export class PartitionPositions {
  readonly #positions = new Map<string, { tp: TopicPartition, offset: bigint }>()
  #rotation = 0

  set (tp: TopicPartition, offset: bigint): void {
    this.#positions.set(tpKey(tp), { tp: { topic: tp.topic, partition: tp.partition }, offset })
  }

  get (tp: TopicPartition): bigint | undefined {
    return this.#positions.get(tpKey(tp))?.offset
  }

  has (tp: TopicPartition): boolean {
    return this.#positions.has(tpKey(tp))
  }

  delete (tp: TopicPartition): void {
    this.#positions.delete(tpKey(tp))
  }

  clear (): void {
    this.#positions.clear()
  }

  partitions (): TopicPartition[] {
    return [...this.#positions.values()].map(p => ({ ...p.tp }))
  }

  /** Reads up to `maxRecords` from the partitions `readable` allows, starting with a different
   *  partition each call so none starves; positions move past the returned records. */
  async fetch (storage: LogStorage, maxRecords: number, readable: (tp: TopicPartition) => boolean): Promise<LogRecord[]> {
    const entries = [...this.#positions.values()]
    if (entries.length === 0) return []
    const start = this.#rotation++ % entries.length
    const out: LogRecord[] = []
    for (let i = 0; i < entries.length && out.length < maxRecords; i++) {
      const entry = entries[(start + i) % entries.length]!
      if (!readable(entry.tp)) continue
      const end = storage.endOffset(entry.tp)
      if (end === undefined || entry.offset >= end) continue
      const records = await storage.read(entry.tp, entry.offset, maxRecords - out.length)
      // The entry may have been replaced (seek, unassign) while reading: keep the newer one.
      if (this.#positions.get(tpKey(entry.tp)) !== entry) continue
      if (records.length === 0) {
        // Only gaps up to the end (none without compaction): move on to the end.
        entry.offset = end
        continue
      }
      entry.offset = records[records.length - 1]!.offset + 1n
      for (const record of records) out.push(record)
    }
    return out
  }
}
