// The API's shared key-value cache: Redis when REWARDS_REDIS_URL is set (shared by every API
// instance), otherwise in-process. Used for the hot-balance cache, idempotency keys and rate
// limits.
//
// Redis down never fails a request: every operation is bounded by a short command timeout, and on
// any Redis error the call falls back to the in-process cache (so idempotency and rate limits hold
// per instance meanwhile, and balances are read from the stores). `rewards_api_redis_up` and
// `rewards_api_cache_fallbacks_total` say so in the metrics; the log says so once per outage
// (through lib/dependency-health.ts under `rewards start`: the `dependency.down` / `dependency.up`
// lines and rewards_dependency_up{dependency="redis"}).
import { Redis } from 'ioredis'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { DependencyHealth } from '../../lib/dependency-health.ts'
import type { Logger } from '../../lib/logger.ts'

export interface SharedCache {
  readonly kind: 'redis' | 'memory'
  get (key: string): Promise<string | null>
  set (key: string, value: string, ttlMs: number): Promise<void>
  /** Sets only when absent; true when set. */
  setIfAbsent (key: string, value: string, ttlMs: number): Promise<boolean>
  del (keys: string[]): Promise<void>
  /** Increments a counter that expires `windowMs` after its first increment; returns the count
   *  and the ms left in the window. */
  increment (key: string, windowMs: number): Promise<{ count: number, resetMs: number }>
  close (): Promise<void>
}

/** Bounded in-process cache (oldest entries evicted first beyond `maxEntries`). */
export class MemoryCache implements SharedCache {
  readonly kind = 'memory' as const
  readonly #entries = new Map<string, { value: string, expiresAtMs: number }>()
  readonly #maxEntries: number
  readonly #clock: () => number

  constructor (options: { maxEntries?: number, clock?: () => number } = {}) {
    this.#maxEntries = options.maxEntries ?? 100_000
    this.#clock = options.clock ?? Date.now
  }

