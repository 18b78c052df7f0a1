// The log's policy (lib/resilience/kafka-policy.ts, through log/kafka/kafka-retry.ts): a request is retried on retriable errors with
// a growing, bounded backoff, given up at once on fatal ones (authorization, fencing) and when the
// client closes, and after its attempts; the backoffs grow and stay within their bounds.
import t from 'tap'
import { RewardsError } from '../../../lib/errors.ts'
import { KAFKA_POLICY, kafkaPolicy, kafkaRequestPolicy } from '../../../lib/resilience/kafka-policy.ts'
import { withKafkaRetry } from '../../../log/kafka/kafka-retry.ts'
import { isRetriable } from '../../../log/kafka/kafka-errors.ts'

const failing = (errors: unknown[]): { operation: () => Promise<string>, calls: () => number } => {
  let calls = 0
  return {
    operation: async () => {
      const error = errors[calls++]
      if (error !== undefined) throw error
      return 'done'
    },
    calls: () => calls
  }
}

t.test('retriable errors are retried, with onRetry before each retry', async t => {
  const { operation, calls } = failing([new RewardsError('LOG_CONNECTION', 'broker unreachable'), new RewardsError('LOG_CONNECTION', 'broker unreachable')])
  const retried: number[] = []
  t.equal(await withKafkaRetry(operation, { initialDelayMs: 1, maxDelayMs: 5, onRetry: (_error, attempt) => retried.push(attempt) }), 'done')
  t.equal(calls(), 3)
  t.same(retried, [1, 2])
})

t.test('fatal errors are not retried', async t => {
  for (const code of ['LOG_AUTHORIZATION', 'LOG_PRODUCER_FENCED', 'LOG_SECURITY'] as const) {
    const { operation, calls } = failing([new RewardsError(code, 'no')])
    await t.rejects(withKafkaRetry(operation, { initialDelayMs: 1 }), { code })
    t.equal(calls(), 1, `${code}: one call`)
  }
  const { operation, calls } = failing([new Error('a bug')])
  await t.rejects(withKafkaRetry(operation, { initialDelayMs: 1 }), /a bug/)
  t.equal(calls(), 1, 'an unknown error: one call')
})

t.test('gives up after its attempts, or once the client is closed', async t => {
  const errors = Array.from({ length: 10 }, () => new RewardsError('LOG_CONNECTION', 'down'))
  const bounded = failing(errors)
  await t.rejects(withKafkaRetry(bounded.operation, { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 }), { code: 'LOG_CONNECTION' })
  t.equal(bounded.calls(), 3, 'attempts counts every call')
  let closed = false
  const closing = failing(errors)
  await t.rejects(withKafkaRetry(async () => { const r = await closing.operation(); return r }, { initialDelayMs: 1, onRetry: () => { closed = true }, isClosed: () => closed }), { code: 'LOG_CONNECTION' })
  t.equal(closing.calls(), 2, 'no retry after the client closed')
})

t.test('the request backoff grows and is bounded', async t => {
  const policy = kafkaRequestPolicy({ isRetriable, attempts: 12, initialDelayMs: 2, maxDelayMs: 40 })
  const delays: number[] = []
  policy.onRetry(event => delays.push(event.delay))
  const { operation } = failing(Array.from({ length: 11 }, () => new RewardsError('LOG_CONNECTION', 'down')))
  t.equal(await policy.execute(operation), 'done')
  t.equal(delays.length, 11)
  t.ok(delays.every(d => d >= 0 && d <= 40), `bounded: ${delays.map(Math.round).join(', ')} ms`)
  t.ok(Math.max(...delays.slice(6)) > Math.max(...delays.slice(0, 2)), 'grows')
})

t.test('the shared backoffs start at their initial delay and stay within their maximum', async t => {
  for (const [name, factory, settings] of [
    ['join', kafkaPolicy.joinBackoff, KAFKA_POLICY.join],
    ['poll', kafkaPolicy.pollBackoff, KAFKA_POLICY.poll],
    ['commitConnection', kafkaPolicy.commitConnectionBackoff, KAFKA_POLICY.commitConnection],
    ['threadReplacement', kafkaPolicy.threadReplacementBackoff, KAFKA_POLICY.threadReplacement],
    ['topicVisible', kafkaPolicy.topicVisibleBackoff, KAFKA_POLICY.topicVisible]
  ] as const) {
    let backoff = factory.next()
    const first = backoff.duration
    let last = first
    for (let i = 0; i < 30; i++) { backoff = backoff.next(undefined); last = backoff.duration }
    t.ok(first <= settings.initialDelayMs * 2, `${name}: first ${Math.round(first)} ms`)
    t.ok(last <= settings.maxDelayMs && last > settings.initialDelayMs, `${name}: after 30, ${Math.round(last)} ms ≤ ${settings.maxDelayMs}`)
  }
})

t.test('producer replacement retries retriable log errors only', async t => {
  const fenced = failing([new RewardsError('LOG_PRODUCER_FENCED', 'newer producer')])
  await t.rejects(kafkaPolicy.producerReplacement.execute(fenced.operation), { code: 'LOG_PRODUCER_FENCED' })
  t.equal(fenced.calls(), 1)
})
