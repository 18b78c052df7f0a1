// What the examples share: the log they run on (the composition root of an example, as cli/ is
// the platform's), temporary state, and reading a topic's latest value per key. The embedded log
// in a temp dir by default; Kafka when REWARDS_KAFKA_BROKERS is set (comma-separated brokers).
// Every run uses fresh topic names and application id, and removes what it created.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openEmbeddedLog } from '../log/embedded/index.ts'
import { createKafkaLog } from '../log/kafka/index.ts'
import type { Log, ProducerRecord, TopicPartition } from '../topology/index.ts'

export interface ExampleOptions {
  /** Kafka brokers; default REWARDS_KAFKA_BROKERS, else the embedded log. */
  readonly brokers?: readonly string[] | undefined
}

export interface ExampleLog {
  readonly log: Log
  readonly backend: 'kafka' | 'embedded'
  /** A state directory for the application. */
  readonly stateDir: string
  /** A name unique to this run (topics, application id). */
  name (base: string): string
  /** Creates topics, remembered for close(). */
  createTopics (names: string[], partitions: number): Promise<void>
  /** Forgets `topics` at close() too (the topics the application created: repartition, changelogs). */
  alsoDelete (...topics: string[]): void
  produce (records: ProducerRecord[]): Promise<void>
  /** Latest value per key of `topic` (JSON values; null for a tombstone) once `done` holds. */
  readLatest (topic: string, partitions: number, done: (latest: Map<string, unknown>) => boolean, timeoutMs?: number): Promise<Map<string, unknown>>
  close (): Promise<void>
}

export async function openExampleLog (options: ExampleOptions = {}): Promise<ExampleLog> {
  const brokers = options.brokers ?? process.env.REWARDS_KAFKA_BROKERS?.split(',').filter(Boolean)
  const dirs = [mkdtempSync(join(tmpdir(), 'rewards-example-state-'))]
  let log: Log
  if (brokers !== undefined && brokers.length > 0) {
    log = createKafkaLog({ brokers: [...brokers], clientId: 'example' })
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'rewards-example-log-'))
    dirs.push(dir)
    log = await openEmbeddedLog({ dir })
  }
  const suffix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`
  const topics: string[] = []
  return {
    log,
    backend: brokers !== undefined && brokers.length > 0 ? 'kafka' : 'embedded',
    stateDir: dirs[0]!,
    name: base => `${base}-${suffix}`,
    async createTopics (names, partitions) {
      topics.push(...names)
      await log.admin.createTopics(names.map(name => ({ name, partitions })))
    },
    alsoDelete (...names) { topics.push(...names) },
    async produce (records) {
      const producer = await log.createProducer({ clientId: `example-producer-${suffix}` })
      try { await producer.send(records) } finally { await producer.close() }
    },
    async readLatest (topic, partitions, done, timeoutMs = 60_000) {
      const reader = log.createPartitionReader({ clientId: `example-reader-${suffix}` })
      const tps: TopicPartition[] = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }))
      reader.assign(tps.map(tp => ({ ...tp, offset: 0n })))
      const latest = new Map<string, unknown>()
      const deadline = Date.now() + timeoutMs
      try {
        while (!done(latest)) {
          if (Date.now() > deadline) throw new Error(`timed out reading ${topic}: ${JSON.stringify(Object.fromEntries(latest))}`)
          for (const r of await reader.poll(200)) latest.set(r.key?.toString() ?? '', r.value === null ? null : JSON.parse(r.value.toString()))
        }
        return latest
      } finally {
        await reader.close()
      }
    },
    async close () {
      const existing = new Set((await log.admin.describeTopics(topics)).map(d => d.name))
      await log.admin.deleteTopics(topics.filter(t => existing.has(t)))
      await log.close()
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    }
  }
}
