// The two log backends the engine must run on unchanged, for tests that run the same scenario on
// both: the real Kafka broker (REWARDS_KAFKA_BROKERS, default the local one) and the embedded log
// in a temp dir.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Log, LogRecord, PartitionOffset, ProducerRecord, TopicPartition } from '../../../log/log-port.ts'
import { openEmbeddedLog } from '../../../log/embedded/index.ts'
import { createKafkaLog } from '../../../log/kafka/index.ts'

export interface Backend {
  readonly name: 'kafka' | 'embedded'
  open (): Promise<{ log: Log, cleanup: () => Promise<void> }>
}

export const brokers = (process.env.REWARDS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')

const ALL_BACKENDS: Backend[] = [
  {
    name: 'embedded',
    async open () {
      const dir = mkdtempSync(join(tmpdir(), 'rewards-embedded-'))
      const log = await openEmbeddedLog({ dir })
      return { log, cleanup: async () => { await log.close(); rmSync(dir, { recursive: true, force: true }) } }
    }
  },
  {
    name: 'kafka',
    async open () {
      const log = await createKafkaLog({ brokers, clientId: 'engine-test' })
      return { log, cleanup: async () => { await log.close() } }
    }
  }
]

/** TEST_BACKENDS=kafka (or embedded) narrows a run to one backend while debugging. */
export const BACKENDS: Backend[] = ALL_BACKENDS.filter(b => !process.env.TEST_BACKENDS || process.env.TEST_BACKENDS.split(',').includes(b.name))

export function uniqueName (prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
}

export function tempStateDir (): { dir: string, remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'rewards-state-'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Reads every committed record of the topic's partitions until `done(all)` holds or the timeout. */
export async function readUntil (log: Log, topic: string, partitions: number, done: (records: LogRecord[]) => boolean, timeoutMs = 60_000): Promise<LogRecord[]> {
  const reader = log.createPartitionReader({ clientId: 'test-reader' })
  const tps: TopicPartition[] = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }))
  reader.assign(tps.map(tp => ({ ...tp, offset: 0n })))
  const all: LogRecord[] = []
  const deadline = Date.now() + timeoutMs
  try {
    while (!done(all)) {
      if (Date.now() > deadline) throw new Error(`timed out reading ${topic}: ${all.length} records so far`)
      const got = await reader.poll(200)
      if (process.env.DEBUG_READ) console.error('readUntil', topic, got.length, all.length, tps.map(tp => reader.position(tp)))
      all.push(...got)
    }
    return all
  } finally {
    await reader.close()
  }
}

/** Waits until `groupId` has committed offsets at or past `ends` (offset of the next record to read
 *  per partition): what the application processed is then committed, its stores' committed view
 *  included. Polls the group's committed offsets (a query: there is no event to await). */
export async function waitForCommitted (log: Log, groupId: string, ends: readonly PartitionOffset[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const committed = new Map((await log.admin.listCommittedOffsets(groupId, [...ends])).map(o => [`${o.topic}:${o.partition}`, o.offset]))
    if (ends.every(e => (committed.get(`${e.topic}:${e.partition}`) ?? -1n) >= e.offset)) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${groupId} to commit ${ends.map(e => `${e.topic}:${e.partition}@${e.offset}`).join(', ')}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** The offset after the last of `sent` per partition (what a group must commit to have read them). */
export function endsOf (sent: readonly PartitionOffset[]): PartitionOffset[] {
  const ends = new Map<string, PartitionOffset>()
  for (const o of sent) {
    const key = `${o.topic}:${o.partition}`
    if ((ends.get(key)?.offset ?? -1n) < o.offset + 1n) ends.set(key, { topic: o.topic, partition: o.partition, offset: o.offset + 1n })
  }
  return [...ends.values()]
}

/** Sends `records` with a producer of its own, then closes it. */
export async function produce (log: Log, records: ProducerRecord[]): Promise<void> {
  const producer = await log.createProducer({ clientId: uniqueName('producer') })
  await producer.send(records)
  await producer.close()
}

/** The last value per key of a topic (null: a tombstone), once `done` holds for it. */
export async function latestUntil (log: Log, topic: string, partitions: number, done: (latest: Map<string, unknown>) => boolean): Promise<Map<string, unknown>> {
  const latest = new Map<string, unknown>()
  await readUntil(log, topic, partitions, all => {
    latest.clear()
    for (const r of all) latest.set(r.key!.toString(), r.value === null ? null : JSON.parse(r.value.toString()))
    return done(latest)
  })
  return latest
}
