// createTopics returns only once the broker's metadata serves every created topic: the client
// reports a topic its metadata does not know yet as a plain "Unknown topic" error, which used to
// end the wait at once, so a slow broker left the first reader of a new changelog failing with
// LOG_TOPIC_NOT_FOUND (instance-fatal). The client below is a stand-in for platformatic's Admin
// (a broker that lags its controller cannot be made on demand); the real broker path is
// admin.test.ts.
import t from 'tap'
import { isRewardsError } from '../../../lib/errors.ts'
import { KafkaAdmin } from '../../../log/kafka/kafka-admin.ts'
import type { KafkaClient } from '../../../log/kafka/kafka-client.ts'

function fakeClient (servedAfter: number): { client: KafkaClient, calls: () => number } {
  let calls = 0
  const admin = {
    listTopics: async () => [],
    createTopics: async () => {},
    metadata: async ({ topics }: { topics: string[] }) => {
      calls++
      if (calls <= servedAfter) throw new Error(`Unknown topic ${topics[0]}.`)
      return { topics: new Map(topics.map(name => [name, { partitions: [{ leader: 1 }, { leader: 1 }] }])) }
    }
  }
  const client = { assertOpen () {}, createPool: () => ({}), admin } as unknown as KafkaClient
  return { client, calls: () => calls }
}

t.test('waits while the metadata does not know the new topic yet', async t => {
  const { client, calls } = fakeClient(3)
  await new KafkaAdmin(client).createTopics([{ name: 'fresh', partitions: 2 }])
  t.equal(calls(), 4, 'asked until the topic was served')
})

t.test('a topic never served is a retriable LOG_CONNECTION naming it, after the timeout', async t => {
  const { client } = fakeClient(Number.POSITIVE_INFINITY)
  const started = Date.now()
  const error = await new KafkaAdmin(client, { topicVisibleTimeoutMs: 300 }).createTopics([{ name: 'never', partitions: 2 }]).then(() => null, (e: unknown) => e)
  t.ok(isRewardsError(error, 'LOG_CONNECTION'), 'LOG_CONNECTION')
  t.equal((error as { retriable?: boolean }).retriable, true, 'retriable')
  t.match((error as Error).message, /never/)
  t.ok(Date.now() - started < 5000, 'bounded by the timeout')
})
