// Redis round trip with ioredis: strings with expiry, hashes, SET NX (idempotency keys), a
// pipeline, and binary values.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'

const url = process.env.REWARDS_REDIS_URL ?? 'redis://127.0.0.1:6379'

t.test('Redis round trip with ioredis', async t => {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()
  t.teardown(() => redis.quit())
  const prefix = `smoke:${randomBytes(6).toString('hex')}`
  t.teardown(async () => { await redis.del(`${prefix}:balance`, `${prefix}:member`, `${prefix}:idem`, `${prefix}:bin`) })

  t.equal(await redis.ping(), 'PONG')
  t.equal(await redis.set(`${prefix}:balance`, JSON.stringify({ available: 1851 }), 'EX', 60), 'OK')
  t.same(JSON.parse((await redis.get(`${prefix}:balance`))!), { available: 1851 }, 'string value back')
  const ttl = await redis.ttl(`${prefix}:balance`)
  t.ok(ttl > 0 && ttl <= 60, `expiry set (${ttl}s)`)

  await redis.hset(`${prefix}:member`, { tier: 'GOLD', earned: '1851' })
  t.same(await redis.hgetall(`${prefix}:member`), { tier: 'GOLD', earned: '1851' }, 'hash back')

  t.equal(await redis.set(`${prefix}:idem`, 'first', 'EX', 60, 'NX'), 'OK', 'SET NX takes a free key')
  t.equal(await redis.set(`${prefix}:idem`, 'second', 'EX', 60, 'NX'), null, 'SET NX refuses a taken key')
  t.equal(await redis.get(`${prefix}:idem`), 'first')

  const bytes = randomBytes(32)
  const results = await redis.pipeline().set(`${prefix}:bin`, bytes).getBuffer(`${prefix}:bin`).exec()
  t.same(results?.map(([err]) => err), [null, null], 'pipeline without errors')
  t.same(results?.[1]?.[1], bytes, 'binary value back unchanged')
})
