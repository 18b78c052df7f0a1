// The API's shared key-value cache: Redis when REWARDS_REDIS_URL is set (shared by every API
// instance), otherwise in-process. Used for the hot-balance cache, idempotency keys and rate
// limits.
//
// Redis down never fails a request: every operation is bounded by a short command timeout and a
// circuit breaker (lib/resilience/redis-policy.ts), and on any Redis error the call falls back to
// the in-process cache (so idempotency and rate limits hold
// per instance meanwhile, and balances are read from the stores). `rewards_api_redis_up` and
// `rewards_api_cache_fallbacks_total` say so in the metrics; the log says so once per outage
// (through lib/dependency-health.ts under `rewards start`: the `dependency.down` / `dependency.up`
// lines and rewards_dependency_up{dependency="redis"}).
import { Redis } from 'ioredis'
import { LRUCache } from 'lru-cache'
import { isBrokenCircuitError } from 'cockatiel'
import { RedisPolicy, type RedisPolicySettings } from '../../lib/resilience/redis-policy.ts'
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
  /** Runs `redis` on the Redis client while Redis is up, `fallback` (in process) otherwise or when
   *  it fails: the cache's outage policy, for users with commands of their own (the rate limits'
   *  store, api/routes/rate-limit-store.ts). */
  withRedis<T> (operation: string, redis: (client: Redis) => Promise<T>, fallback: () => Promise<T>): Promise<T>
  close (): Promise<void>
}

/** Bounded in-process cache: lru-cache with a TTL per entry (least recently used evicted first
 *  beyond `maxEntries`; an expired entry is never returned). */
export class MemoryCache implements SharedCache {
  readonly kind = 'memory' as const
  readonly #entries: LRUCache<string, string>

