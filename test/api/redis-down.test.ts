// Redis stopped mid-test (a TCP proxy of our own in front of the shared Redis is cut): balance
// queries stay correct (read from the stores), ingestion, idempotency keys and token rate limits
// keep working on the in-process fallback, and the metrics say Redis is down instead of requests
// failing. When the proxy comes back, Redis is used again.
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import t from 'tap'
import { ensurePlatformTopics } from '../../lib/platform-topics.ts'
import { openEmbeddedLog } from '../../log/embedded/index.ts'
import { REWARDS_TOPICS } from '../../processors/rewards/index.ts'
import { call, earn, eventually, startPlatform, startProcessor } from './api-harness.ts'

const REDIS = { host: '127.0.0.1', port: 6379 }

class CuttableProxy {
  #server: Server | undefined
  readonly #sockets = new Set<Socket>()
  port = 0

  async start (): Promise<void> {
    this.#server = createServer(client => {
      const upstream = connect(REDIS.port, REDIS.host)
      for (const s of [client, upstream]) { this.#sockets.add(s); s.on('close', () => this.#sockets.delete(s)); s.on('error', () => s.destroy()) }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>(resolve => this.#server!.listen(this.port, '127.0.0.1', resolve))
    this.port = (this.#server.address() as { port: number }).port
  }

  async cut (): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>(resolve => this.#server!.close(() => resolve()))
  }
}

function metric (text: string, name: string): number {
  const line = text.split('\n').find(l => l.startsWith(name))
  return line === undefined ? NaN : Number(line.split(' ').pop())
}

async function fallbacks (registry: { metrics (): Promise<string> }): Promise<number> {
  const text = await registry.metrics()
  return text.split('\n').filter(l => l.startsWith('rewards_api_cache_fallbacks_total{')).reduce((n, l) => n + Number(l.split(' ').pop()), 0)
}

t.test('Redis down: answers stay correct, the metrics say so', async t => {
  const proxy = new CuttableProxy()
  await proxy.start()
  const dir = mkdtempSync(join(tmpdir(), 'api-redis-'))
  const log = await openEmbeddedLog({ dir: join(dir, 'log') })
  await ensurePlatformTopics(log, { topicPrefix: '', partitions: 2 })
  const platform = await startPlatform({ log, topics: REWARDS_TOPICS, applicationId: `redis-${Date.now()}`, redisUrl: `redis://127.0.0.1:${proxy.port}`, settings: { balanceCacheTtlMs: 200 } })
  const node = await startProcessor(platform, { stateDir: join(dir, 'state'), publicApi: true })
  const direct = new Redis(REDIS.port, REDIS.host)
  t.teardown(async () => {
    direct.disconnect()
    await node.close()
    await platform.close()
    await log.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const token = await platform.token(['balances:read', 'events:write'])
  const member = `redis-${Date.now()}`
  const balance = (): ReturnType<typeof call> => call(`${node.url}/v1/members/${member}/balance`, token)

  await eventually(async () => metric(await platform.registry.metrics(), 'rewards_api_redis_up'), up => up === 1, 10_000)
  t.equal((await call(`${node.url}/v1/events`, token, { body: earn(member, 'e1', 1000) })).status, 202)
  const first = await eventually(balance, r => r.status === 200 && r.body.available === 100)
  t.equal(first.body.available, 100)
  const cachedHit = await balance()
  t.equal(cachedHit.headers.get('x-cache'), 'hit', 'the second read comes from the cache')
  t.ok(await direct.get(`rewards:balance:${member}`), 'the balance is cached in Redis')

  await proxy.cut()
  const before = await fallbacks(platform.registry)
  // Writes and reads while Redis is unreachable.
  t.equal((await call(`${node.url}/v1/events`, token, { body: earn(member, 'e2', 1000), headers: { 'idempotency-key': 'during-outage' } })).status, 202, 'ingestion works')
  const replay = await call(`${node.url}/v1/events`, token, { body: earn(member, 'e2', 1000), headers: { 'idempotency-key': 'during-outage' } })
  t.equal(replay.headers.get('idempotent-replayed'), 'true', 'idempotency keys held in-process meanwhile')
  const during = await eventually(balance, r => r.status === 200 && r.body.available === 200, 15_000)
  t.equal(during.status, 200, 'queries still answered')
  t.equal(during.body.available, 200, 'and correct')
  for (let i = 0; i < 20; i++) {
    const r = await balance()
    t.equal(r.body.available, 200)
  }
  const text = await platform.registry.metrics()
  t.equal(metric(text, 'rewards_api_redis_up'), 0, 'rewards_api_redis_up 0')
  t.ok(await fallbacks(platform.registry) > before, 'fallbacks counted')

  // Redis back (the proxy listens again on the same port): used again.
  await proxy.start()
  await eventually(async () => metric(await platform.registry.metrics(), 'rewards_api_redis_up'), up => up === 1, 15_000)
  t.equal(metric(await platform.registry.metrics(), 'rewards_api_redis_up'), 1, 'Redis used again')
  await direct.del(`rewards:balance:${member}`)
  t.equal((await balance()).body.available, 200)
  await proxy.cut()
})
