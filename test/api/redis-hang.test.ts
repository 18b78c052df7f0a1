// Redis that hangs (connected, not answering: a paused container, a black-holed network) and
// comes back while no request uses the cache: the connection never drops, so ioredis sends no
// 'ready' event. The outage must still end in the health (readiness, dependency.up, the up gauge)
// once Redis answers again, not at the next request (docs/runbooks/dependency-outage.md).
// Real Redis behind a TCP proxy of our own (the shared server is never paused).
import { Registry } from 'prom-client'
import t from 'tap'
import { RedisCache } from '../../api/cache/shared-cache.ts'
import { DependencyHealth } from '../../lib/dependency-health.ts'
import { TcpProxy } from '../archive/tcp-proxy.ts'

async function until (what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

t.test('a hung Redis that answers again ends the outage without traffic', async t => {
  const proxy = new TcpProxy('127.0.0.1', 6379)
  const port = await proxy.listen()
  const registry = new Registry()
  const health = new DependencyHealth({ registry })
  health.declare('redis', { required: false, impact: 'test' })
  const cache = new RedisCache({ url: `redis://127.0.0.1:${port}`, registry, health, keyPrefix: `redis-hang-${process.pid}:` })
  t.teardown(async () => { await cache.close(); await proxy.close() })
  const state = (): string | undefined => health.status('redis')?.state
  await until('connected', () => state() === 'up')

  proxy.freeze()
  // A request during the hang: its command times out, the outage starts (as in production).
  t.equal(await cache.get('k'), null, 'the fallback answers during the hang')
  t.equal(state(), 'down', 'the hang is reported')
  const downSince = health.status('redis')!.sinceMs!

  proxy.thaw()
  // No request from here on: only the cache's own check can see that Redis answers again.
  await until('Redis reported back without traffic', () => state() === 'up')
  const up = (await registry.getSingleMetricAsString('rewards_api_redis_up')).split('\n').find(l => l.startsWith('rewards_api_redis_up'))
  t.match(up, / 1$/, 'rewards_api_redis_up is 1 again')
  t.ok(health.status('redis')!.sinceMs! - downSince < 10_000, 'the outage is dated when Redis came back, not at a later request')
  await cache.set('k', 'v', 5_000)
  t.equal(await cache.get('k'), 'v', 'commands go to Redis again (the breaker was reset)')
})

t.test('an unreachable Redis is reported with the client\'s error, not a generic one', async t => {
  // A port nobody listens on: a listener of ours, closed.
  const probe = new TcpProxy('127.0.0.1', 6379)
  const port = await probe.listen()
  await probe.close()
  const registry = new Registry()
  const health = new DependencyHealth({ registry })
  health.declare('redis', { required: false, impact: 'test' })
  const cache = new RedisCache({ url: `redis://127.0.0.1:${port}`, registry, health })
  t.teardown(() => cache.close())
  await until('reported down', () => health.status('redis')?.state === 'down')
  t.match(health.status('redis')!.detail, new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`), 'the reason names the error and the address')
})
