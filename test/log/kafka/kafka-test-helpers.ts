// Shared set-up for the Kafka backend tests: a Log on the local broker, unique names, topic
// creation with teardown, and polling helpers that wait on conditions (never on fixed sleeps).
import { randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import { createKafkaLog } from '../../../log/kafka/index.ts'
import type { GroupConsumer, Log, LogRecord, PartitionOffset, PartitionReader, TopicPartition, TopicSpec } from '../../../log/log-port.ts'

export const brokers = (process.env.REWARDS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map(s => s.trim()).filter(Boolean)

export function unique (prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`
}

/** A Kafka Log closed at the end of the test, with the given topics created (and deleted after). */
export async function kafkaLog (t: Test, topics: TopicSpec[] = []): Promise<Log> {
  const log = createKafkaLog({ brokers, clientId: unique('test') })
  if (topics.length > 0) await log.admin.createTopics(topics)
  t.teardown(async () => {
    if (topics.length > 0) await log.admin.deleteTopics(topics.map(topic => topic.name)).catch(() => undefined)
    await log.close()
  })
  return log
}

/** Polls until `until(all records so far)` is true or the time budget runs out. */
export async function pollUntil (source: GroupConsumer | PartitionReader, until: (records: LogRecord[]) => boolean, budgetMs = 30_000): Promise<LogRecord[]> {
  const records: LogRecord[] = []
  const deadline = Date.now() + budgetMs
  while (!until(records)) {
    if (Date.now() > deadline) throw new Error(`pollUntil: condition not met after ${budgetMs} ms (${records.length} records)`)
    records.push(...await source.poll(200))
  }
  return records
}

/** The partitions' last stable offsets once each has reached `atLeast` (or as they are when the
 *  budget runs out, for the caller to assert on). EndTxn returns before the partition leaders have
 *  written the transaction markers (the coordinator writes them asynchronously), so an end read
 *  right after a commit can still be short of the commit marker; nothing announces the marker, so
 *  this reads the offsets until they get there. */
export async function settledEnds (log: Log, partitions: ReadonlyArray<TopicPartition & { readonly atLeast: bigint }>, budgetMs = 30_000): Promise<PartitionOffset[]> {
  const deadline = Date.now() + budgetMs
  for (;;) {
    const ends = await log.admin.listOffsets(partitions.map(({ topic, partition }) => ({ topic, partition })), 'latest')
    if (ends.every((end, i) => end.offset >= partitions[i]!.atLeast) || Date.now() > deadline) return ends
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

export function text (value: Buffer | null): string | null {
  return value === null ? null : value.toString('utf8')
}

export const noopListener = {
  async onPartitionsRevoked (): Promise<void> {},
  async onPartitionsAssigned (): Promise<void> {},
  async onPartitionsLost (): Promise<void> {}
}
