// The independent verifier's reader: kafkajs, read_committed, a fresh group, every partition of a
// topic from the beginning up to its end offset (once the platform is idle, the last stable offset
// is the end offset). Transaction markers count as read: kafkajs reports a partition's lag after
// each batch, including batches of markers only.
import type { Kafka } from 'kafkajs'

export interface ReadRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: string | null
  readonly value: Buffer | null
  readonly timestampMs: number
  readonly headers: Readonly<Record<string, string>>
}

/** Reads `topic` to its end; after timeoutMs (an open transaction holds the last stable offset
 *  back) returns what it read with `complete: false`. */
export async function readTopic (kafka: Kafka, topic: string, timeoutMs = 120_000): Promise<{ records: ReadRecord[], complete: boolean }> {
  const admin = kafka.admin()
  await admin.connect()
  const ends = await admin.fetchTopicOffsets(topic).catch(async error => { await admin.disconnect(); throw error })
  const pending = new Set(ends.filter(e => e.high !== '0').map(e => e.partition))
  const out: ReadRecord[] = []
  if (pending.size === 0) { await admin.disconnect(); return { records: out, complete: true } }
  const groupId = `chaos-verify-${topic}-${Date.now()}`
  const consumer = kafka.consumer({ groupId, readUncommitted: false, sessionTimeout: 60_000, heartbeatInterval: 3000 })
  await consumer.connect()
  let finish!: () => void
  const finished = new Promise<void>(resolve => { finish = resolve })
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const p = payload as { partition: number, offsetLag: string }
    if (p.offsetLag === '0') pending.delete(p.partition)
    if (pending.size === 0) finish()
  })
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const headers: Record<string, string> = {}
          for (const [name, value] of Object.entries(m.headers ?? {})) if (value !== undefined) headers[name] = value.toString()
          out.push({ topic, partition: batch.partition, offset: Number(m.offset), key: m.key?.toString() ?? null, value: m.value, timestampMs: Number(m.timestamp), headers })
        }
      }
    })
    let timer: NodeJS.Timeout | undefined
    await Promise.race([finished, new Promise<void>(resolve => { timer = setTimeout(resolve, timeoutMs) })]).finally(() => clearTimeout(timer))
  } finally {
    await consumer.disconnect()
    await admin.deleteGroups([groupId]).catch(() => undefined) // the broker is shared: leave no group behind
    await admin.disconnect()
  }
  return { records: out.sort((a, b) => a.partition - b.partition || a.offset - b.offset), complete: pending.size === 0 }
}
