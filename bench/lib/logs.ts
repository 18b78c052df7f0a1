// Opening a log backend for a benchmark (the local broker, or an embedded log in a temp dir),
// unique names, temp state dirs, and pre-producing records through the log port.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openEmbeddedLog } from '../../log/embedded/index.ts'
import { createKafkaLog } from '../../log/kafka/index.ts'
import type { Log, PartitionOffset, ProducerRecord, TopicPartition } from '../../log/log-port.ts'
import type { BackendName } from './cli.ts'

export const brokers = (process.env.REWARDS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')

export interface BenchLog {
  readonly log: Log
  /** The embedded log's directory (null on Kafka). */
  readonly dir: string | null
  close (): Promise<void>
}

export async function openBenchLog (backend: BackendName, clientId: string): Promise<BenchLog> {
  if (backend === 'kafka') {
    const log = createKafkaLog({ brokers, clientId })
    return { log, dir: null, close: () => log.close() }
  }
  const dir = mkdtempSync(join(tmpdir(), 'rewards-bench-log-'))
  const log = await openEmbeddedLog({ dir })
  return { log, dir, close: async () => { await log.close(); rmSync(dir, { recursive: true, force: true }) } }
}

export function uniqueName (prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
}

export function tempStateDir (): { dir: string, remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'rewards-bench-state-'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

export function partitionsOf (topic: string, partitions: number): TopicPartition[] {
  return Array.from({ length: partitions }, (_, partition) => ({ topic, partition }))
}

/** Produces `count` records made by `make(i)` through the port's (idempotent, acks=all) producer,
 *  in sends of `batch` records. Returns the end offsets it left. */
export async function produce (log: Log, topic: string, partitions: number, count: number, make: (i: number) => ProducerRecord, batch = 5000): Promise<PartitionOffset[]> {
  const producer = await log.createProducer({ clientId: uniqueName('bench-producer') })
  try {
    for (let start = 0; start < count; start += batch) {
      const records: ProducerRecord[] = []
      for (let i = start; i < Math.min(count, start + batch); i++) records.push(make(i))
      await producer.send(records)
    }
  } finally {
    await producer.close()
  }
  const ends = await log.admin.listOffsets(partitionsOf(topic, partitions), 'latest')
  const total = ends.reduce((sum, o) => sum + o.offset, 0n)
  if (total !== BigInt(count)) throw new Error(`${topic} holds ${total} records after producing ${count} (duplicates or losses: the benchmark's figures would be wrong)`)
  return ends
}
