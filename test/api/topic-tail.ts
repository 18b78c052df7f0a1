// Reads a topic through the log port (embedded or Kafka alike), from the beginning of every
// partition, until the records read satisfy `done` (or the time is up): how the API tests see what
// a route produced, byte for byte.
import type { Log, LogRecord } from '../../log/log-port.ts'

export interface TopicTail {
  /** Every record read so far, once `done(records)` holds or timeoutMs has passed. */
  until (done: (records: readonly LogRecord[]) => boolean, timeoutMs?: number): Promise<readonly LogRecord[]>
  close (): Promise<void>
}

export async function tailTopic (log: Log, topic: string, partitions: number): Promise<TopicTail> {
  const reader = log.createPartitionReader({ clientId: `topic-tail-${topic}-${Date.now()}` })
  const tps = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }))
  reader.assign(await log.admin.listOffsets(tps, 'earliest'))
  const records: LogRecord[] = []
  return {
    async until (done, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs
      while (!done(records) && Date.now() < deadline) records.push(...await reader.poll(200))
      return records
    },
    close: () => reader.close()
  }
}

/** The record values as text, in read order. */
export function texts (records: readonly LogRecord[]): string[] {
  return records.map(r => r.value?.toString('utf8') ?? '')
}