  /** `clock` (milliseconds) is for tests: TTLs judged by wall time flake on a loaded machine. */
  constructor (options: { maxEntries?: number, clock?: { now: () => number } } = {}) {
    this.#entries = new LRUCache<string, string>({
      max: options.maxEntries ?? 100_000,
      ttlAutopurge: false,
      ...(options.clock === undefined ? {} : { perf: options.clock, ttlResolution: 0 })
    })
  }

  async get (key: string): Promise<string | null> { return this.#entries.get(key) ?? null }
  /** get() and set() without a promise, for the balance fast lane (api/routes/balance-fast-lane.ts). */
  getNow (key: string): string | undefined { return this.#entries.get(key) }
  setNow (key: string, value: string, ttlMs: number): void { this.#entries.set(key, value, { ttl: ttlMs }) }
  async set (key: string, value: string, ttlMs: number): Promise<void> { this.#entries.set(key, value, { ttl: ttlMs }) }
  async setIfAbsent (key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.#entries.has(key)) return false
    this.#entries.set(key, value, { ttl: ttlMs })
    return true
  }

  async del (keys: string[]): Promise<void> { for (const key of keys) this.#entries.delete(key) }
  withRedis<T> (_operation: string, _redis: (client: Redis) => Promise<T>, fallback: () => Promise<T>): Promise<T> { return fallback() }

  async close (): Promise<void> { this.#entries.clear() }
}

export interface RedisCacheOptions {
  readonly url: string
  readonly registry: Registry
  readonly logger?: Logger
  /** Where outages are reported (and logged); absent: logged here. */
  readonly health?: DependencyHealth
  /** Bound on each command and the breaker (lib/resilience/redis-policy.ts); defaults there. */
  readonly policy?: RedisPolicySettings
  /** Prefix of every key; default 'rewards:'. */
  readonly keyPrefix?: string
  /** How often a Redis reported down but still connected is PINGed; default RECHECK_MS. */
  readonly recheckMs?: number
}

/** Default of RedisCacheOptions.recheckMs: as often as the Kafka and PostgreSQL probes. */
export const RECHECK_MS = 2_000

function metrics (registry: Registry): { up: Gauge, fallbacks: Counter<'operation'> } {
  const up = (registry.getSingleMetric('rewards_api_redis_up') as Gauge | undefined) ?? new Gauge({
    name: 'rewards_api_redis_up', help: '1 while Redis answers, 0 while the API falls back to in-process caching', registers: [registry]
  })
  const fallbacks = (registry.getSingleMetric('rewards_api_cache_fallbacks_total') as Counter<'operation'> | undefined) ?? new Counter({
    name: 'rewards_api_cache_fallbacks_total', help: 'Cache operations served in-process because Redis failed', labelNames: ['operation'], registers: [registry]
  })
  return { up, fallbacks }
}

/** What the dependency.down line and readiness say (docs/runbooks/dependency-outage.md: "the
 *  error"): the client's message (ECONNREFUSED with the address, NOAUTH, WRONGPASS…; never the
 *  password), the code or first cause when it has none (Node's AggregateError of a host name
 *  with several addresses). */
function connectionErrorReason (error: unknown): string {
  const e = error as { message?: unknown, code?: unknown, errors?: Array<{ message?: unknown }> } | undefined
  const first = e?.errors?.[0]?.message
  for (const text of [e?.message, first, e?.code]) if (typeof text === 'string' && text !== '') return `connection error: ${text}`
  return 'connection error'
}

export class RedisCache implements SharedCache {
  readonly kind = 'redis' as const
  readonly #redis: Redis
  readonly #fallback = new MemoryCache({ maxEntries: 10_000 })
  readonly #metrics: { up: Gauge, fallbacks: Counter<'operation'> }
  readonly #logger: Logger | undefined
  readonly #health: DependencyHealth | undefined
  readonly #policy: RedisPolicy
  readonly #recheck: NodeJS.Timeout
  #healthy = true
  #rechecking = false

  constructor (options: RedisCacheOptions) {
    this.#metrics = metrics(options.registry)
    this.#logger = options.logger
    this.#health = options.health
    const policy = this.#policy = new RedisPolicy(options.policy)
    this.#redis = new Redis(options.url, {
      keyPrefix: options.keyPrefix ?? 'rewards:',
      commandTimeout: policy.commandTimeoutMs,
      connectTimeout: policy.connectTimeoutMs,
      // Fail fast instead of queueing while disconnected: the fallback answers meanwhile.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: times => policy.reconnectDelayMs(times),
      lazyConnect: false
    })
    this.#redis.on('error', error => { this.#markDown(connectionErrorReason(error)) })
    this.#redis.on('ready', () => { policy.reset(); this.#markUp() })
    this.#metrics.up.set(0)
    // A Redis that hung (connected, not answering) and answers again sends no 'ready' event:
    // without a request it would stay reported down (readiness degraded, the outage's duration
    // counted to the next request). So while down and connected, a PING every RECHECK_MS ends
    // the outage (docs/runbooks/dependency-outage.md). Never while up: one slow PING on a loaded
    // machine must not start an outage that no request saw.
    this.#recheck = setInterval(() => { void this.#recheckDown() }, options.recheckMs ?? RECHECK_MS)
    this.#recheck.unref()
  }

  async #recheckDown (): Promise<void> {
    if (this.#healthy || this.#rechecking || this.#redis.status !== 'ready') return
    this.#rechecking = true
    try {
      await this.#redis.ping()
      if (this.#redis.status === 'ready') { this.#policy.reset(); this.#markUp() }
    } catch { /* still not answering: stays down */ } finally {
      this.#rechecking = false
    }
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
        const result = await this.#policy.execute(redis)
        // A reply that arrives after the connection dropped (the outage already marked) must not
        // end the outage: only a client still ready says Redis is back.
        if (this.#redis.status === 'ready') this.#markUp()
        return result
      } catch (error) {
        // An open breaker sent nothing: Redis is already known down.
        if (!isBrokenCircuitError(error)) this.#markDown((error as Error).message)
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

  withRedis<T> (operation: string, redis: (client: Redis) => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    return this.#run(operation, () => redis(this.#redis), fallback)
  }

  async close (): Promise<void> {
    clearInterval(this.#recheck)
    this.#redis.disconnect()
    await this.#fallback.close()
  }
}

export function openSharedCache (options: { redisUrl: string | null, registry: Registry, logger?: Logger, health?: DependencyHealth }): SharedCache {
  return options.redisUrl === null
    ? new MemoryCache()
    : new RedisCache({ url: options.redisUrl, registry: options.registry, ...(options.logger !== undefined ? { logger: options.logger } : {}), ...(options.health !== undefined ? { health: options.health } : {}) })
}
