// The baselines the engine benchmarks compare with, measured in the same run on the same topic:
// - a plain @platformatic/kafka Consumer (its own group, from the earliest offset, read_committed),
// - the log port's PartitionReader over every partition (the engine's restore path, and on the
//   embedded log the only plain reader there is).
// Each hands every record to `onRecord` (the per-record work: parse and aggregate, or keep) and
// returns the time to read `expected` records.
import { Consumer } from '@platformatic/kafka'
import type { Log, LogRecord, PartitionOffset, TopicPartition } from '../../log/log-port.ts'
import { brokers, uniqueName } from './logs.ts'
import { nowMs } from './timing.ts'

export interface ReadTiming {
  readonly records: number
  /** From creating the client to the last record. */
  readonly totalMs: number
  /** From the first record to the last (excludes connecting and joining). */
  readonly steadyMs: number
}

/** A read that stopped receiving records before the end (see platformaticRead's stallMs). */
export class BaselineStalled extends Error {}

/** Where a read is (for the benchmark's watchdog). */
export interface ReadProgress {
  step: string
  records: number
  /** The client's own state (stream flowing or paused, records buffered, assignment). */
  client?: () => string
}

/** A plain @platformatic/kafka consumer (its own group, from the earliest offset): `onRecord` per
 *  record, no engine. `autocommitMs`: the group's offsets committed as it goes, every that many ms
 *  (the raw consumer-group baseline); absent: no commits. Returns when `expected` records were
 *  handed over. */
export async function platformaticRead (topic: string, expected: number, onRecord: (key: Buffer | null, value: Buffer | null) => void, options: { readonly autocommitMs?: number, readonly timeoutMs?: number, readonly groupId?: string, readonly progress?: ReadProgress, readonly stallMs?: number } = {}): Promise<ReadTiming> {
  const timeoutMs = options.timeoutMs ?? 120_000
  const progress = options.progress ?? { step: '', records: 0 }
  const start = nowMs()
  progress.step = 'joining the group'
  const consumer = new Consumer({ clientId: uniqueName('bench-baseline'), groupId: options.groupId ?? uniqueName('bench-baseline'), bootstrapBrokers: brokers, maxWaitTime: 100 })
  let first = 0
  let count = 0
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: options.autocommitMs ?? false })
    progress.step = 'reading'
    progress.client = () => `stream flowing ${String(stream.readableFlowing)}, paused ${stream.isPaused()}, ${stream.readableLength} buffered, destroyed ${stream.destroyed}; consumer member ${consumer.memberId ?? 'none'}, generation ${String(consumer.generationId)}, assignments ${JSON.stringify(consumer.assignments)}`
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => { clearInterval(stallCheck); reject(new Error(`consumer of ${topic}: ${count}/${expected} records after ${timeoutMs} ms`)) }, timeoutMs)
        // A read that stops receiving fails early, naming where it stood, instead of running into
        // the phase's bound (docs/benchmarks.md, "The hang": it was the input deleted under it).
        let lastCount = -1
        let lastProgressAt = nowMs()
        const stallMs = options.stallMs ?? Number.POSITIVE_INFINITY
        const stallCheck = setInterval(() => {
          if (count !== lastCount) { lastCount = count; lastProgressAt = nowMs(); return }
          if (nowMs() - lastProgressAt < stallMs) return
          clearTimeout(timer)
          clearInterval(stallCheck)
          reject(new BaselineStalled(`consumer of ${topic}: no record for ${Math.round(stallMs / 1000)} s at ${count}/${expected} records`))
        }, Math.min(1000, stallMs))
        stream.on('error', error => { clearTimeout(timer); clearInterval(stallCheck); reject(error) })
        stream.on('data', message => {
          if (count === 0) first = nowMs()
          onRecord(message.key as Buffer | null, message.value as Buffer | null)
          progress.records = ++count
          if (count === expected) { clearTimeout(timer); clearInterval(stallCheck); resolve() }
        })
      })
    } finally {
      progress.step = 'closing the stream'
      await stream.close()
    }
  } finally {
    progress.step = 'closing the consumer'
    await consumer.close(true)
  }
  progress.step = 'done'
  const end = nowMs()
  return { records: count, totalMs: end - start, steadyMs: end - first }
}

/** Reads every partition from offset 0 with the port's PartitionReader, all assigned at once,
 *  until `expected` records were read or, given end offsets, until every position reached its end
 *  (a compacted topic holds fewer records than its offsets: the embedded log compacts). */
export async function portRead (log: Log, partitions: TopicPartition[], expected: number | PartitionOffset[], onRecord: (record: LogRecord) => void, timeoutMs = 120_000): Promise<ReadTiming> {
  const start = nowMs()
  const reader = log.createPartitionReader({ clientId: uniqueName('bench-reader') })
  let first = 0
  let count = 0
  try {
    reader.assign(partitions.map(tp => ({ ...tp, offset: 0n })))
    const deadline = start + timeoutMs
    const done = typeof expected === 'number'
      ? () => count >= expected
      : () => expected.every(end => reader.position(end) >= end.offset)
    while (!done()) {
      if (nowMs() > deadline) throw new Error(`port read: ${count} records (want ${typeof expected === 'number' ? expected : 'the end offsets'}) after ${timeoutMs} ms`)
      const records = await reader.poll(100)
      if (records.length > 0 && count === 0) first = nowMs()
      for (const r of records) onRecord(r)
      count += records.length
    }
  } finally {
    await reader.close()
  }
  const end = nowMs()
  return { records: count, totalMs: end - start, steadyMs: end - first }
}
