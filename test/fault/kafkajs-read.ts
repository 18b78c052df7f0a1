// The independent verifier of the Kafka fault tests: kafkajs, read_committed, a fresh group,
// reading a topic from the beginning until `expected` records arrived.
import type { Kafka } from 'kafkajs'

export async function readAllCommitted (kafka: Kafka, topic: string, expected: number, timeoutMs = 300_000): Promise<Array<{ key: string, value: string }>> {
  // Long session: a loaded CI machine must not make the verifier itself rebalance.
  const consumer = kafka.consumer({ groupId: `verify-${topic}`, readUncommitted: false, sessionTimeout: 60_000, heartbeatInterval: 3000 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const out: Array<{ key: string, value: string }> = []
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${out.length}/${expected} of ${topic} in ${timeoutMs} ms`)), timeoutMs)
      consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) out.push({ key: m.key!.toString(), value: m.value!.toString() })
          if (out.length >= expected) { clearTimeout(timer); resolve() }
        }
      }).catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
  return out
}
