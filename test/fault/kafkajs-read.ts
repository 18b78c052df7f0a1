// The independent verifier of the Kafka fault tests: kafkajs, read_committed, a fresh group,
// reading a topic from the beginning until a condition holds (or `expected` records arrived).
import { randomBytes } from 'node:crypto'
import type { Kafka } from 'kafkajs'

export interface CommittedRecord { readonly key: string, readonly value: string }

/** Reads `topic` read_committed from the beginning until `done(records)`; rejects at the timeout
 *  naming how much was read. `keyEncoding` 'latin1' keeps binary keys (windowed) intact. */
export async function readCommittedUntil (kafka: Kafka, topic: string, done: (records: CommittedRecord[]) => boolean, options: { timeoutMs?: number, groupId?: string, keyEncoding?: BufferEncoding } = {}): Promise<CommittedRecord[]> {
  const timeoutMs = options.timeoutMs ?? 300_000
  // Long session: a loaded CI machine must not make the verifier itself rebalance.
  const consumer = kafka.consumer({ groupId: options.groupId ?? `verify-${topic}-${randomBytes(4).toString('hex')}`, readUncommitted: false, sessionTimeout: 60_000, heartbeatInterval: 3000 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const out: CommittedRecord[] = []
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic}: condition not met within ${timeoutMs} ms; read ${out.length}`)), timeoutMs)
      consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) out.push({ key: m.key!.toString(options.keyEncoding), value: m.value!.toString() })
          if (done(out)) { clearTimeout(timer); resolve() }
        }
      }).catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
  return out
}

export async function readAllCommitted (kafka: Kafka, topic: string, expected: number, timeoutMs = 300_000): Promise<CommittedRecord[]> {
  return await readCommittedUntil(kafka, topic, records => records.length >= expected, { timeoutMs, groupId: `verify-${topic}` })
}
