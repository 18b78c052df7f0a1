// Records a processor drops on purpose (a windowed aggregation's late records, past the window's
// grace period): Kafka Streams' dropped-records-total. The task offers a sensor on the context
// under DROPPED_RECORDS; it counts per processor and the commit reports the counts to the
// `streams_dropped_records_total` metric (the test driver keeps them for its tests).
import type { ProcessorContext } from '../processor/processor.ts'

export const DROPPED_RECORDS: unique symbol = Symbol('rewards.droppedRecords')

export type DroppedRecordsSensor = (count?: number) => void

/** The context's sensor, or a no-op when the host counts nothing. */
export function droppedRecordsSensor (context: ProcessorContext<unknown, unknown>): DroppedRecordsSensor {
  return (context as { [DROPPED_RECORDS]?: DroppedRecordsSensor })[DROPPED_RECORDS] ?? (() => {})
}

/** Per-processor counts of dropped records since the last take(). */
export class DroppedRecordsCounter {
  #counts = new Map<string, number>()
  #total = 0

  sensorFor (processor: string): DroppedRecordsSensor {
    return (count = 1) => {
      this.#counts.set(processor, (this.#counts.get(processor) ?? 0) + count)
      this.#total += count
    }
  }

  /** Every record dropped since the task started. */
  get total (): number {
    return this.#total
  }

  /** The counts since the last take(), per processor. */
  take (): Map<string, number> {
    const counts = this.#counts
    this.#counts = new Map()
    return counts
  }
}
