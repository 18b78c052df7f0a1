// The baselines the engine benchmarks compare with, measured in the same run on the same topic:
// - a plain @platformatic/kafka Consumer (its own group, from the earliest offset, read_committed),
// - the log port's PartitionReader over every partition (the engine's restore path, and on the
//   embedded log the only plain reader there is).
// Each hands every record to `onRecord` (the per-record work: parse and aggregate, or keep) and
// returns the time to read `expected` records.
import { Consumer } from '@platformatic/kafka'
import type { Log, LogRecord, PartitionOffset, ProducerRecord, TopicPartition } from '../../log/log-port.ts'
import { brokers, uniqueName } from './logs.ts'
import { nowMs } from './timing.ts'

export interface ReadTiming {
  readonly records: number
  /** From creating the client to the last record. */
  readonly totalMs: number
  /** From the first record to the last (excludes connecting and joining). */
  readonly steadyMs: number
}

/** A plain @platformatic/kafka consumer loop: no engine, no commits. */
export async function platformaticRead (topic: string, expected: number, onRecord: (key: Buffer | null, value: Buffer | null) => void, timeoutMs = 120_000): Promise<ReadTiming> {
  const start = nowMs()
  const consumer = new Consumer({ clientId: uniqueName('bench-baseline'), groupId: uniqueName('bench-baseline'), bootstrapBrokers: brokers, maxWaitTime: 100 })
  let first = 0
  let count = 0
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`baseline read of ${topic}: ${count}/${expected} records after ${timeoutMs} ms`)), timeoutMs)
        stream.on('error', error => { clearTimeout(timer); reject(error) })
        stream.on('data', message => {
          if (count === 0) first = nowMs()
          onRecord(message.key as Buffer | null, message.value as Buffer | null)
          if (++count === expected) { clearTimeout(timer); resolve() }
        })
      })
    } finally {
      await stream.close()
    }
  } finally {
    await consumer.close(true)
  }
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

/** A plain consume → transform → produce loop: a @platformatic/kafka consumer, `transform` per
 *  record, and `send` awaited for every `batch` outputs (reading waits meanwhile, as the stream is
 *  iterated with backpressure). No state store, no transactions, no offset commits. */
export async function platformaticPipe (topic: string, expected: number, transform: (key: Buffer | null, value: Buffer | null) => ProducerRecord | null, send: (records: ProducerRecord[]) => Promise<unknown>, batch = 5000, timeoutMs = 120_000): Promise<ReadTiming> {
  const start = nowMs()
  const consumer = new Consumer({ clientId: uniqueName('bench-pipe'), groupId: uniqueName('bench-pipe'), bootstrapBrokers: brokers, maxWaitTime: 100 })
  let first = 0
  let count = 0
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
    const timer = setTimeout(() => { void stream.close() }, timeoutMs)
    try {
      let pending: ProducerRecord[] = []
      for await (const message of stream) {
        if (count === 0) first = nowMs()
        const out = transform(message.key as Buffer | null, message.value as Buffer | null)
        if (out !== null) pending.push(out)
        count++
        if (pending.length >= batch || count === expected) {
          await send(pending)
          pending = []
        }
        if (count === expected) break
      }
      if (count < expected) throw new Error(`pipe from ${topic}: ${count}/${expected} records after ${timeoutMs} ms`)
    } finally {
      clearTimeout(timer)
      await stream.close()
    }
  } finally {
    await consumer.close(true)
  }
  const end = nowMs()
  return { records: count, totalMs: end - start, steadyMs: end - first }
}
