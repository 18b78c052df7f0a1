// The Redis policy (lib/resilience/redis-policy.ts) against the real Redis: commands that fail
// open the breaker after failureThreshold in a row; while open no command is sent (the cache
// falls back at once); after openMs one trial goes; reset() (a reconnection) closes it; the
// reconnection delay grows and is bounded.
import t from 'tap'
import { Redis } from 'ioredis'
import { RedisPolicy, REDIS_POLICY } from '../../../lib/resilience/redis-policy.ts'

const REDIS_URL = process.env.REWARDS_REDIS_URL ?? 'redis://127.0.0.1:6379'

t.test('failing commands open the breaker; open, nothing is sent; a trial after openMs; reset closes', async t => {
  const redis = new Redis(REDIS_URL, { keyPrefix: `redis-policy-test:${process.pid}:`, maxRetriesPerRequest: 0 })
  t.teardown(() => redis.disconnect())
  const policy = new RedisPolicy({ failureThreshold: 3, openMs: 200 })
  t.equal(policy.commandTimeoutMs, REDIS_POLICY.commandTimeoutMs)
  let sent = 0
  const failing = async (): Promise<unknown> => { sent++; return await redis.call('NO-SUCH-COMMAND') }
  for (let i = 0; i < 3; i++) await t.rejects(policy.execute(failing), /unknown command/i, `real Redis error ${i + 1}`)
  t.equal(policy.open, true, 'open after 3 failures in a row')
  await t.rejects(policy.execute(failing), { message: /circuit breaker is open/ }, 'open: refused without sending')
  t.equal(sent, 3, 'nothing sent while open')
  await new Promise(resolve => setTimeout(resolve, 250)) // openMs is what is tested: let it pass
  t.equal(await policy.execute(() => redis.set('k', 'v')), 'OK', 'the trial command goes, and succeeds')
  t.equal(policy.open, false, 'closed again')
  for (let i = 0; i < 3; i++) await t.rejects(policy.execute(failing))
  t.equal(policy.open, true)
  policy.reset()
  t.equal(policy.open, false, 'a reconnection starts a fresh, closed breaker')
  t.equal(await policy.execute(() => redis.get('k')), 'v')
})

t.test('successes in between reset the count', async t => {
  const policy = new RedisPolicy({ failureThreshold: 2, openMs: 60_000 })
  const fail = async (): Promise<never> => { throw new Error('timeout') }
  await t.rejects(policy.execute(fail))
  await policy.execute(async () => 'ok')
  await t.rejects(policy.execute(fail))
  t.equal(policy.open, false, 'not two failures in a row')
})

t.test('reconnection delay grows per attempt and is bounded', async t => {
  const policy = new RedisPolicy()
  t.equal(policy.reconnectDelayMs(1), 200)
  t.equal(policy.reconnectDelayMs(5), 1000)
  t.equal(policy.reconnectDelayMs(100), REDIS_POLICY.reconnectMaxMs)
})
