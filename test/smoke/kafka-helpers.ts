// Shared by the Kafka smoke tests: where the broker is, unique names, a throwaway topic that is
// deleted at the end of the test, and "collect N messages from a stream" without sleeping.
import { randomBytes } from 'node:crypto'
import { Admin } from '@platformatic/kafka'
import type { MessagesStream, Message } from '@platformatic/kafka'

export const brokers: string[] = (process.env.REWARDS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map(b => b.trim()).filter(Boolean)

/** `smoke-<what>-<random>`: tests never share topics or groups, across runs or workers. */
export function uniqueName (what: string): string {
  return `smoke-${what}-${randomBytes(6).toString('hex')}`
}

interface Teardown {
  teardown (fn: () => unknown): void
}

/** An Admin client closed at teardown. */
export function adminFor (t: Teardown): Admin {
  const admin = new Admin({ clientId: uniqueName('admin'), bootstrapBrokers: brokers })
  t.teardown(() => admin.close())
  return admin
}

/** Creates a topic and deletes it at teardown. tap runs teardowns last-registered first, so
 *  clients created after the topic are closed before it is deleted, and the admin after. */
export async function createTopic (t: Teardown, admin: Admin, options: { name?: string, partitions: number, configs?: Array<{ name: string, value: string }> }): Promise<string> {
  const name = options.name ?? uniqueName('topic')
  await admin.createTopics({ topics: [name], partitions: options.partitions, replicas: 1, configs: options.configs ?? [] })
  t.teardown(() => admin.deleteTopics({ topics: [name] }))
  return name
}

/** Resolves with the first `count` messages the stream delivers; rejects on a stream error. */
export function collect<K, V, HK, HV> (stream: MessagesStream<K, V, HK, HV>, count: number): Promise<Array<Message<K, V, HK, HV>>> {
  return collectUntil(stream, received => received.length >= count)
}

/** Resolves with every message delivered up to and including the one for which `done` is true. */
export function collectUntil<K, V, HK, HV> (stream: MessagesStream<K, V, HK, HV>, done: (received: Array<Message<K, V, HK, HV>>) => boolean): Promise<Array<Message<K, V, HK, HV>>> {
  return new Promise((resolve, reject) => {
    const received: Array<Message<K, V, HK, HV>> = []
    const onData = (message: Message<K, V, HK, HV>): void => {
      received.push(message)
      if (done(received)) {
        stream.off('data', onData)
        stream.off('error', onError)
        stream.pause()
        resolve(received)
      }
    }
    const onError = (err: Error): void => {
      stream.off('data', onData)
      reject(err)
    }
    stream.on('data', onData)
    stream.once('error', onError)
  })
}