  #live (key: string): { value: string, expiresAtMs: number } | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAtMs <= this.#clock()) {
      this.#entries.delete(key)
      return undefined
    }
    return entry
  }

  #put (key: string, value: string, ttlMs: number): void {
    this.#entries.delete(key)
    this.#entries.set(key, { value, expiresAtMs: this.#clock() + ttlMs })
    while (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!)
  }

  async get (key: string): Promise<string | null> { return this.#live(key)?.value ?? null }
  async set (key: string, value: string, ttlMs: number): Promise<void> { this.#put(key, value, ttlMs) }
  async setIfAbsent (key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.#live(key) !== undefined) return false
    this.#put(key, value, ttlMs)
    return true
  }

  async del (keys: string[]): Promise<void> { for (const key of keys) this.#entries.delete(key) }
  async increment (key: string, windowMs: number): Promise<{ count: number, resetMs: number }> {
    const entry = this.#live(key)
    if (entry === undefined) {
      this.#put(key, '1', windowMs)
      return { count: 1, resetMs: windowMs }
    }
    const count = Number(entry.value) + 1
    this.#entries.set(key, { value: String(count), expiresAtMs: entry.expiresAtMs })
    return { count, resetMs: entry.expiresAtMs - this.#clock() }
  }

  async close (): Promise<void> { this.#entries.clear() }
}

export interface RedisCacheOptions {
  readonly url: string
  readonly registry: Registry
  readonly logger?: Logger
  /** Where outages are reported (and logged); absent: logged here. */
  readonly health?: DependencyHealth
  /** Bound on each command; default 100 ms. */
  readonly commandTimeoutMs?: number
  /** Prefix of every key; default 'rewards:'. */
  readonly keyPrefix?: string
}

function metrics (registry: Registry): { up: Gauge, fallbacks: Counter<'operation'> } {
  const up = (registry.getSingleMetric('rewards_api_redis_up') as Gauge | undefined) ?? new Gauge({
    name: 'rewards_api_redis_up', help: '1 while Redis answers, 0 while the API falls back to in-process caching', registers: [registry]
  })
  const fallbacks = (registry.getSingleMetric('rewards_api_cache_fallbacks_total') as Counter<'operation'> | undefined) ?? new Counter({
    name: 'rewards_api_cache_fallbacks_total', help: 'Cache operations served in-process because Redis failed', labelNames: ['operation'], registers: [registry]
  })
  return { up, fallbacks }
}

export class RedisCache implements SharedCache {
  readonly kind = 'redis' as const
  readonly #redis: Redis
  readonly #fallback = new MemoryCache({ maxEntries: 10_000 })
  readonly #metrics: { up: Gauge, fallbacks: Counter<'operation'> }
  readonly #logger: Logger | undefined
  readonly #health: DependencyHealth | undefined
  #healthy = true

  constructor (options: RedisCacheOptions) {
    this.#metrics = metrics(options.registry)
    this.#logger = options.logger
    this.#health = options.health
    this.#redis = new Redis(options.url, {
      keyPrefix: options.keyPrefix ?? 'rewards:',
      commandTimeout: options.commandTimeoutMs ?? 100,
      connectTimeout: 1_000,
      // Fail fast instead of queueing while disconnected: the fallback answers meanwhile.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: times => Math.min(times * 200, 2_000),
      lazyConnect: false
    })
    this.#redis.on('error', () => { this.#markDown('connection error') })
    this.#redis.on('ready', () => { this.#markUp() })
    this.#metrics.up.set(0)
  }

  #markDown (why: string): void {
    this.#metrics.up.set(0)
    this.#health?.markDown('redis', why)
    if (this.#healthy) {
      this.#healthy = false
      if (this.#health === undefined) this.#logger?.warn({ reason: why }, 'Redis unavailable: caching, idempotency keys and rate limits fall back to this instance')
    }
  }

  #markUp (): void {
    this.#metrics.up.set(1)
    this.#health?.markUp('redis')
    if (!this.#healthy) {
      this.#healthy = true
      if (this.#health === undefined) this.#logger?.info('Redis available again')
    }
  }

  async #run<T> (operation: string, redis: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    if (this.#redis.status === 'ready') {
      try {
        const result = await redis()
        this.#markUp()
        return result
      } catch (error) {
        this.#markDown((error as Error).message)
      }
    }
    this.#metrics.fallbacks.inc({ operation })
    return await fallback()
  }

  get (key: string): Promise<string | null> {
    return this.#run('get', () => this.#redis.get(key), () => this.#fallback.get(key))
  }

  set (key: string, value: string, ttlMs: number): Promise<void> {
    return this.#run('set', async () => { await this.#redis.set(key, value, 'PX', ttlMs) }, () => this.#fallback.set(key, value, ttlMs))
  }

  setIfAbsent (key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.#run('setIfAbsent', async () => (await this.#redis.set(key, value, 'PX', ttlMs, 'NX')) === 'OK', () => this.#fallback.setIfAbsent(key, value, ttlMs))
  }

  del (keys: string[]): Promise<void> {
    if (keys.length === 0) return Promise.resolve()
    // Deleting from both: an entry written to the fallback during an outage must not outlive it.
    return this.#run('del', async () => { await this.#redis.del(...keys); await this.#fallback.del(keys) }, () => this.#fallback.del(keys))
  }

  increment (key: string, windowMs: number): Promise<{ count: number, resetMs: number }> {
    return this.#run('increment', async () => {
      const [[, count], [, ttl]] = (await this.#redis.multi().incr(key).pttl(key).exec()) as [[unknown, number], [unknown, number]]
      if (ttl < 0) {
        await this.#redis.pexpire(key, windowMs)
        return { count, resetMs: windowMs }
      }
      return { count, resetMs: ttl }
    }, () => this.#fallback.increment(key, windowMs))
  }

  async close (): Promise<void> {
    this.#redis.disconnect()
    await this.#fallback.close()
  }
}

export function openSharedCache (options: { redisUrl: string | null, registry: Registry, logger?: Logger, health?: DependencyHealth }): SharedCache {
  return options.redisUrl === null
    ? new MemoryCache()
    : new RedisCache({ url: options.redisUrl, registry: options.registry, ...(options.logger !== undefined ? { logger: options.logger } : {}), ...(options.health !== undefined ? { health: options.health } : {}) })
}
